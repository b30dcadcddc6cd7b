package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/incident"
	"github.com/attest-hq/attest/people"
	"github.com/attest-hq/attest/risk"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/vendors"
)

// registerRoutes serves people, vendors, risks and incidents (JSON API and pages).
func (s *Server) registerRoutes() []Route {
	api := []Route{
		{Method: "GET", Pattern: "/api/v1/people", Action: ActPeopleRead, API: true, Summary: "The roster (filters: status, department, employment_type, manager_id, q; limit, cursor)", Response: List[people.Person]{}, handle: s.apiPeople},
		{Method: "POST", Pattern: "/api/v1/people", Action: ActPeopleManage, API: true, Summary: "Add a person; generates their onboarding (and, with an end date, offboarding) checklist", Request: personInput{}, Response: personView{}, handle: s.apiAddPerson},
		{Method: "POST", Pattern: "/api/v1/people/import", Action: ActPeopleManage, API: true, Summary: "Import people from a CSV body (Content-Type text/csv; columns email,name and optionally department,manager_email,start_date,end_date,employment_type). All or nothing: any error imports no row and the 400 answer lists every problem as errors[] of {row, column, reason}", Response: people.ImportResult{}, handle: s.apiImportPeople},
		{Method: "GET", Pattern: "/api/v1/people/{id}", Action: ActPeopleRead, API: true, Summary: "One person with checklist, training and documents", Response: personView{}, handle: s.apiPerson},
		{Method: "PATCH", Pattern: "/api/v1/people/{id}", Action: ActPeopleManage, API: true, Summary: "Change a person; setting end_date starts offboarding (access_deadline_hours, default 24)", Request: personPatch{}, Response: personView{}, handle: s.apiPatchPerson},
		{Method: "GET", Pattern: "/api/v1/people/{id}/checklist", Action: ActPeopleRead, API: true, Summary: "A person's onboarding and offboarding checklist", Response: List[people.Item]{}, handle: s.apiChecklist},
		{Method: "POST", Pattern: "/api/v1/people/{id}/checklist/{item}/complete", Action: ActPeopleManage, API: true, Summary: "Mark a checklist item done (by the caller, now)", Request: completeInput{}, Response: people.Item{}, handle: s.apiCompleteItem},
		{Method: "GET", Pattern: "/api/v1/people/{id}/training", Action: ActPeopleRead, API: true, Summary: "A person's training records", Response: List[people.Training]{}, handle: s.apiTraining},
		{Method: "POST", Pattern: "/api/v1/people/{id}/training", Action: ActPeopleManage, API: true, Summary: "Record a completed course", Request: trainingInput{}, Response: people.Training{}, handle: s.apiAddTraining},
		{Method: "GET", Pattern: "/api/v1/people/{id}/documents", Action: ActPeopleRead, API: true, Summary: "A person's documents (NDA, background check)", Response: List[people.Document]{}, handle: s.apiDocuments},
		{Method: "POST", Pattern: "/api/v1/people/{id}/documents", Action: ActPeopleManage, API: true, Summary: "Upload a document: multipart fields kind (nda, background_check, other) and title, then file", Response: people.Document{}, handle: s.apiAddDocument},
		{Method: "GET", Pattern: "/api/v1/people/{id}/documents/{doc}/content", Action: ActPeopleRead, API: true, Summary: "The original bytes of a document", handle: s.apiDocumentContent},

		{Method: "GET", Pattern: "/api/v1/vendors", Action: ActRegisterRead, API: true, Summary: "Vendors (filters: subprocessor=true|false, tier, status, report=none|current|bridge_letter_needed|stale, q)", Response: List[vendors.Vendor]{}, handle: s.apiVendors},
		{Method: "POST", Pattern: "/api/v1/vendors", Action: ActRegisterManage, API: true, Summary: "Add a vendor", Request: vendorInput{}, Response: vendors.Vendor{}, handle: s.apiAddVendor},
		{Method: "GET", Pattern: "/api/v1/vendors/{id}", Action: ActRegisterRead, API: true, Summary: "One vendor with its reports and reviews", Response: vendorView{}, handle: s.apiVendor},
		{Method: "PATCH", Pattern: "/api/v1/vendors/{id}", Action: ActRegisterManage, API: true, Summary: "Change a vendor", Request: vendorPatch{}, Response: vendors.Vendor{}, handle: s.apiPatchVendor},
		{Method: "GET", Pattern: "/api/v1/vendors/{id}/reports", Action: ActRegisterRead, API: true, Summary: "A vendor's assurance reports, newest period first", Response: List[vendors.Report]{}, handle: s.apiVendorReports},
		{Method: "POST", Pattern: "/api/v1/vendors/{id}/reports", Action: ActRegisterManage, API: true, Summary: "Upload a report: multipart fields kind (soc2_type2, soc2_type1, iso27001, bridge_letter, other) and period_end (YYYY-MM-DD), then file", Response: vendors.Report{}, handle: s.apiAddVendorReport},
		{Method: "GET", Pattern: "/api/v1/vendors/{id}/reports/{report}/content", Action: ActRegisterRead, API: true, Summary: "The original bytes of a report", handle: s.apiVendorReportContent},
		{Method: "GET", Pattern: "/api/v1/vendors/{id}/reviews", Action: ActRegisterRead, API: true, Summary: "A vendor's reviews, newest first", Response: List[vendors.Review]{}, handle: s.apiVendorReviews},
		{Method: "POST", Pattern: "/api/v1/vendors/{id}/reviews", Action: ActRegisterManage, API: true, Summary: "Record a vendor review", Request: reviewInput{}, Response: vendors.Review{}, handle: s.apiAddVendorReview},

		{Method: "GET", Pattern: "/api/v1/risks", Action: ActRegisterRead, API: true, Summary: "The risk register, highest residual score first (filters: status, treatment, owner_id, category, control_id, q)", Response: List[risk.Risk]{}, handle: s.apiRisks},
		{Method: "POST", Pattern: "/api/v1/risks", Action: ActRegisterManage, API: true, Summary: "Add a risk (likelihood and impact 1-5)", Request: riskInput{}, Response: risk.Risk{}, handle: s.apiAddRisk},
		{Method: "GET", Pattern: "/api/v1/risks/heatmap", Action: ActRegisterRead, API: true, Summary: "Counts of open risks per likelihood x impact cell, inherent and residual", Response: heatMapView{}, handle: s.apiHeatMap},
		{Method: "GET", Pattern: "/api/v1/risks/{id}", Action: ActRegisterRead, API: true, Summary: "One risk", Response: risk.Risk{}, handle: s.apiRisk},
		{Method: "PATCH", Pattern: "/api/v1/risks/{id}", Action: ActRegisterManage, API: true, Summary: "Change a risk", Request: riskPatch{}, Response: risk.Risk{}, handle: s.apiPatchRisk},
		{Method: "GET", Pattern: "/api/v1/risk-assessments", Action: ActRegisterRead, API: true, Summary: "Risk assessments, newest first", Response: List[risk.Assessment]{}, handle: s.apiAssessments},
		{Method: "POST", Pattern: "/api/v1/risk-assessments", Action: ActRegisterManage, API: true, Summary: "Snapshot the register as this year's risk assessment, recorded as evidence on RA-01 and RA-02", Request: assessmentInput{}, Response: risk.Assessment{}, handle: s.apiAssess},
		{Method: "GET", Pattern: "/api/v1/risk-assessments/{id}", Action: ActRegisterRead, API: true, Summary: "One assessment with its snapshot and whether it still matches its hash", Response: risk.Assessment{}, handle: s.apiAssessment},

		{Method: "GET", Pattern: "/api/v1/incidents", Action: ActRegisterRead, API: true, Summary: "Incidents and tabletop exercises, newest first (filters: kind, status, severity, open=true, q)", Response: List[incident.Incident]{}, handle: s.apiIncidents},
		{Method: "POST", Pattern: "/api/v1/incidents", Action: ActRegisterManage, API: true, Summary: "Record an incident or a tabletop exercise (kind)", Request: incidentInput{}, Response: incident.Incident{}, handle: s.apiAddIncident},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}", Action: ActRegisterRead, API: true, Summary: "One incident with its timeline", Response: incident.Incident{}, handle: s.apiIncident},
		{Method: "PATCH", Pattern: "/api/v1/incidents/{id}", Action: ActRegisterManage, API: true, Summary: "Change an incident; closing needs lessons_learned (and root_cause) and records it as evidence", Request: incidentPatch{}, Response: incident.Incident{}, handle: s.apiPatchIncident},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/timeline", Action: ActRegisterRead, API: true, Summary: "An incident's timeline, in the order things happened", Response: List[incident.Event]{}, handle: s.apiTimeline},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/timeline", Action: ActRegisterManage, API: true, Summary: "Append a timeline entry (entries are never changed)", Request: eventInput{}, Response: incident.Event{}, handle: s.apiAddEvent},
	}
	return append(api, s.registerPages()...)
}

