package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/policy"
	"github.com/attest-hq/attest/store"
)

// policyRoutes serves policies, acknowledgements and templates (JSON API and pages).
func (s *Server) policyRoutes() []Route {
	api := []Route{
		{Method: "GET", Pattern: "/api/v1/policy-templates", Action: ActPolicyRead, API: true, Summary: "Policy templates with the controls and criteria each supports and its variables", Response: List[templateView]{}, handle: s.apiPolicyTemplates},
		{Method: "GET", Pattern: "/api/v1/policies", Action: ActPolicyRead, API: true, Summary: "Policies with acknowledgement progress (filters: status=draft|in_review|approved|published, overdue=true|false, q)", Response: List[policyView]{}, handle: s.apiPolicies},
		{Method: "POST", Pattern: "/api/v1/policies", Action: ActPolicyManage, API: true, Summary: "Create a policy from a template (template_id, variables) or blank (title, content); it starts as a draft", Request: policyInput{}, Response: policyView{}, handle: s.apiCreatePolicy},
		{Method: "GET", Pattern: "/api/v1/policies/export", Action: ActPolicyRead, API: true, Summary: "Download every published policy as one document (format=pdf|html)", handle: s.apiExportPolicies},
		{Method: "GET", Pattern: "/api/v1/policies/{id}", Action: ActPolicyRead, API: true, Summary: "One policy with the text of its published and working versions", Response: policyView{}, handle: s.apiPolicy},
		{Method: "PATCH", Pattern: "/api/v1/policies/{id}", Action: ActPolicyManage, API: true, Summary: "Change title or content (a published policy gets a new draft version; one in review or approved goes back to draft), owner, review date, review interval or mapped controls", Request: policyPatch{}, Response: policyView{}, handle: s.apiPatchPolicy},
		{Method: "POST", Pattern: "/api/v1/policies/{id}/submit", Action: ActPolicyManage, API: true, Summary: "Send the draft to review", Response: policyView{}, handle: s.policyStep(policy.Submit)},
		{Method: "POST", Pattern: "/api/v1/policies/{id}/approve", Action: ActPolicyManage, API: true, Summary: "Approve the version in review (not by its author or last editor while another owner or admin exists)", Response: policyView{}, handle: s.policyStep(policy.Approve)},
		{Method: "POST", Pattern: "/api/v1/policies/{id}/publish", Action: ActPolicyManage, API: true, Summary: "Publish the approved version; 409 when it has not been approved", Response: policyView{}, handle: s.policyStep(policy.Publish)},
		{Method: "GET", Pattern: "/api/v1/policies/{id}/versions", Action: ActPolicyRead, API: true, Summary: "Every version, oldest first (without text)", Response: List[policy.Version]{}, handle: s.apiPolicyVersions},
		{Method: "GET", Pattern: "/api/v1/policies/{id}/versions/{number}", Action: ActPolicyRead, API: true, Summary: "One version with its text", Response: policy.Version{}, handle: s.apiPolicyVersion},
		{Method: "GET", Pattern: "/api/v1/policies/{id}/diff", Action: ActPolicyRead, API: true, Summary: "Line diff between two versions (from, to: version numbers; default the newest against the one before)", Response: diffView{}, handle: s.apiPolicyDiff},
		{Method: "GET", Pattern: "/api/v1/policies/{id}/export", Action: ActPolicyRead, API: true, Summary: "Download one version (format=pdf|html, version=N; default the published one)", handle: s.apiExportPolicy},
		{Method: "POST", Pattern: "/api/v1/policies/{id}/acknowledgements", Action: ActPolicyAck, API: true, Summary: "The caller accepts the current published version (the body may name it with version or version_id; naming a superseded one is 409)", Request: ackInput{}, Response: policy.Acknowledgement{}, handle: s.apiAcknowledge},
		{Method: "GET", Pattern: "/api/v1/policies/{id}/acknowledgements", Action: ActPolicyRead, API: true, Summary: "Everyone in scope with whether they accepted the current version", Response: List[ackView]{}, handle: s.apiAcknowledgements},
		{Method: "GET", Pattern: "/api/v1/policies/{id}/acknowledgements/export", Action: ActPolicyRead, API: true, Summary: "Every acceptance of one version as CSV evidence (version=N, default the current one)", handle: s.apiExportAcknowledgements},
	}
	return append(api, s.policyPages()...)
}

