package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/framework"
	"github.com/attest-hq/attest/readiness"
	"github.com/attest-hq/attest/store"
)

// apiRoutes is the JSON API under /api/v1. Each entry names the action
// its caller must be allowed; the authorization test walks this table.
func (s *Server) apiRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/openapi.json", Action: ActPublic, API: true, Summary: "This OpenAPI document", handle: s.apiOpenAPI},
		{Method: "GET", Pattern: "/api/v1/me", Action: ActSelf, API: true, Summary: "Who the token acts for", Response: meView{}, handle: s.apiMe},
		{Method: "POST", Pattern: "/api/v1/tokens", Action: ActSelf, API: true, Summary: "Create an API token for yourself (shown once)", Request: tokenInput{}, Response: tokenView{}, handle: s.apiCreateToken},
		{Method: "GET", Pattern: "/api/v1/tokens", Action: ActSelf, API: true, Summary: "Your API tokens (never their secrets)", Response: List[account.TokenInfo]{}, handle: s.apiTokens},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Action: ActSelf, API: true, Summary: "Revoke one of your API tokens", handle: s.apiRevokeToken},
		{Method: "GET", Pattern: "/api/v1/org", Action: ActSelf, API: true, Summary: "The organisation and its scope", Response: account.Org{}, handle: s.apiGetOrg},
		{Method: "PATCH", Pattern: "/api/v1/org", Action: ActOrgManage, API: true, Summary: "Change scope or the TOTP requirement", Request: orgPatch{}, Response: account.Org{}, handle: s.apiPatchOrg},
		{Method: "GET", Pattern: "/api/v1/members", Action: ActMemberRead, API: true, Summary: "Members and their roles", Response: List[memberView]{}, handle: s.apiMembers},
		{Method: "POST", Pattern: "/api/v1/members", Action: ActMemberManage, API: true, Summary: "Add a member (a new user gets a one-time password)", Request: memberInput{}, Response: memberView{}, handle: s.apiAddMember},
		{Method: "PATCH", Pattern: "/api/v1/members/{id}", Action: ActMemberManage, API: true, Summary: "Change a member's role", Request: rolePatch{}, Response: memberView{}, handle: s.apiPatchMember},
		{Method: "DELETE", Pattern: "/api/v1/members/{id}", Action: ActMemberManage, API: true, Summary: "Remove a member: their sessions and tokens here end", handle: s.apiRemoveMember},
		{Method: "GET", Pattern: "/api/v1/frameworks", Action: ActFrameworkRead, API: true, Summary: "Frameworks in the catalog", Response: List[frameworkView]{}, handle: s.apiFrameworks},
		{Method: "GET", Pattern: "/api/v1/frameworks/{id}/criteria", Action: ActFrameworkRead, API: true, Summary: "Criteria of a framework", Response: List[framework.Criterion]{}, handle: s.apiCriteria},
		{Method: "GET", Pattern: "/api/v1/controls", Action: ActControlRead, API: true, Summary: "Controls (filters: status, owner (email, id or me), area, criterion, q)", Response: List[controlView]{}, handle: s.apiControls},
		{Method: "POST", Pattern: "/api/v1/controls", Action: ActControlManage, API: true, Summary: "Create a custom control", Request: controlInput{}, Response: controlView{}, handle: s.apiCreateControl},
		{Method: "GET", Pattern: "/api/v1/controls/{id}", Action: ActControlRead, API: true, Summary: "One control", Response: controlView{}, handle: s.apiControl},
		{Method: "PATCH", Pattern: "/api/v1/controls/{id}", Action: ActControlWrite, API: true, Summary: "Change status, owner, justification and more", Request: controlPatch{}, Response: controlView{}, handle: s.apiPatchControl},
		{Method: "GET", Pattern: "/api/v1/controls/{id}/evidence", Action: ActEvidenceRead, API: true, Summary: "Evidence of a control, newest first", Response: List[evidence.Item]{}, handle: s.apiEvidenceList},
		{Method: "POST", Pattern: "/api/v1/controls/{id}/evidence", Action: ActEvidenceWrite, API: true, Summary: "Add evidence: a multipart file (field file) or a JSON note", Request: noteInput{}, Response: evidence.Item{}, handle: s.apiAddEvidence},
		{Method: "GET", Pattern: "/api/v1/evidence/{id}", Action: ActEvidenceRead, API: true, Summary: "One evidence item", Response: evidence.Item{}, handle: s.apiEvidence},
		{Method: "GET", Pattern: "/api/v1/evidence/{id}/content", Action: ActEvidenceRead, API: true, Summary: "The original bytes of an evidence item", handle: s.apiEvidenceContent},
		{Method: "GET", Pattern: "/api/v1/readiness", Action: ActControlRead, API: true, Summary: "Readiness overall, per category and per criterion, explained", Response: control.Readiness{}, handle: s.apiReadiness},
		{Method: "GET", Pattern: "/api/v1/readiness/history", Action: ActControlRead, API: true, Summary: "One readiness reading per day, oldest first (days: how far back, default 90)", Response: List[readiness.Snapshot]{}, handle: s.apiReadinessHistory},
		{Method: "GET", Pattern: "/api/v1/audit-log", Action: ActAuditLogRead, API: true, Summary: "Audit-log entries, newest first (cursor: next_cursor)", Response: List[auditView]{}, handle: s.apiAuditLog},
	}
}