// --- people ---

type personInput struct {
	Email          string `json:"email"`
	Name           string `json:"name"`
	Department     string `json:"department"`
	ManagerID      string `json:"manager_id"`
	StartDate      string `json:"start_date"` // YYYY-MM-DD
	EndDate        string `json:"end_date"`
	EmploymentType string `json:"employment_type"` // employee, contractor, intern, temporary
}

type personPatch struct {
	Email               *string `json:"email"`
	Name                *string `json:"name"`
	Department          *string `json:"department"`
	ManagerID           *string `json:"manager_id"`
	StartDate           *string `json:"start_date"`
	EndDate             *string `json:"end_date"`
	EmploymentType      *string `json:"employment_type"`
	AccessDeadlineHours int     `json:"access_deadline_hours"`
}

type personView struct {
	people.Person
	Checklist []people.Item     `json:"checklist"`
	Training  []people.Training `json:"training"`
	Documents []people.Document `json:"documents"`
}

type completeInput struct {
	Note string `json:"note"`
}

type trainingInput struct {
	Course      string `json:"course"`
	CompletedOn string `json:"completed_on"`
	ExpiresOn   string `json:"expires_on"`
}

func (s *Server) personView(r *http.Request, c *call, id string) (personView, error) {
	ctx, q, org := r.Context(), s.db.Q(), c.Actor.OrgID
	p, err := people.Get(ctx, q, org, id)
	if err != nil {
		return personView{}, err
	}
	v := personView{Person: p}
	if v.Checklist, err = people.Checklist(ctx, q, org, id); err != nil {
		return v, err
	}
	if v.Training, err = people.TrainingOf(ctx, q, org, id); err != nil {
		return v, err
	}
	if v.Documents, err = people.Documents(ctx, q, org, id); err != nil {
		return v, err
	}
	v.Checklist, v.Training, v.Documents = nonNil(v.Checklist), nonNil(v.Training), nonNil(v.Documents)
	return v, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// pageParams reads limit and an offset cursor.
func pageParams(r *http.Request) (limit, offset int, err error) {
	q := r.URL.Query()
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 500 {
			return 0, 0, attest.Invalid("limit", "must be between 1 and 500")
		}
	}
	if cur := q.Get("cursor"); cur != "" {
		if offset, err = strconv.Atoi(cur); err != nil || offset < 0 {
			return 0, 0, attest.Invalid("cursor", "must be a next_cursor value from a previous page")
		}
	}
	return limit, offset, nil
}