type templateView struct {
	ID        string            `json:"id"`
	Title     string            `json:"title"`
	Summary   string            `json:"summary"`
	Controls  []string          `json:"controls"`
	Criteria  []string          `json:"criteria"`
	Variables map[string]string `json:"variables"` // name -> default ("" for the standard ones, filled from the org)
}

func (s *Server) apiPolicyTemplates(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := policy.Templates()
	if err != nil {
		return err
	}
	out := make([]templateView, len(ts))
	for i, t := range ts {
		vars := map[string]string{}
		for _, v := range t.Variables() {
			vars[v] = t.Defaults[v]
		}
		out[i] = templateView{ID: t.ID, Title: t.Title, Summary: t.Summary, Controls: t.Controls, Criteria: t.Criteria, Variables: vars}
	}
	return writeJSON(w, 200, listOf(out, ""))
}

// policyView is a policy with its acknowledgement progress.
type policyView struct {
	policy.Policy
	Acknowledged policy.Progress `json:"acknowledged"`
}

func (s *Server) viewPolicy(r *http.Request, org attest.OrgID, p policy.Policy) (policyView, error) {
	v := policyView{Policy: p}
	if p.Published == nil {
		people, err := policy.Population(r.Context(), s.db.Q(), org)
		v.Acknowledged.Total = len(people)
		return v, err
	}
	status, err := policy.AckStatus(r.Context(), s.db.Q(), org, p.ID)
	if err != nil {
		return v, err
	}
	v.Acknowledged.Total = len(status)
	for _, st := range status {
		if st.Accepted {
			v.Acknowledged.Accepted++
		}
	}
	return v, nil
}

// policyFilter reads list filters from the query string.
func policyFilter(r *http.Request) (policy.Filter, error) {
	q := r.URL.Query()
	f := policy.Filter{Query: q.Get("q")}
	if st := q.Get("status"); st != "" {
		parsed, err := policy.ParseStatus(st)
		if err != nil {
			return f, err
		}
		f.Status = parsed
	}
	if o := q.Get("overdue"); o != "" {
		b, err := strconv.ParseBool(o)
		if err != nil {
			return f, attest.Invalid("overdue", "must be true or false")
		}
		f.Overdue = &b
	}
	return f, nil
}

func (s *Server) apiPolicies(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := policyFilter(r)
	if err != nil {
		return err
	}
	ps, err := policy.List(r.Context(), s.db.Q(), c.Actor.OrgID, f, s.db.Now())
	if err != nil {
		return err
	}
	progress, err := policy.ProgressByPolicy(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	people, err := policy.Population(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	out := make([]policyView, len(ps))
	for i, p := range ps {
		pr, ok := progress[p.ID]
		if !ok {
			pr = policy.Progress{Total: len(people)}
		}
		out[i] = policyView{Policy: p, Acknowledged: pr}
	}
	return writeJSON(w, 200, listOf(out, ""))
}

type policyInput struct {
	TemplateID   string            `json:"template_id"`
	Title        string            `json:"title"`
	Content      string            `json:"content"`
	Owner        string            `json:"owner"` // email or user id; default the caller
	ReviewMonths int               `json:"review_months"`
	Variables    map[string]string `json:"variables"`
}

// maxPolicyBody leaves room for a policy at its cap plus JSON escaping.
const maxPolicyBody = 3 * policy.MaxContent

// decodePolicyJSON is decodeJSON with a cap sized for policy text, so
// that oversize content is reported on its field, not as a bad body.
func decodePolicyJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxPolicyBody)
	return decodeJSON(w, r, dst)
}

