package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/incident"
	"github.com/attest-hq/attest/people"
	"github.com/attest-hq/attest/risk"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/vendors"
)

// registerPages are the pages of the program registers: the roster with
// on- and offboarding, vendors, the risk register with its heat map, and
// incidents. Every register page shares one sub-navigation.
func (s *Server) registerPages() []Route {
	g := s.gated
	return []Route{
		{Method: "GET", Pattern: "/people", Action: ActPeopleRead, Summary: "The roster, filtered, with on/offboarding progress", handle: g(s.peopleList)},
		{Method: "POST", Pattern: "/people", Action: ActPeopleManage, Summary: "Add a person", handle: g(s.personAdd)},
		{Method: "POST", Pattern: "/people/import", Action: ActPeopleManage, Summary: "Import people from pasted CSV", handle: g(s.peopleImport)},
		{Method: "GET", Pattern: "/people/{id}", Action: ActPeopleRead, Summary: "One person: checklists, training, documents", handle: g(s.personDetail)},
		{Method: "POST", Pattern: "/people/{id}", Action: ActPeopleManage, Summary: "Change a person (an end date starts offboarding)", handle: g(s.personUpdate)},
		{Method: "POST", Pattern: "/people/{id}/checklist/{item}", Action: ActPeopleManage, Summary: "Mark a checklist item done", handle: g(s.checklistComplete)},
		{Method: "POST", Pattern: "/people/{id}/training", Action: ActPeopleManage, Summary: "Record a completed course", handle: g(s.trainingAdd)},
		{Method: "POST", Pattern: "/people/{id}/documents", Action: ActPeopleManage, Summary: "Upload a personal document", handle: g(s.documentUpload)},
		{Method: "GET", Pattern: "/people/{id}/documents/{doc}", Action: ActPeopleRead, Summary: "Download a personal document", handle: g(s.documentDownload)},

		{Method: "GET", Pattern: "/vendors", Action: ActRegisterRead, Summary: "Vendors with report freshness", handle: g(s.vendorsList)},
		{Method: "POST", Pattern: "/vendors", Action: ActRegisterManage, Summary: "Add a vendor", handle: g(s.vendorAdd)},
		{Method: "GET", Pattern: "/vendors/{id}", Action: ActRegisterRead, Summary: "One vendor: reports and reviews", handle: g(s.vendorDetail)},
		{Method: "POST", Pattern: "/vendors/{id}", Action: ActRegisterManage, Summary: "Change a vendor", handle: g(s.vendorUpdate)},
		{Method: "POST", Pattern: "/vendors/{id}/reports", Action: ActRegisterManage, Summary: "Upload an assurance report", handle: g(s.vendorReportUpload)},
		{Method: "GET", Pattern: "/vendors/{id}/reports/{report}", Action: ActRegisterRead, Summary: "Download an assurance report", handle: g(s.vendorReportDownload)},
		{Method: "POST", Pattern: "/vendors/{id}/reviews", Action: ActRegisterManage, Summary: "Record a vendor review", handle: g(s.vendorReviewAdd)},

		{Method: "GET", Pattern: "/risks", Action: ActRegisterRead, Summary: "The risk register and its heat maps", handle: g(s.risksList)},
		{Method: "POST", Pattern: "/risks", Action: ActRegisterManage, Summary: "Add a risk", handle: g(s.riskAdd)},
		{Method: "GET", Pattern: "/risks/{id}", Action: ActRegisterRead, Summary: "One risk", handle: g(s.riskDetail)},
		{Method: "POST", Pattern: "/risks/{id}", Action: ActRegisterManage, Summary: "Change a risk", handle: g(s.riskUpdate)},
		{Method: "POST", Pattern: "/risk-assessments", Action: ActRegisterManage, Summary: "Snapshot the register as a risk assessment", handle: g(s.assessmentAdd)},
		{Method: "GET", Pattern: "/risk-assessments/{id}", Action: ActRegisterRead, Summary: "One risk assessment snapshot", handle: g(s.assessmentDetail)},

		{Method: "GET", Pattern: "/incidents", Action: ActRegisterRead, Summary: "Incidents and tabletop exercises", handle: g(s.incidentsList)},
		{Method: "POST", Pattern: "/incidents", Action: ActRegisterManage, Summary: "Record an incident or tabletop exercise", handle: g(s.incidentAdd)},
		{Method: "GET", Pattern: "/incidents/{id}", Action: ActRegisterRead, Summary: "One incident and its timeline", handle: g(s.incidentDetail)},
		{Method: "POST", Pattern: "/incidents/{id}", Action: ActRegisterManage, Summary: "Change an incident's status, severity, cause and lessons", handle: g(s.incidentUpdate)},
		{Method: "POST", Pattern: "/incidents/{id}/timeline", Action: ActRegisterManage, Summary: "Append a timeline entry", handle: g(s.timelineAdd)},
	}
}