func (s *Server) apiPeople(w http.ResponseWriter, r *http.Request, c *call) error {
	limit, offset, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if limit == 0 {
		limit = 100
	}
	list, more, err := people.List(r.Context(), s.db.Q(), c.Actor.OrgID, people.Filter{Status: q.Get("status"), Department: q.Get("department"),
		EmploymentType: q.Get("employment_type"), ManagerID: q.Get("manager_id"), Query: q.Get("q"), Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	next := ""
	if more {
		next = strconv.Itoa(offset + len(list))
	}
	return writeJSON(w, http.StatusOK, listOf(list, next))
}

func (s *Server) apiAddPerson(w http.ResponseWriter, r *http.Request, c *call) error {
	var in personInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var id string
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		p, err := people.Create(r.Context(), tx, c.Actor.OrgID, people.Input(in))
		id = p.ID
		return err
	})
	if err != nil {
		return err
	}
	v, err := s.personView(r, c, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

// maxImportBody caps a roster CSV; MaxImportRows people fit well inside.
const maxImportBody = 5 << 20

func (s *Server) apiImportPeople(w http.ResponseWriter, r *http.Request, c *call) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "text/csv" {
		return attest.Invalid("Content-Type", "send the roster as text/csv")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImportBody))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errTooLarge("body")
		}
		return attest.Invalid("body", "could not be read")
	}
	var res people.ImportResult
	err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
		res, err = people.Import(r.Context(), tx, c.Actor.OrgID, strings.NewReader(string(body)))
		return err
	})
	var ie *people.ImportError
	if errors.As(err, &ie) {
		return writeImportProblem(w, ie)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, res)
}

