package web

import (
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/policy"
	"github.com/attest-hq/attest/store"
)

// policyPages are the server-rendered policy pages: the list with
// acknowledgement progress, a policy with its versions and workflow, the
// diff between versions, and the page where a person reads and accepts
// what is still pending for them.
func (s *Server) policyPages() []Route {
	g := s.gated
	return []Route{
		{Method: "GET", Pattern: "/policies", Action: ActPolicyRead, Summary: "Policies with acknowledgement progress", handle: g(s.policiesPage)},
		{Method: "POST", Pattern: "/policies", Action: ActPolicyManage, Summary: "Create a policy from a template or blank", handle: g(s.policyCreate)},
		{Method: "GET", Pattern: "/policies/accept", Action: ActPolicyAck, Summary: "The policies you still have to read and accept", handle: g(s.policiesToAccept)},
		{Method: "GET", Pattern: "/policies/export", Action: ActPolicyRead, Summary: "Download the published policies (format=pdf|html)", handle: g(s.exportPolicies)},
		{Method: "GET", Pattern: "/policies/{id}", Action: ActPolicyRead, Summary: "One policy: text, versions, approvals and acknowledgements", handle: g(s.policyPage)},
		{Method: "POST", Pattern: "/policies/{id}", Action: ActPolicyManage, Summary: "Edit a policy's text, owner or review date", handle: g(s.policyEdit)},
		{Method: "POST", Pattern: "/policies/{id}/submit", Action: ActPolicyManage, Summary: "Send the draft to review", handle: g(s.policyTransitionForm(policy.Submit, "submitted"))},
		{Method: "POST", Pattern: "/policies/{id}/approve", Action: ActPolicyManage, Summary: "Approve the version in review", handle: g(s.policyTransitionForm(policy.Approve, "approved"))},
		{Method: "POST", Pattern: "/policies/{id}/publish", Action: ActPolicyManage, Summary: "Publish the approved version", handle: g(s.policyTransitionForm(policy.Publish, "published"))},
		{Method: "POST", Pattern: "/policies/{id}/accept", Action: ActPolicyAck, Summary: "Accept the current version of a policy", handle: g(s.policyAccept)},
		{Method: "GET", Pattern: "/policies/{id}/diff", Action: ActPolicyRead, Summary: "Line diff between two versions", handle: g(s.policyDiffPage)},
		{Method: "GET", Pattern: "/policies/{id}/export", Action: ActPolicyRead, Summary: "Download one version (format=pdf|html, version=N)", handle: g(s.policyExportPage)},
		{Method: "GET", Pattern: "/policies/{id}/acknowledgements.csv", Action: ActPolicyRead, Summary: "Acceptances of one version as CSV (version=N)", handle: g(s.policyAcksCSV)},
	}
}

// policyNotices are the confirmations a redirect may ask for with
// ?done=KEY; only these fixed texts can appear.
var policyNotices = map[string]string{
	"created":   "Policy created as a draft.",
	"saved":     "Saved.",
	"submitted": "Sent to review.",
	"approved":  "Approved. It can now be published.",
	"published": "Published. Everyone in scope is now asked to accept it.",
	"accepted":  "Thank you: your acceptance is recorded.",
}

func policyNotice(r *http.Request) string { return policyNotices[r.URL.Query().Get("done")] }