// registerSection marks the "Registers" entry of the main navigation.
const registerSection = "registers"

// registerNav is the sub-navigation shared by the register pages.
func registerNav(c *call, current string) template.HTML {
	type tab struct{ href, label, key string }
	tabs := []tab{{"/people", "People", "people"}, {"/vendors", "Vendors", "vendors"}, {"/risks", "Risks", "risks"}, {"/incidents", "Incidents", "incidents"}}
	var b strings.Builder
	b.WriteString(`<nav class="subnav" aria-label="Registers" data-test-id="register-nav">`)
	for _, t := range tabs {
		if t.key == "people" && !Allowed(c.Actor.Role, ActPeopleRead) {
			continue
		}
		cur := ""
		if t.key == current {
			cur = ` aria-current="page"`
		}
		fmt.Fprintf(&b, `<a href="%s"%s data-test-id="register-nav-%s">%s</a>`, t.href, cur, t.key, html.EscapeString(t.label))
	}
	b.WriteString(`</nav>`)
	return template.HTML(b.String())
}

// progress is a checklist's completion as a fraction, 1 for no items.
func progress(p people.Progress) float64 {
	if p.Total == 0 {
		return 1
	}
	return float64(p.Done) / float64(p.Total)
}

// uiFormError turns a fixable error into form messages, or returns it.
func uiFormError(err error) (formErrors, int, error) {
	errs, status, ok := formError(err)
	if !ok {
		return nil, 0, err
	}
	return errs, status, nil
}

// --- people ---

type peopleFilter struct{ Status, Department, Type, Q string }

type personRow struct {
	people.Person
	OnScore, OffScore float64
}

type peoplePage struct {
	Nav          template.HTML
	Filter       peopleFilter
	Statuses     []string
	Types        []string
	Departments  []string
	Rows         []personRow
	More         bool
	Errors       formErrors
	ImportErrors []people.RowError
	CSV          string
	Columns      string
	Today        string
}

func (s *Server) peoplePageFor(r *http.Request, c *call) (peoplePage, error) {
	q := r.URL.Query()
	f := peopleFilter{Status: q.Get("status"), Department: q.Get("department"), Type: q.Get("employment_type"), Q: q.Get("q")}
	list, more, err := people.List(r.Context(), s.db.Q(), c.Actor.OrgID, people.Filter{Status: f.Status, Department: f.Department,
		EmploymentType: f.Type, Query: f.Q, Limit: 500})
	if err != nil {
		return peoplePage{}, err
	}
	deps, err := people.Departments(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return peoplePage{}, err
	}
	p := peoplePage{Nav: registerNav(c, "people"), Filter: f, Statuses: people.Statuses, Types: people.EmploymentTypes, Departments: deps,
		More: more, Columns: strings.Join(people.ImportColumns, ","), Today: time.Now().UTC().Format("2006-01-02")}
	for _, pr := range list {
		p.Rows = append(p.Rows, personRow{Person: pr, OnScore: progress(pr.Onboarding), OffScore: progress(pr.Offboarding)})
	}
	return p, nil
}

func (s *Server) peopleList(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.peoplePageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "people_list.html", "People", registerSection, p)
}