// importProblem is a problem document with every row error, so a client
// can show the whole report at once.
type importProblem struct {
	Problem
	Errors []people.RowError `json:"errors"`
}

func writeImportProblem(w http.ResponseWriter, ie *people.ImportError) error {
	p := problemFor(ie)
	b, err := json.Marshal(importProblem{Problem: p, Errors: ie.Errors})
	if err != nil {
		return fmt.Errorf("encode import report: %w", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, err = w.Write(append(b, '\n'))
	return err
}

func (s *Server) apiPerson(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.personView(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiPatchPerson(w http.ResponseWriter, r *http.Request, c *call) error {
	var in personPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := people.Update(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"), people.Patch(in))
		return err
	})
	if err != nil {
		return err
	}
	v, err := s.personView(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiChecklist(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.personView(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(v.Checklist, ""))
}

func (s *Server) apiCompleteItem(w http.ResponseWriter, r *http.Request, c *call) error {
	var in completeInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out people.Item
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = people.Complete(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"), r.PathValue("item"), in.Note)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiTraining(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.personView(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(v.Training, ""))
}

func (s *Server) apiAddTraining(w http.ResponseWriter, r *http.Request, c *call) error {
	var in trainingInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out people.Training
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = people.AddTraining(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"),
			people.Training{Course: in.Course, CompletedOn: in.CompletedOn, ExpiresOn: in.ExpiresOn})
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiDocuments(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.personView(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(v.Documents, ""))
}

func (s *Server) apiAddDocument(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.addDocument(w, r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) addDocument(w http.ResponseWriter, r *http.Request, c *call) (people.Document, error) {
	var out people.Document
	err := s.streamUpload(w, r, []string{"kind", "title"}, func(f map[string]string, name, ctype string, body io.Reader) (err error) {
		out, err = people.AddDocument(r.Context(), s.db, s.blobs, c.Actor, r.PathValue("id"),
			people.DocumentMeta{Kind: f["kind"], Title: f["title"], Filename: name, ContentType: ctype}, body, s.maxUp)
		return err
	})
	return out, err
}

func (s *Server) apiDocumentContent(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := people.GetDocument(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"), r.PathValue("doc"))
	if err != nil {
		return err
	}
	rc, err := people.OpenDocument(r.Context(), s.blobs, d)
	if err != nil {
		return err
	}
	return s.download(w, rc, d.Filename, d.ID, d.Size, d.SHA256)
}

// streamUpload reads the named form fields that precede the file part of
// a multipart body, then hands the file to fn as a stream. Fields after
// the file are ignored, so clients send them first (curl -F does, in the
// order given).
func (s *Server) streamUpload(w http.ResponseWriter, r *http.Request, fields []string, fn func(fields map[string]string, filename, ctype string, body io.Reader) error) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return attest.Invalid("Content-Type", "send multipart/form-data with the fields first and the file last")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxUp+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return attest.Invalid("body", "is not a valid multipart form")
	}
	got := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return attest.Invalid("file", "is required")
		}
		if err != nil {
			return attest.Invalid("body", "is not a valid multipart form")
		}
		name := part.FormName()
		if name == "file" {
			err := fn(got, cleanFilename(part.FileName()), part.Header.Get("Content-Type"), part)
			part.Close()
			return err
		}
		value, err := io.ReadAll(io.LimitReader(part, 64<<10+1))
		part.Close()
		switch {
		case err != nil:
			return attest.Invalid(name, "could not be read")
		case len(value) > 64<<10:
			return attest.Invalid(name, "is too long")
		case name == "csrf":
		case !contains(fields, name):
			return attest.Invalid(name, "is not a known field")
		default:
			got[name] = string(value)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// download streams stored bytes as an attachment; they are never rendered
// inline, so an uploaded HTML file cannot run as our page.
func (s *Server) download(w http.ResponseWriter, rc io.ReadCloser, filename, id string, size int64, sha string) error {
	defer rc.Close()
	if filename == "" {
		filename = id
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("X-Content-SHA256", sha)
	if _, err := io.Copy(w, rc); err != nil {
		s.log.Error("stream stored file", "id", id, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// --- vendors ---

type vendorInput struct {
	Name         string `json:"name"`
	OwnerID      string `json:"owner_id"`
	Tier         string `json:"tier"` // high, medium, low (or 1, 2, 3)
	DataShared   string `json:"data_shared"`
	Services     string `json:"services"`
	Website      string `json:"website"`
	Subprocessor bool   `json:"subprocessor"`
}

type vendorPatch struct {
	Name         *string `json:"name"`
	OwnerID      *string `json:"owner_id"`
	Tier         *string `json:"tier"`
	DataShared   *string `json:"data_shared"`
	Services     *string `json:"services"`
	Website      *string `json:"website"`
	Subprocessor *bool   `json:"subprocessor"`
	Status       *string `json:"status"` // active, offboarded
}

type vendorView struct {
	vendors.Vendor
	Reports []vendors.Report `json:"reports"`
	Reviews []vendors.Review `json:"reviews"`
}

type reviewInput struct {
	ReviewedOn string `json:"reviewed_on"` // default today
	Outcome    string `json:"outcome"`     // approved, approved_with_conditions, rejected
	Notes      string `json:"notes"`
}

func (s *Server) vendorView(r *http.Request, c *call, id string) (vendorView, error) {
	ctx, q, org := r.Context(), s.db.Q(), c.Actor.OrgID
	v, err := vendors.Get(ctx, q, org, id)
	if err != nil {
		return vendorView{}, err
	}
	out := vendorView{Vendor: v}
	if out.Reports, err = vendors.Reports(ctx, q, org, id); err != nil {
		return out, err
	}
	if out.Reviews, err = vendors.Reviews(ctx, q, org, id); err != nil {
		return out, err
	}
	out.Reports, out.Reviews = nonNil(out.Reports), nonNil(out.Reviews)
	return out, nil
}

func vendorFilter(r *http.Request) (vendors.Filter, error) {
	q := r.URL.Query()
	f := vendors.Filter{Tier: q.Get("tier"), Status: q.Get("status"), Report: q.Get("report"), Query: q.Get("q")}
	if sp := q.Get("subprocessor"); sp != "" {
		b, err := strconv.ParseBool(sp)
		if err != nil {
			return f, attest.Invalid("subprocessor", "must be true or false")
		}
		f.Subprocessor = &b
	}
	return f, nil
}

func (s *Server) apiVendors(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := vendorFilter(r)
	if err != nil {
		return err
	}
	list, err := vendors.List(r.Context(), s.db.Q(), c.Actor.OrgID, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(list, ""))
}

func (s *Server) apiAddVendor(w http.ResponseWriter, r *http.Request, c *call) error {
	var in vendorInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out vendors.Vendor
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = vendors.Create(r.Context(), tx, c.Actor.OrgID, vendors.Input(in))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiVendor(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.vendorView(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiPatchVendor(w http.ResponseWriter, r *http.Request, c *call) error {
	var in vendorPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out vendors.Vendor
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = vendors.Update(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"), vendors.Patch(in))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiVendorReports(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.vendorView(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(v.Reports, ""))
}

func (s *Server) apiAddVendorReport(w http.ResponseWriter, r *http.Request, c *call) error {
	rep, err := s.addVendorReport(w, r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, rep)
}

func (s *Server) addVendorReport(w http.ResponseWriter, r *http.Request, c *call) (vendors.Report, error) {
	var out vendors.Report
	err := s.streamUpload(w, r, []string{"kind", "period_end"}, func(f map[string]string, name, ctype string, body io.Reader) (err error) {
		out, err = vendors.AddReport(r.Context(), s.db, s.blobs, c.Actor, r.PathValue("id"),
			vendors.ReportMeta{Kind: f["kind"], PeriodEnd: f["period_end"], Filename: name, ContentType: ctype}, body, s.maxUp)
		return err
	})
	return out, err
}

func (s *Server) apiVendorReportContent(w http.ResponseWriter, r *http.Request, c *call) error {
	rep, err := vendors.GetReport(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"), r.PathValue("report"))
	if err != nil {
		return err
	}
	rc, err := vendors.OpenReport(r.Context(), s.blobs, rep)
	if err != nil {
		return err
	}
	return s.download(w, rc, rep.Filename, rep.ID, rep.Size, rep.SHA256)
}

func (s *Server) apiVendorReviews(w http.ResponseWriter, r *http.Request, c *call) error {
	v, err := s.vendorView(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(v.Reviews, ""))
}

func (s *Server) apiAddVendorReview(w http.ResponseWriter, r *http.Request, c *call) error {
	var in reviewInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out vendors.Review
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = vendors.AddReview(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"),
			vendors.Review{ReviewedOn: in.ReviewedOn, Outcome: in.Outcome, Notes: in.Notes})
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

// --- risks ---

type riskInput struct {
	Title              string   `json:"title"`
	Description        string   `json:"description"`
	Category           string   `json:"category"`
	Likelihood         int      `json:"likelihood"` // 1-5
	Impact             int      `json:"impact"`     // 1-5
	ResidualLikelihood int      `json:"residual_likelihood"`
	ResidualImpact     int      `json:"residual_impact"`
	Treatment          string   `json:"treatment"` // mitigate, accept, transfer, avoid
	OwnerID            string   `json:"owner_id"`
	ReviewDate         string   `json:"review_date"`
	ControlIDs         []string `json:"control_ids"`
}

type riskPatch struct {
	Title              *string   `json:"title"`
	Description        *string   `json:"description"`
	Category           *string   `json:"category"`
	Likelihood         *int      `json:"likelihood"`
	Impact             *int      `json:"impact"`
	ResidualLikelihood *int      `json:"residual_likelihood"`
	ResidualImpact     *int      `json:"residual_impact"`
	Treatment          *string   `json:"treatment"`
	OwnerID            *string   `json:"owner_id"`
	ReviewDate         *string   `json:"review_date"`
	Status             *string   `json:"status"` // open, closed
	ControlIDs         *[]string `json:"control_ids"`
}

type heatMapView struct {
	Inherent risk.HeatMap `json:"inherent"`
	Residual risk.HeatMap `json:"residual"`
}

type assessmentInput struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
}

func riskFilter(r *http.Request) risk.Filter {
	q := r.URL.Query()
	return risk.Filter{Status: q.Get("status"), Treatment: q.Get("treatment"), OwnerID: q.Get("owner_id"),
		Category: q.Get("category"), ControlID: q.Get("control_id"), Query: q.Get("q")}
}

func (s *Server) apiRisks(w http.ResponseWriter, r *http.Request, c *call) error {
	list, err := risk.List(r.Context(), s.db.Q(), c.Actor.OrgID, riskFilter(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(list, ""))
}

func (s *Server) apiAddRisk(w http.ResponseWriter, r *http.Request, c *call) error {
	var in riskInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out risk.Risk
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = risk.Create(r.Context(), tx, c.Actor.OrgID, risk.Input(in))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiHeatMap(w http.ResponseWriter, r *http.Request, c *call) error {
	list, err := risk.List(r.Context(), s.db.Q(), c.Actor.OrgID, risk.Filter{Status: risk.StatusOpen})
	if err != nil {
		return err
	}
	inh, res := risk.HeatMaps(list)
	return writeJSON(w, http.StatusOK, heatMapView{Inherent: inh, Residual: res})
}

func (s *Server) apiRisk(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := risk.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiPatchRisk(w http.ResponseWriter, r *http.Request, c *call) error {
	var in riskPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out risk.Risk
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = risk.Update(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"), risk.Patch(in))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAssessments(w http.ResponseWriter, r *http.Request, c *call) error {
	list, err := risk.Assessments(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(list, ""))
}

func (s *Server) apiAssess(w http.ResponseWriter, r *http.Request, c *call) error {
	var in assessmentInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out risk.Assessment
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = risk.Assess(r.Context(), tx, c.Actor.OrgID, in.Title, in.Summary)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiAssessment(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := risk.GetAssessment(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// --- incidents ---

type incidentInput struct {
	Kind        string   `json:"kind"` // incident (default) or tabletop
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    string   `json:"severity"`    // sev1-sev4 or critical, high, medium, low
	DetectedAt  string   `json:"detected_at"` // RFC 3339 or date; default now
	ControlIDs  []string `json:"control_ids"`
}

type incidentPatch struct {
	Title          *string   `json:"title"`
	Description    *string   `json:"description"`
	Severity       *string   `json:"severity"`
	Status         *string   `json:"status"` // open, contained, resolved, closed
	RootCause      *string   `json:"root_cause"`
	LessonsLearned *string   `json:"lessons_learned"`
	ControlIDs     *[]string `json:"control_ids"`
}

type eventInput struct {
	At   string `json:"at"` // when it happened, RFC 3339; default now
	What string `json:"what"`
}

func incidentFilter(r *http.Request) (incident.Filter, error) {
	q := r.URL.Query()
	f := incident.Filter{Kind: q.Get("kind"), Status: q.Get("status"), Severity: q.Get("severity"), Query: q.Get("q")}
	if o := q.Get("open"); o != "" {
		b, err := strconv.ParseBool(o)
		if err != nil {
			return f, attest.Invalid("open", "must be true or false")
		}
		f.Open = b
	}
	return f, nil
}

func (s *Server) apiIncidents(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := incidentFilter(r)
	if err != nil {
		return err
	}
	list, err := incident.List(r.Context(), s.db.Q(), c.Actor.OrgID, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(list, ""))
}

func (s *Server) apiAddIncident(w http.ResponseWriter, r *http.Request, c *call) error {
	var in incidentInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	at, err := incident.ParseTime("detected_at", in.DetectedAt)
	if err != nil {
		return err
	}
	var out incident.Incident
	err = s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = incident.Create(r.Context(), tx, c.Actor.OrgID, incident.Input{Kind: in.Kind, Title: in.Title,
			Description: in.Description, Severity: in.Severity, DetectedAt: at, ControlIDs: in.ControlIDs})
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiIncident(w http.ResponseWriter, r *http.Request, c *call) error {
	out, err := incident.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiPatchIncident(w http.ResponseWriter, r *http.Request, c *call) error {
	var in incidentPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out incident.Incident
	err := s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = incident.Update(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"), incident.Patch(in))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiTimeline(w http.ResponseWriter, r *http.Request, c *call) error {
	in, err := incident.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOf(in.Timeline, ""))
}

func (s *Server) apiAddEvent(w http.ResponseWriter, r *http.Request, c *call) error {
	var in eventInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	at, err := incident.ParseTime("at", in.At)
	if err != nil {
		return err
	}
	var out incident.Event
	err = s.inTx(r.Context(), c, func(tx *store.Tx) (err error) {
		out, err = incident.AddEvent(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"), at, in.What)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}