type meView struct {
	ID    string       `json:"id"`
	Email string       `json:"email"`
	Org   attest.OrgID `json:"org"`
	Role  attest.Role  `json:"role"`
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, c *call) error {
	return writeJSON(w, 200, meView{ID: c.Actor.UserID, Email: c.Actor.Email, Org: c.Actor.OrgID, Role: c.Actor.Role})
}

type tokenInput struct {
	Name string `json:"name"`
}

type tokenView struct {
	account.Token
	Secret string `json:"token"` // shown only in this response
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request, c *call) error {
	var in tokenInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if len(in.Name) > 100 {
		return attest.Invalid("name", "must be at most 100 characters")
	}
	var out tokenView
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		secret, t, err := account.CreateToken(r.Context(), tx, c.Actor.OrgID, c.Actor.UserID, in.Name)
		out = tokenView{Token: t, Secret: secret}
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := account.Tokens(r.Context(), s.db.Q(), c.Actor.OrgID, c.Actor.UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, listOf(ts, ""))
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		return account.RevokeToken(r.Context(), tx, c.Actor.OrgID, c.Actor.UserID, r.PathValue("id"))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiRemoveMember(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.removeMember(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiGetOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := account.GetOrg(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, o)
}

type orgPatch struct {
	Scope       *[]string `json:"scope"`
	RequireTOTP *bool     `json:"require_totp"`
}

func (s *Server) apiPatchOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	var in orgPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var out account.Org
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		cur, err := account.GetOrg(r.Context(), tx, c.Actor.OrgID)
		if err != nil {
			return err
		}
		scope, totp := cur.Scope, cur.RequireTOTP
		if in.Scope != nil {
			scope = *in.Scope
		}
		if in.RequireTOTP != nil {
			totp = *in.RequireTOTP
		}
		out, err = account.UpdateOrgSettings(r.Context(), tx, c.Actor.OrgID, scope, totp)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, 200, out)
}

type memberView struct {
	ID          string      `json:"id"`
	Email       string      `json:"email"`
	Role        attest.Role `json:"role"`
	TOTPEnabled bool        `json:"totp_enabled"`
	Password    string      `json:"one_time_password,omitempty"` // only when a new user was created
}

func viewMember(m account.Member) memberView {
	return memberView{ID: m.ID, Email: m.Email, Role: m.Role, TOTPEnabled: m.TOTPEnabled}
}

func (s *Server) apiMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	ms, err := account.Members(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return err
	}
	out := make([]memberView, len(ms))
	for i, m := range ms {
		out[i] = viewMember(m)
	}
	return writeJSON(w, 200, listOf(out, ""))
}

type memberInput struct {
	Email string      `json:"email"`
	Role  attest.Role `json:"role"`
}

// onlyOwnersMakeOwners keeps an admin from raising anyone, themselves
// included, to owner.
func onlyOwnersMakeOwners(c *call, role attest.Role) error {
	if role == attest.RoleOwner && c.Actor.Role != attest.RoleOwner {
		return attest.Forbidden("only an owner can make someone an owner")
	}
	return nil
}

func (s *Server) apiAddMember(w http.ResponseWriter, r *http.Request, c *call) error {
	var in memberInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := onlyOwnersMakeOwners(c, in.Role); err != nil {
		return err
	}
	var out memberView
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		m, pw, err := account.AddMember(r.Context(), tx, c.Actor.OrgID, in.Email, in.Role)
		out = viewMember(m)
		out.Password = pw
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

type rolePatch struct {
	Role attest.Role `json:"role"`
}

func (s *Server) apiPatchMember(w http.ResponseWriter, r *http.Request, c *call) error {
	var in rolePatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := s.changeRole(r.Context(), c, r.PathValue("id"), in.Role)
	if err != nil {
		return err
	}
	return writeJSON(w, 200, viewMember(m))
}

// changeRole is the one path for role changes (API and pages): only an
// owner may make an owner or change an owner's role.
func (s *Server) changeRole(ctx context.Context, c *call, userID string, role attest.Role) (account.Member, error) {
	if err := onlyOwnersMakeOwners(c, role); err != nil {
		return account.Member{}, err
	}
	var out account.Member
	err := s.inTx(ctx, c, func(tx *store.Tx) error {
		cur, err := account.MemberByID(ctx, tx, c.Actor.OrgID, userID)
		if err != nil {
			return err
		}
		if err := onlyOwnersMakeOwners(c, cur.Role); err != nil {
			return attest.Forbidden("only an owner can change an owner's role")
		}
		out, err = account.SetRole(ctx, tx, c.Actor.OrgID, cur.ID, role)
		return err
	})
	return out, err
}

// removeMember is the one path for removals (API and pages).
func (s *Server) removeMember(ctx context.Context, c *call, userID string) error {
	return s.inTx(ctx, c, func(tx *store.Tx) error {
		m, err := account.MemberByID(ctx, tx, c.Actor.OrgID, userID)
		if err != nil {
			return err
		}
		if err := onlyOwnersMakeOwners(c, m.Role); err != nil {
			return attest.Forbidden("only an owner can remove an owner")
		}
		return account.RemoveMember(ctx, tx, c.Actor.OrgID, m.ID)
	})
}

type frameworkView struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Version    string               `json:"version"`
	Categories []framework.Category `json:"categories"`
	Criteria   int                  `json:"criteria"`
}