func (s *Server) personAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	in := people.Input{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Department: r.PostFormValue("department"),
		StartDate: r.PostFormValue("start_date"), EmploymentType: r.PostFormValue("employment_type")}
	var id string
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		p, err := people.Create(r.Context(), tx, c.Actor.OrgID, in)
		id = p.ID
		return err
	})
	if err != nil {
		errs, status, err := uiFormError(err)
		if err != nil {
			return err
		}
		p, perr := s.peoplePageFor(r, c)
		if perr != nil {
			return perr
		}
		p.Errors = errs
		return s.show(w, r, c, status, "people_list.html", "People", registerSection, p)
	}
	return redirect(w, r, "/people/"+url.PathEscape(id)+"?done=saved")
}

func (s *Server) peopleImport(w http.ResponseWriter, r *http.Request, c *call) error {
	csv := r.PostFormValue("csv")
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := people.Import(r.Context(), tx, c.Actor.OrgID, strings.NewReader(csv))
		return err
	})
	if err == nil {
		return redirect(w, r, "/people?done=saved")
	}
	p, perr := s.peoplePageFor(r, c)
	if perr != nil {
		return perr
	}
	var ie *people.ImportError
	if !errors.As(err, &ie) {
		errs, status, err := uiFormError(err)
		if err != nil {
			return err
		}
		p.Errors, p.CSV = errs, csv
		return s.show(w, r, c, status, "people_list.html", "People", registerSection, p)
	}
	p.ImportErrors, p.CSV = ie.Errors, csv
	return s.show(w, r, c, http.StatusBadRequest, "people_list.html", "People", registerSection, p)
}

// checklistGroup is one phase's checklist as the page shows it.
type checklistGroup struct {
	Phase string
	Title string
	Items []people.Item
	Done  int
	Total int
	Score float64
}

type personPage struct {
	Nav        template.HTML
	Person     people.Person
	Checklists []checklistGroup
	Training   []people.Training
	Documents  []people.Document
	Others     []people.Person // possible managers
	Types      []string
	DocKinds   []string
	Errors     formErrors
	Today      string
}

func (s *Server) personPageFor(r *http.Request, c *call, id string) (personPage, error) {
	v, err := s.personView(r, c, id)
	if err != nil {
		return personPage{}, err
	}
	others, _, err := people.List(r.Context(), s.db.Q(), c.Actor.OrgID, people.Filter{Limit: 500})
	if err != nil {
		return personPage{}, err
	}
	p := personPage{Nav: registerNav(c, "people"), Person: v.Person, Training: v.Training, Documents: v.Documents,
		Types: people.EmploymentTypes, DocKinds: people.DocumentKinds,
		Today: time.Now().UTC().Format("2006-01-02")}
	for _, o := range others {
		if o.ID != id {
			p.Others = append(p.Others, o)
		}
	}
	for _, g := range []checklistGroup{{Phase: people.PhaseOnboarding, Title: "Onboarding", Done: v.Onboarding.Done, Total: v.Onboarding.Total},
		{Phase: people.PhaseOffboarding, Title: "Offboarding", Done: v.Offboarding.Done, Total: v.Offboarding.Total}} {
		for _, it := range v.Checklist {
			if it.Phase == g.Phase {
				g.Items = append(g.Items, it)
			}
		}
		if len(g.Items) > 0 {
			g.Score = progress(people.Progress{Done: g.Done, Total: g.Total})
			p.Checklists = append(p.Checklists, g)
		}
	}
	return p, nil
}

func (s *Server) personDetail(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.personPageFor(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "people_detail.html", p.Person.Name, registerSection, p)
}

// personFormFailed re-renders a person's page with the error of a form,
// or returns an error that is not the person's to fix.
func (s *Server) personFormFailed(w http.ResponseWriter, r *http.Request, c *call, err error) error {
	errs, status, err := uiFormError(err)
	if err != nil {
		return err
	}
	p, perr := s.personPageFor(r, c, r.PathValue("id"))
	if perr != nil {
		return perr
	}
	p.Errors = errs
	return s.show(w, r, c, status, "people_detail.html", p.Person.Name, registerSection, p)
}