func (s *Server) apiCreatePolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var in policyInput
	if err := decodePolicyJSON(w, r, &in); err != nil {
		return err
	}
	out, err := s.createPolicy(r, c, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

// createPolicy is shared by the API and the page's form.
func (s *Server) createPolicy(r *http.Request, c *call, in policyInput) (policyView, error) {
	n := policy.New{TemplateID: strings.TrimSpace(in.TemplateID), Title: in.Title, Content: in.Content, ReviewMonths: in.ReviewMonths, Variables: in.Variables}
	if in.Owner != "" {
		id, err := s.resolveOwner(r, c.Actor.OrgID, in.Owner)
		if err != nil {
			return policyView{}, err
		}
		n.OwnerID = id
	}
	var out policy.Policy
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		out, err = policy.Create(r.Context(), tx, c.Actor.OrgID, n)
		return err
	})
	if err != nil {
		return policyView{}, err
	}
	return s.viewPolicy(r, c.Actor.OrgID, out)
}

func (s *Server) apiPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := policy.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"), s.db.Now())
	if err != nil {
		return err
	}
	v, err := s.viewPolicy(r, c.Actor.OrgID, p)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, v)
}

type policyPatch struct {
	Title        *string   `json:"title"`
	Content      *string   `json:"content"`
	Owner        *string   `json:"owner"`      // email or user id; "" clears
	ReviewDue    *string   `json:"review_due"` // a date such as 2027-03-31
	ReviewMonths *int      `json:"review_months"`
	Controls     *[]string `json:"controls"` // control codes
}

// patchOf validates the wire form; the page's edit form builds the same.
func (s *Server) patchOf(r *http.Request, org attest.OrgID, in policyPatch) (policy.Patch, error) {
	p := policy.Patch{Title: in.Title, Content: in.Content, ReviewMonths: in.ReviewMonths, Controls: in.Controls}
	if in.ReviewDue != nil {
		d, err := time.Parse("2006-01-02", strings.TrimSpace(*in.ReviewDue))
		if err != nil {
			return p, attest.Invalid("review_due", "must be a date like 2027-03-31")
		}
		p.ReviewDue = &d
	}
	if in.Owner != nil {
		id, err := s.resolveOptionalOwner(r, org, *in.Owner)
		if err != nil {
			return p, err
		}
		p.OwnerID = &id
	}
	return p, nil
}

func (s *Server) apiPatchPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var in policyPatch
	if err := decodePolicyJSON(w, r, &in); err != nil {
		return err
	}
	out, err := s.updatePolicy(r, c, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, out)
}

func (s *Server) updatePolicy(r *http.Request, c *call, id string, in policyPatch) (policyView, error) {
	p, err := s.patchOf(r, c.Actor.OrgID, in)
	if err != nil {
		return policyView{}, err
	}
	var out policy.Policy
	err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
		out, err = policy.Update(r.Context(), tx, c.Actor.OrgID, id, p)
		return err
	})
	if err != nil {
		return policyView{}, err
	}
	return s.viewPolicy(r, c.Actor.OrgID, out)
}

type policyTransition func(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) (policy.Policy, error)

// policyStep serves submit, approve and publish: no body is needed (an
// empty object is accepted), and the answer is the policy after the step.
func (s *Server) policyStep(step policyTransition) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := optionalEmptyBody(w, r); err != nil {
			return err
		}
		var out policy.Policy
		err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
			var err error
			out, err = step(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"))
			return err
		})
		if err != nil {
			return err
		}
		v, err := s.viewPolicy(r, c.Actor.OrgID, out)
		if err != nil {
			return err
		}
		return writeJSON(w, 200, v)
	}
}

// optionalEmptyBody accepts no body or an empty JSON object.
func optionalEmptyBody(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	var none struct{}
	return decodeJSON(w, r, &none)
}

