package web

import (
	"fmt"
	"net/http"
	"slices"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/framework"
	"github.com/attest-hq/attest/policy"
	"github.com/attest-hq/attest/risk"
	"github.com/attest-hq/attest/store"
)

type statusCount struct {
	Status control.Status
	N      int
}

// nextStep is one step of the road to an audit, in the order an auditor
// expects them. Link is empty for a step whose page does not exist yet.
type nextStep struct {
	Title    string
	Detail   string
	Link     string
	LinkText string
	Done     bool
	Coming   bool // the capability arrives in a later release
}

type dashboardPage struct {
	Overall         float64
	Categories      []chartBar
	ByStatus        []statusCount
	Total           int
	Unowned         int // applicable controls without an owner
	CriteriaInScope int
	Uncovered       int // in-scope criteria no control fully covers
	Steps           []nextStep
	ToAccept        int // policies the viewer still has to accept
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	org, err := account.GetOrg(ctx, s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	rd, err := s.readiness(ctx, c.Actor.OrgID)
	if err != nil {
		return err
	}
	cs, err := control.List(ctx, s.db.Q(), c.Actor.OrgID, control.Filter{})
	if err != nil {
		return err
	}
	ev, err := evidence.Summaries(ctx, s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	d := dashboardPage{Overall: rd.Overall, Total: len(cs), CriteriaInScope: len(rd.Criteria)}
	for _, cat := range rd.Categories {
		bar := chartBar{Label: cat.Name, Score: cat.Score}
		if !cat.InScope {
			bar.Muted, bar.Note = true, "not in scope"
		}
		d.Categories = append(d.Categories, bar)
	}
	counts := map[control.Status]int{}
	unevidenced := 0 // implemented, but nothing current to show for it
	for _, ct := range cs {
		counts[ct.Status]++
		if ct.Status != control.StatusNotApplicable && ct.OwnerID == "" {
			d.Unowned++
		}
		if sum := ev[ct.ID]; ct.Status == control.StatusImplemented && !evidence.Fresh(ct.Frequency, sum.Newest, s.db.Now()) {
			unevidenced++
		}
	}
	for _, st := range control.Statuses {
		d.ByStatus = append(d.ByStatus, statusCount{Status: st, N: counts[st]})
	}
	for _, cr := range rd.Criteria {
		if !cr.Covered {
			d.Uncovered++
		}
	}
	// Whether anyone has chosen the scope yet: the org's settings were
	// saved at least once.
	changed, _, err := auditlog.List(ctx, s.db.Q(), c.Actor.OrgID, auditlog.Filter{Action: "org.update", Limit: 1})
	if err != nil {
		return err
	}
	risks, err := s.riskStep(r, c)
	if err != nil {
		return err
	}
	policies, err := s.policiesStep(r, c)
	if err != nil {
		return err
	}
	mine, err := policy.ToAcceptFor(ctx, s.db.Q(), c.Actor.OrgID, c.Actor.UserID)
	if err != nil {
		return err
	}
	d.ToAccept = len(mine)
	names := s.categoryNames(org.Scope)
	notStarted := counts[control.StatusNotStarted]
	d.Steps = []nextStep{
		{Title: "Choose the scope", Link: "/settings", LinkText: "Scope and settings", Done: len(changed) > 0,
			Detail: "Security is always in; decide whether Availability, Processing integrity, Confidentiality or Privacy apply. In scope now: " + names + "."},
		risks,
		{Title: "Give every control an owner and a status", Link: "/controls", LinkText: "Controls", Done: d.Unowned == 0 && notStarted == 0,
			Detail: fmt.Sprintf("%s no owner and %d not started. Mark what does not apply with a reason.", countOf(d.Unowned, "control has", "controls have"), notStarted)},
		policies,
		{Title: "Monitor: keep evidence current", Link: "/controls?status=implemented", LinkText: "Implemented controls", Done: unevidenced == 0 && counts[control.StatusImplemented] > 0,
			Detail: countOf(unevidenced, "implemented control has", "implemented controls have") + " no current evidence. Automated checks are coming in a later release."},
		{Title: "The audit", Coming: true,
			Detail: "Audit periods, samples and the auditor's package are coming in a later release. The readiness above is how close you are."},
	}
	return s.show(w, r, c, http.StatusOK, "dashboard.html", "Dashboard", "dashboard", d)
}

// riskStep is done when the register was assessed in the last year, the
// cadence auditors expect for CC3.
func (s *Server) riskStep(r *http.Request, c *call) (nextStep, error) {
	as, err := risk.Assessments(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return nextStep{}, err
	}
	step := nextStep{Title: "Assess your risks", Link: "/risks", LinkText: "Risk register"}
	yearAgo := s.db.Now().AddDate(-1, 0, 0)
	for _, a := range as {
		if a.CreatedAt.After(yearAgo) {
			step.Done = true
			step.Detail = "Last assessed " + a.CreatedAt.Format("2 January 2006") + ". Reassess at least once a year, and when something big changes."
			return step, nil
		}
	}
	step.Detail = "Record your risks with likelihood, impact and treatment, then run the yearly assessment: it snapshots the register as evidence for CC3."
	return step, nil
}

// policiesStep is done when at least one policy is published and everyone
// has accepted every published policy.
func (s *Server) policiesStep(r *http.Request, c *call) (nextStep, error) {
	ctx := r.Context()
	published, err := policy.List(ctx, s.db.Q(), c.Actor.OrgID, policy.Filter{Status: policy.StatusPublished}, s.db.Now())
	if err != nil {
		return nextStep{}, err
	}
	pending, err := policy.PendingByPerson(ctx, s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return nextStep{}, err
	}
	step := nextStep{Title: "Publish policies", Link: "/policies", LinkText: "Policies", Done: len(published) > 0 && len(pending) == 0}
	switch {
	case len(published) == 0:
		step.Detail = "Start from the templates: adapt, approve and publish them, then everyone accepts them."
	case len(pending) > 0:
		step.Detail = fmt.Sprintf("%s published; %s still to accept at least one.", countOf(len(published), "policy", "policies"), countOf(len(pending), "person has", "people have"))
	default:
		step.Detail = fmt.Sprintf("%s published and accepted by everyone.", countOf(len(published), "policy", "policies"))
	}
	return step, nil
}

// countOf writes n with the singular or plural phrase.
func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// categoryNames lists the names of the in-scope categories, in catalog order.
func (s *Server) categoryNames(scope []string) string {
	fw, err := soc2Framework()
	if err != nil {
		return "Security"
	}
	out := ""
	for _, cat := range fw.Categories {
		if cat.Required || slices.Contains(scope, cat.ID) {
			if out != "" {
				out += ", "
			}
			out += cat.Name
		}
	}
	return out
}

func soc2Framework() (*framework.Framework, error) {
	cat, err := framework.Builtin()
	if err != nil {
		return nil, err
	}
	fw, ok := cat.Framework(control.FrameworkID)
	if !ok {
		return nil, fmt.Errorf("framework %s is not in the catalog", control.FrameworkID)
	}
	return fw, nil
}

// --- scope and settings ---

type scopeOption struct {
	framework.Category
	InScope bool
}

type settingsPage struct {
	OrgName     string
	Categories  []scopeOption
	RequireTOTP bool
	Errors      formErrors
}

func (s *Server) settingsForm(w http.ResponseWriter, r *http.Request, c *call) error {
	org, err := account.GetOrg(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	p, err := settingsFor(org)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "settings.html", "Scope and settings", "settings", p)
}

func settingsFor(org account.Org) (settingsPage, error) {
	fw, err := soc2Framework()
	if err != nil {
		return settingsPage{}, err
	}
	p := settingsPage{OrgName: org.Name, RequireTOTP: org.RequireTOTP}
	for _, cat := range fw.Categories {
		p.Categories = append(p.Categories, scopeOption{Category: cat, InScope: cat.Required || slices.Contains(org.Scope, cat.ID)})
	}
	return p, nil
}

func (s *Server) settingsSubmit(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := r.ParseForm(); err != nil {
		return attest.Invalid("body", "is not a valid form")
	}
	scope := r.PostForm["scope"]
	requireTOTP := r.PostFormValue("require_totp") == "on"
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		_, err := account.UpdateOrgSettings(r.Context(), tx, c.Actor.OrgID, scope, requireTOTP)
		return err
	})
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		org, err := account.GetOrg(r.Context(), s.db.Q(), c.Actor.OrgID)
		if err != nil {
			return err
		}
		p, err := settingsFor(org)
		if err != nil {
			return err
		}
		p.Errors = errs
		return s.show(w, r, c, status, "settings.html", "Scope and settings", "settings", p)
	}
	return redirect(w, r, "/settings?done=settings")
}