func (s *Server) personUpdate(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	field := func(name string) *string {
		if _, ok := r.PostForm[name]; !ok {
			return nil
		}
		v := r.PostForm.Get(name)
		return &v
	}
	if err := r.ParseForm(); err != nil {
		return attest.Invalid("form", "could not be read")
	}
	pt := people.Patch{Name: field("name"), Department: field("department"), ManagerID: field("manager_id"),
		StartDate: field("start_date"), EndDate: field("end_date"), EmploymentType: field("employment_type")}
	if h := r.PostForm.Get("access_deadline_hours"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil {
			return s.personFormFailed(w, r, c, attest.Invalid("access_deadline_hours", "must be a whole number of hours"))
		}
		pt.AccessDeadlineHours = n
	}
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := people.Update(r.Context(), tx, c.Actor.OrgID, id, pt)
		return err
	})
	if err != nil {
		return s.personFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/people/"+url.PathEscape(id)+"?done=saved")
}

func (s *Server) checklistComplete(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := people.Complete(r.Context(), tx, c.Actor.OrgID, id, r.PathValue("item"), r.PostFormValue("note"))
		return err
	})
	if err != nil {
		return s.personFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/people/"+url.PathEscape(id)+"?done=saved#checklists")
}

func (s *Server) trainingAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := people.AddTraining(r.Context(), tx, c.Actor.OrgID, id, people.Training{Course: r.PostFormValue("course"),
			CompletedOn: r.PostFormValue("completed_on"), ExpiresOn: r.PostFormValue("expires_on")})
		return err
	})
	if err != nil {
		return s.personFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/people/"+url.PathEscape(id)+"?done=saved#training")
}

// documentUpload streams the file; its CSRF token is in the action URL
// (see checkCSRF).
func (s *Server) documentUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	if _, err := s.addDocument(w, r, c); err != nil {
		return s.personFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/people/"+url.PathEscape(id)+"?done=saved#documents")
}

func (s *Server) documentDownload(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.apiDocumentContent(w, r, c)
}

// --- vendors ---

type vendorsFilter struct{ Tier, Report, Subprocessor, Status, Q string }

type vendorsPage struct {
	Nav     template.HTML
	Filter  vendorsFilter
	Tiers   []string
	States  []string
	Rows    []vendors.Vendor
	Members []account.Member
	Errors  formErrors
}

func (s *Server) vendorsPageFor(r *http.Request, c *call) (vendorsPage, error) {
	q := r.URL.Query()
	f := vendorsFilter{Tier: q.Get("tier"), Report: q.Get("report"), Subprocessor: q.Get("subprocessor"), Status: q.Get("status"), Q: q.Get("q")}
	vf, err := vendorFilter(r)
	if err != nil {
		return vendorsPage{}, err
	}
	list, err := vendors.List(r.Context(), s.db.Q(), c.Actor.OrgID, vf)
	if err != nil {
		return vendorsPage{}, err
	}
	ms, err := account.Members(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return vendorsPage{}, err
	}
	return vendorsPage{Nav: registerNav(c, "vendors"), Filter: f, Tiers: vendors.Tiers, States: vendors.States, Rows: list, Members: ms}, nil
}

func (s *Server) vendorsList(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.vendorsPageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "vendor_list.html", "Vendors", registerSection, p)
}

func (s *Server) vendorAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	in := vendors.Input{Name: r.PostFormValue("name"), OwnerID: r.PostFormValue("owner_id"), Tier: r.PostFormValue("tier"),
		DataShared: r.PostFormValue("data_shared"), Services: r.PostFormValue("services"), Website: r.PostFormValue("website"),
		Subprocessor: r.PostFormValue("subprocessor") == "on"}
	var v vendors.Vendor
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		v, err = vendors.Create(r.Context(), tx, c.Actor.OrgID, in)
		return err
	})
	if err != nil {
		errs, status, err := uiFormError(err)
		if err != nil {
			return err
		}
		p, perr := s.vendorsPageFor(r, c)
		if perr != nil {
			return perr
		}
		p.Errors = errs
		return s.show(w, r, c, status, "vendor_list.html", "Vendors", registerSection, p)
	}
	return redirect(w, r, "/vendors/"+url.PathEscape(v.ID)+"?done=saved")
}

type vendorPage struct {
	Nav      template.HTML
	Vendor   vendors.Vendor
	Reports  []vendors.Report
	Reviews  []vendors.Review
	Members  []account.Member
	Tiers    []string
	Kinds    []string
	Outcomes []string
	Errors   formErrors
	Today    string
}

