package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/framework"
	"github.com/attest-hq/attest/store"
)

// Evidence freshness of a control, as the list and detail pages show it.
const (
	freshnessFresh = "fresh"
	freshnessStale = "stale"
	freshnessNone  = "none"
)

// maxBulk caps how many controls one bulk assignment may touch.
const maxBulk = 1000

// controlsFilter is the list's filter as the form holds it.
type controlsFilter struct {
	Status    string
	Owner     string // a member's user id, or "none" for controls without an owner
	Area      string
	Criterion string
	Q         string
}

func (f controlsFilter) Active() bool { return f != controlsFilter{} }

type controlRow struct {
	control.Control
	Freshness string // fresh, stale or none; "" when the caller may not see evidence
}

type controlsPage struct {
	Filter      controlsFilter
	Rows        []controlRow
	Total       int // controls in the organisation, before filtering
	Statuses    []control.Status
	Members     []account.Member
	Areas       []string
	Back        string // this listing's query string, to come back to after a bulk change
	Errors      formErrors
	New         newControlForm // the add-a-control form, refilled after an error
	Frequencies []control.Frequency
}

// newControlForm is the add-a-control form as submitted.
type newControlForm struct {
	Code, Title, Description, TestProcedure, Frequency, Area, Criteria string
}

func (s *Server) controlsList(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.controlsPageFor(r.Context(), c, r.URL.Query())
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "controls.html", "Controls", "controls", p)
}

// controlsPageFor builds the list for the filter in q.
func (s *Server) controlsPageFor(ctx context.Context, c *call, q url.Values) (controlsPage, error) {
	p := controlsPage{Statuses: control.Statuses, Frequencies: control.Frequencies, New: newControlForm{Frequency: string(control.FrequencyYearly)},
		Filter: controlsFilter{Status: q.Get("status"), Owner: q.Get("owner"), Area: q.Get("area"), Criterion: q.Get("criterion"), Q: q.Get("q")}}
	f := control.Filter{Area: p.Filter.Area, Criterion: p.Filter.Criterion, Query: p.Filter.Q}
	if p.Filter.Status != "" {
		st, err := control.ParseStatus(p.Filter.Status)
		if err != nil {
			return p, err
		}
		f.Status = st
	}
	switch p.Filter.Owner {
	case "", "none":
	case "me":
		f.OwnerID = c.Actor.UserID
	default:
		f.OwnerID = p.Filter.Owner
	}
	all, err := control.List(ctx, s.db.Q(), c.Actor.OrgID, control.Filter{})
	if err != nil {
		return p, err
	}
	p.Total = len(all)
	for _, ct := range all {
		if ct.Area != "" && !slices.Contains(p.Areas, ct.Area) {
			p.Areas = append(p.Areas, ct.Area)
		}
	}
	slices.Sort(p.Areas)
	list := all
	if f != (control.Filter{}) {
		if list, err = control.List(ctx, s.db.Q(), c.Actor.OrgID, f); err != nil {
			return p, err
		}
	}
	var ev map[string]evidence.Summary
	if Allowed(c.Actor.Role, ActEvidenceRead) {
		if ev, err = evidence.Summaries(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
			return p, err
		}
	}
	now := s.db.Now()
	for _, ct := range list {
		if p.Filter.Owner == "none" && ct.OwnerID != "" {
			continue
		}
		row := controlRow{Control: ct}
		if ev != nil {
			row.Freshness = freshness(ct, ev[ct.ID], now)
		}
		p.Rows = append(p.Rows, row)
	}
	if p.Members, err = account.Members(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
		return p, err
	}
	p.Back = url.Values{"status": {p.Filter.Status}, "owner": {p.Filter.Owner}, "area": {p.Filter.Area},
		"criterion": {p.Filter.Criterion}, "q": {p.Filter.Q}}.Encode()
	return p, nil
}

func freshness(ct control.Control, sum evidence.Summary, now time.Time) string {
	switch {
	case sum.Count == 0:
		return freshnessNone
	case evidence.Fresh(ct.Frequency, sum.Newest, now):
		return freshnessFresh
	default:
		return freshnessStale
	}
}