func (s *Server) apiFrameworks(w http.ResponseWriter, r *http.Request, c *call) error {
	cat, err := framework.Builtin()
	if err != nil {
		return err
	}
	var out []frameworkView
	for _, f := range cat.Frameworks() {
		out = append(out, frameworkView{ID: f.ID, Name: f.Name, Version: f.Version, Categories: f.Categories, Criteria: len(f.Criteria)})
	}
	return writeJSON(w, 200, listOf(out, ""))
}

func (s *Server) apiCriteria(w http.ResponseWriter, r *http.Request, c *call) error {
	cat, err := framework.Builtin()
	if err != nil {
		return err
	}
	f, ok := cat.Framework(r.PathValue("id"))
	if !ok {
		return attest.NotFound("framework " + r.PathValue("id"))
	}
	return writeJSON(w, 200, listOf(f.Criteria, ""))
}

type controlView struct {
	ID            string            `json:"id"`
	Code          string            `json:"code"`
	Title         string            `json:"title"`
	Description   string            `json:"description"`
	TestProcedure string            `json:"test_procedure"`
	Evidence      []string          `json:"typical_evidence"`
	OwnerRole     string            `json:"owner_role"`
	Frequency     control.Frequency `json:"frequency"`
	Area          string            `json:"area"`
	Status        control.Status    `json:"status"`
	Owner         string            `json:"owner"`    // owner's email, "" when unassigned
	OwnerID       string            `json:"owner_id"` // owner's user id
	Justification string            `json:"justification"`
	Criteria      []string          `json:"criteria"`
	Custom        bool              `json:"custom"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

func viewControl(c control.Control) controlView {
	return controlView{ID: c.ID, Code: c.Code, Title: c.Title, Description: c.Description, TestProcedure: c.TestProcedure,
		Evidence: c.Evidence, OwnerRole: c.OwnerRole, Frequency: c.Frequency, Area: c.Area, Status: c.Status,
		Owner: c.OwnerEmail, OwnerID: c.OwnerID, Justification: c.Justification, Criteria: c.Criteria, Custom: c.Custom, UpdatedAt: c.UpdatedAt}
}

// controlFilter reads list filters from the query string; owner accepts
// an email or a user id.
func (s *Server) controlFilter(r *http.Request, c *call) (control.Filter, error) {
	org := c.Actor.OrgID
	q := r.URL.Query()
	f := control.Filter{Area: q.Get("area"), Criterion: q.Get("criterion"), Query: q.Get("q")}
	if st := q.Get("status"); st != "" {
		parsed, err := control.ParseStatus(st)
		if err != nil {
			return f, err
		}
		f.Status = parsed
	}
	if owner := q.Get("owner"); owner == "me" {
		f.OwnerID = c.Actor.UserID
	} else if owner != "" {
		id, err := s.resolveOwner(r, org, owner)
		if err != nil {
			return f, err
		}
		f.OwnerID = id
	}
	return f, nil
}

// resolveOptionalOwner is resolveOwner where "" means no owner.
func (s *Server) resolveOptionalOwner(r *http.Request, org attest.OrgID, owner string) (string, error) {
	if owner == "" {
		return "", nil
	}
	return s.resolveOwner(r, org, owner)
}

// resolveOwner turns an email or id into the id of a member of org.
func (s *Server) resolveOwner(r *http.Request, org attest.OrgID, owner string) (string, error) {
	if !strings.Contains(owner, "@") {
		return owner, nil
	}
	u, err := account.UserByEmail(r.Context(), s.db.Q(), owner)
	if err != nil {
		return "", attest.Invalid("owner", "no member has this email")
	}
	if _, err := account.Membership(r.Context(), s.db.Q(), org, u.ID); err != nil {
		return "", attest.Invalid("owner", "no member has this email")
	}
	return u.ID, nil
}

func (s *Server) apiControls(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := s.controlFilter(r, c)
	if err != nil {
		return err
	}
	cs, err := control.List(r.Context(), s.db.Q(), c.Actor.OrgID, f)
	if err != nil {
		return err
	}
	out := make([]controlView, len(cs))
	for i, ct := range cs {
		out[i] = viewControl(ct)
	}
	return writeJSON(w, 200, listOf(out, ""))
}

func (s *Server) apiControl(w http.ResponseWriter, r *http.Request, c *call) error {
	ct, err := control.Get(r.Context(), s.db.Q(), c.Actor.OrgID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, 200, viewControl(ct))
}

type controlInput struct {
	Code          string   `json:"code"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	TestProcedure string   `json:"test_procedure"`
	Evidence      []string `json:"typical_evidence"`
	OwnerRole     string   `json:"owner_role"`
	Frequency     string   `json:"frequency"`
	Area          string   `json:"area"`
	Status        string   `json:"status"`
	Owner         string   `json:"owner"`
	Justification string   `json:"justification"`
	Criteria      []string `json:"criteria"`
}