func (s *Server) vendorPageFor(r *http.Request, c *call) (vendorPage, error) {
	v, err := s.vendorView(r, c, r.PathValue("id"))
	if err != nil {
		return vendorPage{}, err
	}
	ms, err := account.Members(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return vendorPage{}, err
	}
	return vendorPage{Nav: registerNav(c, "vendors"), Vendor: v.Vendor, Reports: v.Reports, Reviews: v.Reviews, Members: ms,
		Tiers: vendors.Tiers, Kinds: vendors.ReportKinds, Outcomes: vendors.Outcomes, Today: time.Now().UTC().Format("2006-01-02")}, nil
}

func (s *Server) vendorDetail(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.vendorPageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "vendor_detail.html", p.Vendor.Name, registerSection, p)
}

func (s *Server) vendorFormFailed(w http.ResponseWriter, r *http.Request, c *call, err error) error {
	errs, status, err := uiFormError(err)
	if err != nil {
		return err
	}
	p, perr := s.vendorPageFor(r, c)
	if perr != nil {
		return perr
	}
	p.Errors = errs
	return s.show(w, r, c, status, "vendor_detail.html", p.Vendor.Name, registerSection, p)
}

func (s *Server) vendorUpdate(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	str := func(name string) *string { v := r.PostFormValue(name); return &v }
	sub := r.PostFormValue("subprocessor") == "on"
	pt := vendors.Patch{Name: str("name"), OwnerID: str("owner_id"), Tier: str("tier"), DataShared: str("data_shared"),
		Services: str("services"), Website: str("website"), Subprocessor: &sub, Status: str("status")}
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := vendors.Update(r.Context(), tx, c.Actor.OrgID, id, pt)
		return err
	})
	if err != nil {
		return s.vendorFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/vendors/"+url.PathEscape(id)+"?done=saved")
}

func (s *Server) vendorReportUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.addVendorReport(w, r, c); err != nil {
		return s.vendorFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/vendors/"+url.PathEscape(r.PathValue("id"))+"?done=saved#reports")
}

func (s *Server) vendorReportDownload(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.apiVendorReportContent(w, r, c)
}

func (s *Server) vendorReviewAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := vendors.AddReview(r.Context(), tx, c.Actor.OrgID, id, vendors.Review{ReviewedOn: r.PostFormValue("reviewed_on"),
			Outcome: r.PostFormValue("outcome"), Notes: r.PostFormValue("notes")})
		return err
	})
	if err != nil {
		return s.vendorFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/vendors/"+url.PathEscape(id)+"?done=saved#reviews")
}

// --- risks ---

type risksFilter struct{ Status, Treatment, Q string }

type risksPage struct {
	Nav         template.HTML
	Filter      risksFilter
	Treatments  []string
	Rows        []risk.Risk
	Inherent    template.HTML
	Residual    template.HTML
	Assessments []risk.Assessment
	Members     []account.Member
	Ratings     []int
	Errors      formErrors
}

func (s *Server) risksPageFor(r *http.Request, c *call) (risksPage, error) {
	q := r.URL.Query()
	f := risksFilter{Status: q.Get("status"), Treatment: q.Get("treatment"), Q: q.Get("q")}
	ctx, db, org := r.Context(), s.db.Q(), c.Actor.OrgID
	list, err := risk.List(ctx, db, org, risk.Filter{Status: f.Status, Treatment: f.Treatment, Query: f.Q})
	if err != nil {
		return risksPage{}, err
	}
	open, err := risk.List(ctx, db, org, risk.Filter{Status: risk.StatusOpen})
	if err != nil {
		return risksPage{}, err
	}
	inh, res := risk.HeatMaps(open)
	as, err := risk.Assessments(ctx, db, org)
	if err != nil {
		return risksPage{}, err
	}
	ms, err := account.Members(ctx, db, org)
	if err != nil {
		return risksPage{}, err
	}
	return risksPage{Nav: registerNav(c, "risks"), Filter: f, Treatments: risk.Treatments, Rows: list,
		Inherent: heatMapSVG(inh, "Inherent", "inherent"), Residual: heatMapSVG(res, "Residual", "residual"),
		Assessments: as, Members: ms, Ratings: []int{1, 2, 3, 4, 5}}, nil
}