func (s *Server) apiPolicyVersions(w http.ResponseWriter, r *http.Request, c *call) error {
	vs, err := policy.Versions(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, 200, listOf(vs, ""))
}

func versionNumber(field, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(s), "v"))
	if err != nil || n < 1 {
		return 0, attest.Invalid(field, "must be a version number such as 2")
	}
	return n, nil
}

func (s *Server) apiPolicyVersion(w http.ResponseWriter, r *http.Request, c *call) error {
	n, err := versionNumber("number", r.PathValue("number"))
	if err != nil {
		// Check the policy first so another org's id stays a plain 404.
		if _, perr := policy.Versions(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id")); perr != nil {
			return perr
		}
		return err
	}
	v, err := policy.VersionByNumber(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, v)
}

type diffView struct {
	From    int               `json:"from"`
	To      int               `json:"to"`
	Added   int               `json:"added"`
	Deleted int               `json:"deleted"`
	Lines   []policy.DiffLine `json:"lines"`
}

// policyDiff computes the diff the API and the page show.
func (s *Server) policyDiff(r *http.Request, org attest.OrgID, id string) (diffView, error) {
	vs, err := policy.Versions(r.Context(), s.db.Q(), org, id)
	if err != nil {
		return diffView{}, err
	}
	q := r.URL.Query()
	to := vs[len(vs)-1].Number
	if t := q.Get("to"); t != "" {
		if to, err = versionNumber("to", t); err != nil {
			return diffView{}, err
		}
	}
	from := max(to-1, 1)
	if f := q.Get("from"); f != "" {
		if from, err = versionNumber("from", f); err != nil {
			return diffView{}, err
		}
	}
	a, err := policy.VersionByNumber(r.Context(), s.db.Q(), org, id, from)
	if err != nil {
		return diffView{}, err
	}
	b, err := policy.VersionByNumber(r.Context(), s.db.Q(), org, id, to)
	if err != nil {
		return diffView{}, err
	}
	// The title is part of the text people accept, so it is diffed too.
	lines := policy.Diff("Title: "+a.Title+"\n\n"+a.Content, "Title: "+b.Title+"\n\n"+b.Content)
	add, del := policy.DiffStats(lines)
	if lines == nil {
		lines = []policy.DiffLine{}
	}
	return diffView{From: from, To: to, Added: add, Deleted: del, Lines: lines}, nil
}

func (s *Server) apiPolicyDiff(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.policyDiff(r, c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, 200, d)
}

type ackInput struct {
	VersionID string `json:"version_id"`
	Version   int    `json:"version"`
}

func (s *Server) apiAcknowledge(w http.ResponseWriter, r *http.Request, c *call) error {
	var in ackInput
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	if in.Version < 0 {
		return attest.Invalid("version", "must be a version number such as 2")
	}
	a, created, err := s.acknowledge(r, c, r.PathValue("id"), policy.VersionRef{ID: in.VersionID, Number: in.Version})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, a)
}

func (s *Server) acknowledge(r *http.Request, c *call, id string, ref policy.VersionRef) (policy.Acknowledgement, bool, error) {
	var a policy.Acknowledgement
	var created bool
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		a, created, err = policy.Accept(r.Context(), tx, c.Actor.OrgID, id, ref)
		return err
	})
	return a, created, err
}

// ackView is one person's standing with the current version.
type ackView struct {
	User         string      `json:"user"` // user id
	Email        string      `json:"email"`
	Name         string      `json:"name"`
	Role         attest.Role `json:"role"`
	Accepted     bool        `json:"accepted"`
	AcceptedAt   *time.Time  `json:"accepted_at"`
	Version      *int        `json:"version"`
	VersionHash  string      `json:"version_hash,omitempty"`
	LastAccepted *int        `json:"last_accepted_version,omitempty"`
}