func (s *Server) apiCreateControl(w http.ResponseWriter, r *http.Request, c *call) error {
	var in controlInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	out, err := s.createControl(r, c, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, viewControl(out))
}

// createControl is the one path for custom controls (API and pages).
func (s *Server) createControl(r *http.Request, c *call, in controlInput) (control.Control, error) {
	ct := control.Control{Code: in.Code, Title: in.Title, Description: in.Description, TestProcedure: in.TestProcedure,
		Evidence: in.Evidence, OwnerRole: in.OwnerRole, Frequency: control.Frequency(in.Frequency), Area: in.Area,
		Status: control.Status(in.Status), Justification: in.Justification, Criteria: in.Criteria}
	if in.Owner != "" {
		id, err := s.resolveOwner(r, c.Actor.OrgID, in.Owner)
		if err != nil {
			return control.Control{}, err
		}
		ct.OwnerID = id
	}
	var out control.Control
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		out, err = control.Create(r.Context(), tx, c.Actor.OrgID, ct)
		return err
	})
	return out, err
}

type controlPatch struct {
	Status        *string   `json:"status"`
	Owner         *string   `json:"owner"` // email or user id; "" clears
	Justification *string   `json:"justification"`
	Title         *string   `json:"title"`
	Description   *string   `json:"description"`
	TestProcedure *string   `json:"test_procedure"`
	Frequency     *string   `json:"frequency"`
	Criteria      *[]string `json:"criteria"`
}

func (s *Server) apiPatchControl(w http.ResponseWriter, r *http.Request, c *call) error {
	var in controlPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := s.controlPatchOf(r, c.Actor.OrgID, in)
	if err != nil {
		return err
	}
	var out control.Control
	err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
		out, err = control.Update(r.Context(), tx, c.Actor.OrgID, r.PathValue("id"), p)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, 200, viewControl(out))
}

// controlPatchOf validates the wire form of a patch; the UI's forms build
// the same controlPatch so both paths share one validation.
func (s *Server) controlPatchOf(r *http.Request, org attest.OrgID, in controlPatch) (control.Patch, error) {
	p := control.Patch{Justification: in.Justification, Title: in.Title, Description: in.Description,
		TestProcedure: in.TestProcedure, Criteria: in.Criteria}
	if in.Status != nil {
		st, err := control.ParseStatus(*in.Status)
		if err != nil {
			return p, err
		}
		p.Status = &st
	}
	if in.Frequency != nil {
		f, err := control.ParseFrequency(*in.Frequency)
		if err != nil {
			return p, err
		}
		p.Frequency = &f
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

type auditView struct {
	Seq        int64     `json:"seq"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Via        string    `json:"via"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   string    `json:"target_id"`
	Before     any       `json:"before"`
	After      any       `json:"after"`
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

func (s *Server) apiAuditLog(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	entries, next, err := auditlog.List(r.Context(), s.db.Q(), c.Actor.OrgID, f)
	if err != nil {
		return err
	}
	out := make([]auditView, len(entries))
	for i, e := range entries {
		out[i] = auditView{Seq: e.Seq, At: e.At, Actor: e.Actor, Via: e.Via, Action: e.Action, TargetType: e.TargetType,
			TargetID: e.TargetID, Before: rawJSON(e.Before), After: rawJSON(e.After), PrevHash: e.PrevHash, Hash: e.Hash}
	}
	return writeJSON(w, 200, listOf(out, next))
}

// parseDays reads a look-back window in days.
func parseDays(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 3660 {
		return 0, attest.Invalid("days", "must be a whole number of days between 1 and 3660")
	}
	return n, nil
}