func (s *Server) risksList(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.risksPageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "risk_list.html", "Risks", registerSection, p)
}

func (s *Server) risksFormFailed(w http.ResponseWriter, r *http.Request, c *call, err error) error {
	errs, status, err := uiFormError(err)
	if err != nil {
		return err
	}
	p, perr := s.risksPageFor(r, c)
	if perr != nil {
		return perr
	}
	p.Errors = errs
	return s.show(w, r, c, status, "risk_list.html", "Risks", registerSection, p)
}

// controlIDsByCode resolves comma- or space-separated control codes, as a
// person types them, to the ids of the org's controls.
func (s *Server) controlIDsByCode(ctx context.Context, org attest.OrgID, codes string) ([]string, error) {
	fields := strings.FieldsFunc(codes, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\r' || r == '\t' })
	if len(fields) == 0 {
		return []string{}, nil
	}
	all, err := control.List(ctx, s.db.Q(), org, control.Filter{})
	if err != nil {
		return nil, err
	}
	byCode := map[string]string{}
	for _, c := range all {
		byCode[strings.ToUpper(c.Code)] = c.ID
	}
	out := []string{}
	for _, f := range fields {
		id, ok := byCode[strings.ToUpper(f)]
		if !ok {
			return nil, attest.Invalid("control_ids", fmt.Sprintf("no control with code %q", f))
		}
		out = append(out, id)
	}
	return out, nil
}

func formInt(r *http.Request, name string) (int, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, attest.Invalid(name, "must be a number from 1 to 5")
	}
	return n, nil
}

func riskForm(r *http.Request) (risk.Input, error) {
	in := risk.Input{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"), Category: r.PostFormValue("category"),
		Treatment: r.PostFormValue("treatment"), OwnerID: r.PostFormValue("owner_id"), ReviewDate: r.PostFormValue("review_date")}
	var err error
	for _, f := range []struct {
		name string
		dst  *int
	}{{"likelihood", &in.Likelihood}, {"impact", &in.Impact}, {"residual_likelihood", &in.ResidualLikelihood}, {"residual_impact", &in.ResidualImpact}} {
		if *f.dst, err = formInt(r, f.name); err != nil {
			return in, err
		}
	}
	return in, nil
}

func (s *Server) riskAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	in, err := riskForm(r)
	if err == nil {
		in.ControlIDs, err = s.controlIDsByCode(r.Context(), c.Actor.OrgID, r.PostFormValue("controls"))
	}
	var rk risk.Risk
	if err == nil {
		err = s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
			rk, err = risk.Create(r.Context(), tx, c.Actor.OrgID, in)
			return err
		})
	}
	if err != nil {
		return s.risksFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/risks/"+url.PathEscape(rk.ID)+"?done=saved")
}

type riskPage struct {
	Nav        template.HTML
	Risk       risk.Risk
	Codes      string
	Members    []account.Member
	Treatments []string
	Ratings    []int
	Errors     formErrors
}

func (s *Server) riskPageFor(r *http.Request, c *call) (riskPage, error) {
	rk, err := risk.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return riskPage{}, err
	}
	ms, err := account.Members(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return riskPage{}, err
	}
	codes := make([]string, len(rk.Controls))
	for i, ct := range rk.Controls {
		codes[i] = ct.Code
	}
	return riskPage{Nav: registerNav(c, "risks"), Risk: rk, Codes: strings.Join(codes, ", "), Members: ms,
		Treatments: risk.Treatments, Ratings: []int{1, 2, 3, 4, 5}}, nil
}

func (s *Server) riskDetail(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.riskPageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "risk_detail.html", p.Risk.Title, registerSection, p)
}