// controlsAssign gives several controls the same owner in one transaction:
// all of them change, or none.
func (s *Server) controlsAssign(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := r.ParseForm(); err != nil {
		return attest.Invalid("body", "is not a valid form")
	}
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	ids, owner := r.PostForm["id"], r.PostFormValue("owner")
	err := func() error {
		switch {
		case len(ids) == 0:
			return attest.Invalid("id", "select at least one control")
		case len(ids) > maxBulk:
			return attest.Invalid("id", fmt.Sprintf("select at most %d controls at once", maxBulk))
		}
		in := controlPatch{Owner: &owner}
		patch, err := s.controlPatchOf(r, c.Actor.OrgID, in)
		if err != nil {
			return err
		}
		return s.inTx(r.Context(), c, func(tx *store.Tx) error {
			for _, id := range ids {
				if _, err := control.Update(r.Context(), tx, c.Actor.OrgID, id, patch); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.controlsPageFor(r.Context(), c, back)
		if perr != nil {
			return perr
		}
		p.Errors = errs
		return s.show(w, r, c, status, "controls.html", "Controls", "controls", p)
	}
	back.Set("done", "assigned")
	return redirect(w, r, "/controls?"+back.Encode())
}

// controlsCreate adds a custom control from the form on the list page.
func (s *Server) controlsCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	form := newControlForm{Code: r.PostFormValue("code"), Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		TestProcedure: r.PostFormValue("test_procedure"), Frequency: r.PostFormValue("frequency"), Area: r.PostFormValue("area"),
		Criteria: r.PostFormValue("criteria")}
	criteria := strings.FieldsFunc(form.Criteria, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
	out, err := s.createControl(r, c, controlInput{Code: form.Code, Title: form.Title, Description: form.Description,
		TestProcedure: form.TestProcedure, Frequency: form.Frequency, Area: form.Area, Criteria: criteria})
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.controlsPageFor(r.Context(), c, url.Values{})
		if perr != nil {
			return perr
		}
		p.Errors, p.New = errs, form
		return s.show(w, r, c, status, "controls.html", "Controls", "controls", p)
	}
	return redirect(w, r, "/controls/"+out.ID+"?done=saved")
}

// --- one control ---

type evidenceRow struct {
	evidence.Item
	Fresh        bool
	SupersededBy string // title of the newer item that replaces this one
}

// controlForm is the owner/status/justification form as submitted.
type controlForm struct {
	Status        string
	Owner         string
	Justification string
}

type noteForm struct {
	Title       string
	Note        string
	EffectiveAt string
	Supersedes  string // id of the item this one replaces, if any
}

type controlPage struct {
	Control  control.Control
	Criteria []framework.Criterion
	Members  []account.Member
	Statuses []control.Status
	FreshFor string // how long evidence stays current, in words
	Today    string // the latest effective date a form accepts
	// ShowEvidence is false for roles that may not read evidence; the
	// evidence fields are then left empty, not just hidden.
	ShowEvidence bool
	Freshness    string
	Evidence     []evidenceRow
	MaxUpload    string

	Form         controlForm
	Errors       formErrors
	Note         noteForm
	NoteErrors   formErrors
	UploadErrors formErrors
}

// controlPageFor loads a control and, for those allowed, its evidence.
func (s *Server) controlPageFor(ctx context.Context, c *call, id string) (controlPage, error) {
	ct, err := control.Get(ctx, s.db.Q(), c.Actor.OrgID, id)
	if err != nil {
		return controlPage{}, err
	}
	fw, err := soc2Framework()
	if err != nil {
		return controlPage{}, err
	}
	now := s.db.Now()
	p := controlPage{Control: ct, Statuses: control.Statuses, Today: now.Format("2006-01-02"),
		FreshFor: fmt.Sprintf("%d days", int(ct.Frequency.FreshFor().Hours()/24)), MaxUpload: humanBytes(s.maxUp),
		Form: controlForm{Status: string(ct.Status), Owner: ct.OwnerID, Justification: ct.Justification}}
	for _, id := range ct.Criteria {
		if cr, ok := fw.Criterion(id); ok {
			p.Criteria = append(p.Criteria, cr)
		}
	}
	if p.Members, err = account.Members(ctx, s.db.Q(), c.Actor.OrgID); err != nil {
		return p, err
	}
	if Allowed(c.Actor.Role, ActEvidenceRead) {
		p.ShowEvidence = true
		items, err := evidence.List(ctx, s.db.Q(), c.Actor.OrgID, ct.ID)
		if err != nil {
			return p, err
		}
		var sum evidence.Summary
		newer := map[string]string{} // superseded id -> title of the item replacing it
		for _, it := range items {
			if it.SupersedesID != "" {
				newer[it.SupersedesID] = it.Title
			}
		}
		for _, it := range items {
			p.Evidence = append(p.Evidence, evidenceRow{Item: it, Fresh: evidence.Fresh(ct.Frequency, it.EffectiveAt, now), SupersededBy: newer[it.ID]})
			sum.Count++
			if it.EffectiveAt.After(sum.Newest) {
				sum.Newest = it.EffectiveAt
			}
		}
		p.Freshness = freshness(ct, sum, now)
	}
	return p, nil
}

func (s *Server) controlDetail(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.controlPageFor(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.showControl(w, r, c, http.StatusOK, p)
}

func (s *Server) showControl(w http.ResponseWriter, r *http.Request, c *call, status int, p controlPage) error {
	return s.show(w, r, c, status, "control.html", p.Control.Code+" "+p.Control.Title, "controls", p)
}

// controlUpdate applies the owner/status/justification form. A
// justification is only sent with "not applicable"; for any other status
// the domain clears it.
func (s *Server) controlUpdate(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	form := controlForm{Status: r.PostFormValue("status"), Owner: r.PostFormValue("owner"), Justification: r.PostFormValue("justification")}
	in := controlPatch{Status: &form.Status, Owner: &form.Owner}
	if form.Status == string(control.StatusNotApplicable) {
		in.Justification = &form.Justification
	}
	err := func() error {
		patch, err := s.controlPatchOf(r, c.Actor.OrgID, in)
		if err != nil {
			return err
		}
		return s.inTx(r.Context(), c, func(tx *store.Tx) error {
			_, err := control.Update(r.Context(), tx, c.Actor.OrgID, id, patch)
			return err
		})
	}()
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.controlPageFor(r.Context(), c, id)
		if perr != nil {
			return perr
		}
		p.Form, p.Errors = form, errs
		return s.showControl(w, r, c, status, p)
	}
	return redirect(w, r, "/controls/"+url.PathEscape(id)+"?done=saved")
}

// evidenceUpload takes the upload form. Its CSRF token travels in the
// action URL (see checkCSRF) so the file streams to the blob store without
// being buffered first.
func (s *Server) evidenceUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	if _, err := s.addEvidenceFile(w, r, c); err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.controlPageFor(r.Context(), c, id)
		if perr != nil {
			return perr
		}
		p.UploadErrors = errs
		return s.showControl(w, r, c, status, p)
	}
	return redirect(w, r, "/controls/"+url.PathEscape(id)+"?done=evidence#evidence")
}

func (s *Server) evidenceNote(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	form := noteForm{Title: r.PostFormValue("title"), Note: r.PostFormValue("note"), EffectiveAt: r.PostFormValue("effective_at"),
		Supersedes: r.PostFormValue("supersedes")}
	err := func() error {
		eff, err := evidence.ParseEffective(form.EffectiveAt)
		if err != nil {
			return err
		}
		return s.inTx(r.Context(), c, func(tx *store.Tx) error {
			_, err := evidence.AddNote(r.Context(), tx, c.Actor.OrgID, id,
				evidence.Meta{Title: strings.TrimSpace(form.Title), Note: form.Note, EffectiveAt: eff, SupersedesID: form.Supersedes})
			return err
		})
	}()
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.controlPageFor(r.Context(), c, id)
		if perr != nil {
			return perr
		}
		p.Note, p.NoteErrors = form, errs
		return s.showControl(w, r, c, status, p)
	}
	return redirect(w, r, "/controls/"+url.PathEscape(id)+"?done=evidence#evidence")
}

func (s *Server) evidenceDownload(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.serveEvidence(w, r, c, r.PathValue("id"))
}