// ackBar draws acceptance progress as a small SVG bar with its count.
func ackBar(p policy.Progress) template.HTML {
	const w, h, barW = 190.0, 14.0, 110.0
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Accepted) / float64(p.Total)
	}
	label := fmt.Sprintf("%d of %d accepted", p.Accepted, p.Total)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart ackbar" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`,
		w, h, w, h, html.EscapeString(label))
	fmt.Fprintf(&b, `<rect width="%.0f" height="10" y="2" rx="2" fill="%s"/>`, barW, colourTrack)
	if frac > 0 {
		fmt.Fprintf(&b, `<rect width="%.2f" height="10" y="2" rx="2" fill="%s"/>`, barW*frac, scoreColour(frac))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="11.5" font-size="11" fill="%s">%d / %d</text>`, barW+8, colourText, p.Accepted, p.Total)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type policyRow struct {
	policy.Policy
	Progress policy.Progress
	Bar      template.HTML
}

type policiesPage struct {
	Rows      []policyRow
	Filter    struct{ Status, Overdue string }
	Statuses  []policy.Status
	Templates []policy.Template
	ToAccept  int
	Notice    string
	Errors    formErrors
	Form      policyInput
}

func (s *Server) policiesData(r *http.Request, c *call) (policiesPage, error) {
	var d policiesPage
	q := r.URL.Query()
	d.Filter.Status, d.Filter.Overdue = q.Get("status"), q.Get("overdue")
	d.Statuses = []policy.Status{policy.StatusDraft, policy.StatusInReview, policy.StatusApproved, policy.StatusPublished}
	f, err := policyFilter(r)
	if err != nil {
		return d, err
	}
	ctx, org := r.Context(), c.Actor.OrgID
	ps, err := policy.List(ctx, s.db.Q(), org, f, s.db.Now())
	if err != nil {
		return d, err
	}
	progress, err := policy.ProgressByPolicy(ctx, s.db.Q(), org)
	if err != nil {
		return d, err
	}
	for _, p := range ps {
		row := policyRow{Policy: p, Progress: progress[p.ID]}
		if p.Published != nil {
			row.Bar = ackBar(row.Progress)
		}
		d.Rows = append(d.Rows, row)
	}
	if Allowed(c.Actor.Role, ActPolicyAck) {
		todo, err := policy.ToAcceptFor(ctx, s.db.Q(), org, c.Actor.UserID)
		if err != nil {
			return d, err
		}
		d.ToAccept = len(todo)
	}
	if Allowed(c.Actor.Role, ActPolicyManage) {
		if d.Templates, err = policy.Templates(); err != nil {
			return d, err
		}
	}
	d.Notice = policyNotice(r)
	return d, nil
}

func (s *Server) policiesPage(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.policiesData(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, 200, "policy_list.html", "Policies", "policies", d)
}

func (s *Server) policyCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	in := policyInput{TemplateID: r.PostFormValue("template_id"), Title: r.PostFormValue("title")}
	if in.TemplateID == "" && strings.TrimSpace(in.Title) != "" {
		in.Content = "# " + strings.TrimSpace(in.Title) + "\n"
	}
	p, err := s.createPolicy(r, c, in)
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		d, derr := s.policiesData(r, c)
		if derr != nil {
			return derr
		}
		d.Errors, d.Form = errs, in
		return s.show(w, r, c, status, "policy_list.html", "Policies", "policies", d)
	}
	return redirect(w, r, "/policies/"+p.ID+"?done=created")
}

type policyPage struct {
	Policy   policy.Policy
	Shown    *policy.Version // the version whose text is shown
	Body     template.HTML
	Facts    [][2]string
	Versions []policy.Version
	Acks     []policy.PersonStatus
	Progress policy.Progress
	Bar      template.HTML
	Members  []account.Member
	Controls map[string]string // code -> control id
	// MustAccept is true when the caller is in scope and has not accepted
	// the current published version.
	MustAccept bool
	CanAccept  bool
	Notice     string
	Errors     formErrors
	Form       struct{ Title, Content, Owner, ReviewDue string }
}

func (s *Server) policyData(r *http.Request, c *call, id string) (policyPage, error) {
	var d policyPage
	ctx, org := r.Context(), c.Actor.OrgID
	p, err := policy.Get(ctx, s.db.Q(), org, id, s.db.Now())
	if err != nil {
		return d, err
	}
	d.Policy = p
	if d.Versions, err = policy.Versions(ctx, s.db.Q(), org, id); err != nil {
		return d, err
	}
	// Show the version asked for, else the published text, else the draft.
	d.Shown = p.Published
	if d.Shown == nil {
		d.Shown = p.Working
	}
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := versionNumber("version", v)
		if err != nil {
			return d, err
		}
		ver, err := policy.VersionByNumber(ctx, s.db.Q(), org, id, n)
		if err != nil {
			return d, err
		}
		d.Shown = &ver
	}
	if d.Body, err = policy.RenderHTML(d.Shown.Content); err != nil {
		return d, err
	}
	d.Facts = policy.Document{PolicyID: p.ID, Version: *d.Shown, Owner: p.Owner, ReviewDue: p.ReviewDue}.Facts()
	if d.Acks, err = policy.AckStatus(ctx, s.db.Q(), org, id); err != nil {
		return d, err
	}
	d.Progress.Total = len(d.Acks)
	for _, a := range d.Acks {
		if a.Accepted {
			d.Progress.Accepted++
		} else if a.UserID == c.Actor.UserID && p.Published != nil {
			d.MustAccept = true
		}
	}
	d.Bar = ackBar(d.Progress)
	d.CanAccept = Allowed(c.Actor.Role, ActPolicyAck)
	if Allowed(c.Actor.Role, ActPolicyManage) {
		if d.Members, err = account.Members(ctx, s.db.Q(), org); err != nil {
			return d, err
		}
		cur := p.Current()
		d.Form.Title, d.Form.Content, d.Form.Owner = cur.Title, cur.Content, p.OwnerID
		if !p.ReviewDue.IsZero() {
			d.Form.ReviewDue = p.ReviewDue.Format("2006-01-02")
		}
	}
	if d.Controls, err = policy.ControlIDs(ctx, s.db.Q(), org); err != nil {
		return d, err
	}
	d.Notice = policyNotice(r)
	return d, nil
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.policyData(r, c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.show(w, r, c, 200, "policy_detail.html", d.Policy.Title, "policies", d)
}

// policyFailed shows the policy page again with what went wrong, for
// errors the person can act on; other errors become the error page.
func (s *Server) policyFailed(w http.ResponseWriter, r *http.Request, c *call, id string, err error, keep func(*policyPage)) error {
	errs, status, ok := formError(err)
	if !ok {
		return err
	}
	d, derr := s.policyData(r, c, id)
	if derr != nil {
		return derr
	}
	d.Errors = errs
	if keep != nil {
		keep(&d)
	}
	return s.show(w, r, c, status, "policy_detail.html", d.Policy.Title, "policies", d)
}

func (s *Server) policyEdit(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, maxPolicyBody)
	if err := r.ParseForm(); err != nil {
		return errTooLarge("content")
	}
	title, content := r.PostFormValue("title"), strings.ReplaceAll(r.PostFormValue("content"), "\r\n", "\n")
	owner, due := r.PostFormValue("owner"), r.PostFormValue("review_due")
	in := policyPatch{Title: &title, Content: &content, Owner: &owner}
	if strings.TrimSpace(due) != "" {
		in.ReviewDue = &due
	}
	if _, err := s.updatePolicy(r, c, id, in); err != nil {
		return s.policyFailed(w, r, c, id, err, func(d *policyPage) {
			d.Form.Title, d.Form.Content, d.Form.Owner, d.Form.ReviewDue = title, content, owner, due
		})
	}
	return redirect(w, r, "/policies/"+url.PathEscape(id)+"?done=saved")
}

func (s *Server) policyTransitionForm(step policyTransition, done string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		id := r.PathValue("id")
		err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
			_, err := step(r.Context(), tx, c.Actor.OrgID, id)
			return err
		})
		if err != nil {
			return s.policyFailed(w, r, c, id, err, nil)
		}
		return redirect(w, r, "/policies/"+url.PathEscape(id)+"?done="+done)
	}
}

func (s *Server) policyAccept(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	ref := policy.VersionRef{ID: r.PostFormValue("version_id")}
	if _, _, err := s.acknowledge(r, c, id, ref); err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		d, derr := s.toAcceptData(r, c)
		if derr != nil {
			return derr
		}
		d.Errors = errs
		return s.show(w, r, c, status, "policy_accept.html", "Policies to accept", "policies", d)
	}
	back := "/policies/accept"
	if r.PostFormValue("back") == "policy" {
		back = "/policies/" + url.PathEscape(id)
	}
	return redirect(w, r, back+"?done=accepted")
}

type toAcceptItem struct {
	policy.ToAccept
	Body template.HTML
}

type toAcceptPage struct {
	Items  []toAcceptItem
	Notice string
	Errors formErrors
}

func (s *Server) toAcceptData(r *http.Request, c *call) (toAcceptPage, error) {
	d := toAcceptPage{Notice: policyNotice(r)}
	todo, err := policy.ToAcceptFor(r.Context(), s.db.Q(), c.Actor.OrgID, c.Actor.UserID)
	if err != nil {
		return d, err
	}
	for _, t := range todo {
		v, err := policy.VersionByNumber(r.Context(), s.db.Q(), c.Actor.OrgID, t.PolicyID, t.Version)
		if err != nil {
			return d, err
		}
		body, err := policy.RenderHTML(v.Content)
		if err != nil {
			return d, err
		}
		d.Items = append(d.Items, toAcceptItem{ToAccept: t, Body: body})
	}
	return d, nil
}

func (s *Server) policiesToAccept(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.toAcceptData(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, 200, "policy_accept.html", "Policies to accept", "policies", d)
}

type policyDiffPage struct {
	Policy   policy.Policy
	Diff     diffView
	Versions []policy.Version
}

func (s *Server) policyDiffPage(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	p, err := policy.Get(r.Context(), s.db.Q(), c.Actor.OrgID, id, s.db.Now())
	if err != nil {
		return err
	}
	d, err := s.policyDiff(r, c.Actor.OrgID, id)
	if err != nil {
		return err
	}
	vs, err := policy.Versions(r.Context(), s.db.Q(), c.Actor.OrgID, id)
	if err != nil {
		return err
	}
	return s.show(w, r, c, 200, "policy_diff.html", p.Title+": changes", "policies", policyDiffPage{Policy: p, Diff: d, Versions: vs})
}

func (s *Server) policyExportPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.exportPolicy(w, r, c, r.PathValue("id"))
}

func (s *Server) policyAcksCSV(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.exportAcknowledgements(w, r, c, r.PathValue("id"))
}