func (s *Server) riskUpdate(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	in, err := riskForm(r)
	var ids []string
	if err == nil {
		ids, err = s.controlIDsByCode(r.Context(), c.Actor.OrgID, r.PostFormValue("controls"))
	}
	if err == nil {
		status := r.PostFormValue("status")
		pt := risk.Patch{Title: &in.Title, Description: &in.Description, Category: &in.Category, Likelihood: &in.Likelihood,
			Impact: &in.Impact, ResidualLikelihood: &in.ResidualLikelihood, ResidualImpact: &in.ResidualImpact,
			Treatment: &in.Treatment, OwnerID: &in.OwnerID, ReviewDate: &in.ReviewDate, Status: &status, ControlIDs: &ids}
		err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
			_, err := risk.Update(r.Context(), tx, c.Actor.OrgID, id, pt)
			return err
		})
	}
	if err != nil {
		errs, st, err := uiFormError(err)
		if err != nil {
			return err
		}
		p, perr := s.riskPageFor(r, c)
		if perr != nil {
			return perr
		}
		p.Errors = errs
		return s.show(w, r, c, st, "risk_detail.html", p.Risk.Title, registerSection, p)
	}
	return redirect(w, r, "/risks/"+url.PathEscape(id)+"?done=saved")
}

func (s *Server) assessmentAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	var a risk.Assessment
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		a, err = risk.Assess(r.Context(), tx, c.Actor.OrgID, r.PostFormValue("title"), r.PostFormValue("summary"))
		return err
	})
	if err != nil {
		return s.risksFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/risk-assessments/"+url.PathEscape(a.ID)+"?done=saved")
}

type assessmentPage struct {
	Nav        template.HTML
	Assessment risk.Assessment
	Risks      []risk.Risk
}

func (s *Server) assessmentDetail(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := risk.GetAssessment(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	var snap struct {
		Risks []risk.Risk `json:"risks"`
	}
	if err := json.Unmarshal(a.Snapshot, &snap); err != nil {
		return fmt.Errorf("read snapshot of %s: %w", a.ID, err)
	}
	return s.show(w, r, c, http.StatusOK, "risk_assessment.html", a.Title, registerSection,
		assessmentPage{Nav: registerNav(c, "risks"), Assessment: a, Risks: snap.Risks})
}

// heatMapSVG draws the 5x5 grid, likelihood up and impact across, with
// the number of risks in each cell, coloured by the cell's score.
func heatMapSVG(h risk.HeatMap, label, key string) template.HTML {
	const cell, left, top, gap = 46.0, 34.0, 8.0, 3.0
	size := left + 5*cell + 10
	height := top + 5*cell + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart heatmap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s heat map of %d open risks" data-test-id="heatmap-%s">`,
		size, height, size, height, html.EscapeString(label), h.Total, html.EscapeString(key))
	for l := 5; l >= 1; l-- {
		y := top + float64(5-l)*cell
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" text-anchor="end" fill="%s">%d</text>`, left-8, y+cell/2+4, colourMuted, l)
		for i := 1; i <= 5; i++ {
			x := left + float64(i-1)*cell
			n := h.Cells[l-1][i-1]
			fill := heatColour(l * i)
			opacity := "0.35"
			if n > 0 {
				opacity = "1"
			}
			fmt.Fprintf(&b, `<g data-test-id="cell-%s-%d-%d" data-count="%d"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="4" fill="%s" fill-opacity="%s"><title>likelihood %d, impact %d: %d risks</title></rect>`,
				html.EscapeString(key), l, i, n, x+gap/2, y+gap/2, cell-gap, cell-gap, fill, opacity, l, i, n)
			if n > 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="16" font-weight="700" text-anchor="middle" fill="#fff">%d</text>`, x+cell/2, y+cell/2+6, n)
			}
			b.WriteString(`</g>`)
		}
	}
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle" fill="%s">%d</text>`, left+float64(i-1)*cell+cell/2, top+5*cell+15, colourMuted, i)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" text-anchor="middle" fill="%s">impact →</text>`, left+2.5*cell, top+5*cell+32, colourText)
	fmt.Fprintf(&b, `<text x="10" y="%.1f" font-size="12" text-anchor="middle" fill="%s" transform="rotate(-90 10 %.1f)">likelihood →</text>`, top+2.5*cell, colourText, top+2.5*cell)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// heatColour bands a likelihood x impact score: low, medium, high, severe.
func heatColour(score int) string {
	switch {
	case score >= 15:
		return "#922b21"
	case score >= 10:
		return colourLow
	case score >= 5:
		return colourMid
	default:
		return colourHigh
	}
}

// --- incidents ---

type incidentsFilter struct{ Kind, Status, Severity, Q string }

type incidentsPage struct {
	Nav        template.HTML
	Filter     incidentsFilter
	Statuses   []string
	Severities []string
	Rows       []incident.Incident
	Errors     formErrors
}

func (s *Server) incidentsPageFor(r *http.Request, c *call) (incidentsPage, error) {
	q := r.URL.Query()
	f := incidentsFilter{Kind: q.Get("kind"), Status: q.Get("status"), Severity: q.Get("severity"), Q: q.Get("q")}
	list, err := incident.List(r.Context(), s.db.Q(), c.Actor.OrgID, incident.Filter{Kind: f.Kind, Status: f.Status, Severity: f.Severity, Query: f.Q})
	if err != nil {
		return incidentsPage{}, err
	}
	return incidentsPage{Nav: registerNav(c, "incidents"), Filter: f, Statuses: incident.Statuses, Severities: incident.Severities, Rows: list}, nil
}

func (s *Server) incidentsList(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.incidentsPageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "incident_list.html", "Incidents", registerSection, p)
}

func (s *Server) incidentAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	at, err := incident.ParseTime("detected_at", r.PostFormValue("detected_at"))
	var in incident.Incident
	if err == nil {
		err = s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
			in, err = incident.Create(r.Context(), tx, c.Actor.OrgID, incident.Input{Kind: r.PostFormValue("kind"), Title: r.PostFormValue("title"),
				Description: r.PostFormValue("description"), Severity: r.PostFormValue("severity"), DetectedAt: at})
			return err
		})
	}
	if err != nil {
		errs, status, err := uiFormError(err)
		if err != nil {
			return err
		}
		p, perr := s.incidentsPageFor(r, c)
		if perr != nil {
			return perr
		}
		p.Errors = errs
		return s.show(w, r, c, status, "incident_list.html", "Incidents", registerSection, p)
	}
	return redirect(w, r, "/incidents/"+url.PathEscape(in.ID)+"?done=saved")
}