func (s *Server) apiAcknowledgements(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := policy.AckStatus(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]ackView, len(st))
	for i, p := range st {
		out[i] = ackView{User: p.UserID, Email: p.Email, Name: p.Name, Role: p.Role, Accepted: p.Accepted, AcceptedAt: p.AcceptedAt,
			Version: p.Version, VersionHash: p.VersionHash, LastAccepted: p.LastAccepted}
	}
	return writeJSON(w, 200, listOf(out, ""))
}

func (s *Server) apiExportAcknowledgements(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.exportAcknowledgements(w, r, c, r.PathValue("id"))
}

// exportAcknowledgements writes every acceptance of one version as CSV:
// the population an auditor samples from, with the hash of the text each
// person accepted.
func (s *Server) exportAcknowledgements(w http.ResponseWriter, r *http.Request, c *call, id string) error {
	p, err := policy.Get(r.Context(), s.db.Q(), c.Actor.OrgID, id, s.db.Now())
	if err != nil {
		return err
	}
	number := 0
	if v := r.URL.Query().Get("version"); v != "" {
		if number, err = versionNumber("version", v); err != nil {
			return err
		}
	} else if p.Published != nil {
		number = p.Published.Number
	} else {
		return attest.Conflict("this policy has not been published yet; there are no acceptances")
	}
	v, acks, err := policy.VersionAcknowledgements(r.Context(), s.db.Q(), c.Actor.OrgID, id, number)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"policy_id", "policy_title", "version", "version_id", "version_sha256", "email", "user_id", "accepted_at", "via"})
	for _, a := range acks {
		cw.Write([]string{p.ID, csvSafe(v.Title), strconv.Itoa(v.Number), v.ID, a.VersionHash, csvSafe(a.Email), a.UserID,
			a.AcceptedAt.UTC().Format(time.RFC3339), a.Via})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write acknowledgements CSV: %w", err)
	}
	name := fmt.Sprintf("%s-v%d-acknowledgements.csv", p.ID, v.Number)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	_, err = w.Write(b.Bytes())
	return err
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (s *Server) apiExportPolicies(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.exportPolicies(w, r, c)
}

func (s *Server) apiExportPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.exportPolicy(w, r, c, r.PathValue("id"))
}

func exportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "pdf":
		return "pdf", nil
	case "html":
		return "html", nil
	}
	return "", attest.Invalid("format", "must be pdf or html")
}

// exportPolicies downloads the whole published set.
func (s *Server) exportPolicies(w http.ResponseWriter, r *http.Request, c *call) error {
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	ex, err := policy.PublishedSet(r.Context(), s.db.Q(), c.Actor.OrgID, s.db.Now())
	if err != nil {
		return err
	}
	return writeExport(w, ex, format, "policies")
}

// exportPolicy downloads one version of one policy.
func (s *Server) exportPolicy(w http.ResponseWriter, r *http.Request, c *call, id string) error {
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	number := 0
	if v := r.URL.Query().Get("version"); v != "" {
		if number, err = versionNumber("version", v); err != nil {
			return err
		}
	}
	ex, err := policy.OneVersion(r.Context(), s.db.Q(), c.Actor.OrgID, id, number, s.db.Now())
	if err != nil {
		return err
	}
	return writeExport(w, ex, format, fmt.Sprintf("%s-v%d", id, ex.Documents[0].Version.Number))
}

// writeExport renders fully before answering, then sends the file as a
// download. The HTML export carries its own styles, so its response gets
// a policy that allows them and nothing else (no script, no fetches).
func writeExport(w http.ResponseWriter, ex policy.Export, format, name string) error {
	var b bytes.Buffer
	ctype := "application/pdf"
	if format == "html" {
		ctype = "text/html; charset=utf-8"
		if err := policy.WriteHTML(&b, ex); err != nil {
			return err
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	} else if err := policy.WritePDF(&b, ex); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name + "." + format}))
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	_, err := w.Write(b.Bytes())
	return err
}