type incidentPage struct {
	Nav        template.HTML
	Incident   incident.Incident
	Codes      string
	Statuses   []string
	Severities []string
	Errors     formErrors
}

func (s *Server) incidentPageFor(r *http.Request, c *call) (incidentPage, error) {
	in, err := incident.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return incidentPage{}, err
	}
	codes := make([]string, len(in.Controls))
	for i, ct := range in.Controls {
		codes[i] = ct.Code
	}
	return incidentPage{Nav: registerNav(c, "incidents"), Incident: in, Codes: strings.Join(codes, ", "),
		Statuses: incident.Statuses, Severities: incident.Severities}, nil
}

func (s *Server) incidentDetail(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.incidentPageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "incident_detail.html", p.Incident.Title, registerSection, p)
}

func (s *Server) incidentFormFailed(w http.ResponseWriter, r *http.Request, c *call, err error) error {
	errs, status, err := uiFormError(err)
	if err != nil {
		return err
	}
	p, perr := s.incidentPageFor(r, c)
	if perr != nil {
		return perr
	}
	p.Errors = errs
	return s.show(w, r, c, status, "incident_detail.html", p.Incident.Title, registerSection, p)
}

func (s *Server) incidentUpdate(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	ids, err := s.controlIDsByCode(r.Context(), c.Actor.OrgID, r.PostFormValue("controls"))
	if err == nil {
		str := func(name string) *string { v := r.PostFormValue(name); return &v }
		pt := incident.Patch{Severity: str("severity"), Status: str("status"), RootCause: str("root_cause"),
			LessonsLearned: str("lessons_learned"), ControlIDs: &ids}
		err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
			_, err := incident.Update(r.Context(), tx, c.Actor.OrgID, id, pt)
			return err
		})
	}
	if err != nil {
		return s.incidentFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/incidents/"+url.PathEscape(id)+"?done=saved")
}

func (s *Server) timelineAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	at, err := incident.ParseTime("at", r.PostFormValue("at"))
	if err == nil {
		err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
			_, err := incident.AddEvent(r.Context(), tx, c.Actor.OrgID, id, at, r.PostFormValue("what"))
			return err
		})
	}
	if err != nil {
		return s.incidentFormFailed(w, r, c, err)
	}
	return redirect(w, r, "/incidents/"+url.PathEscape(id)+"?done=saved#timeline")
}
