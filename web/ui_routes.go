package web

import (
	"net/http"
	"strings"

	attest "github.com/attest-hq/attest"
)

// uiRoutes is the server-rendered UI. Pages take sessions; forms carry
// the session's CSRF token. Reading and changing are separate routes so
// that each names the action it needs. Pages behind a login are gated:
// a one-time password must be replaced, and a required authenticator
// enrolled, before anything else opens.
func (s *Server) uiRoutes() []Route {
	g := s.gated
	return []Route{
		{Method: "GET", Pattern: "/setup", Action: ActPublic, Summary: "First-run set-up (only while no organisation exists)", handle: s.setupForm},
		{Method: "POST", Pattern: "/setup", Action: ActPublic, Summary: "Create the organisation and its owner", handle: s.setupSubmit},
		{Method: "GET", Pattern: "/login", Action: ActPublic, Summary: "Log-in form", handle: s.loginForm},
		{Method: "POST", Pattern: "/login", Action: ActPublic, Summary: "Log in with email and password", handle: s.loginSubmit},
		{Method: "GET", Pattern: "/login/totp", Action: ActPublic, Summary: "Authenticator code form", handle: s.totpLoginForm},
		{Method: "POST", Pattern: "/login/totp", Action: ActPublic, Summary: "Finish logging in with an authenticator code", handle: s.totpLoginSubmit},
		{Method: "POST", Pattern: "/logout", Action: ActPublic, Summary: "Log out (also ends a half-finished login)", handle: s.logout},
		{Method: "GET", Pattern: "/account/password", Action: ActSelf, Summary: "Change your password", handle: g(s.passwordForm)},
		{Method: "POST", Pattern: "/account/password", Action: ActSelf, Summary: "Set a new password", handle: g(s.passwordSubmit)},
		{Method: "GET", Pattern: "/account/totp", Action: ActSelf, Summary: "Your authenticator", handle: g(s.totpForm)},
		{Method: "POST", Pattern: "/account/totp/begin", Action: ActSelf, Summary: "Generate an authenticator secret", handle: g(s.totpBegin)},
		{Method: "POST", Pattern: "/account/totp/confirm", Action: ActSelf, Summary: "Confirm the authenticator with a code", handle: g(s.totpConfirm)},

		{Method: "GET", Pattern: "/{$}", Action: ActControlRead, Summary: "Dashboard: readiness and what to do next", handle: g(s.dashboard)},
		{Method: "GET", Pattern: "/settings", Action: ActSelf, Summary: "Scope and settings", handle: g(s.settingsForm)},
		{Method: "POST", Pattern: "/settings", Action: ActOrgManage, Summary: "Change scope and the TOTP requirement", handle: g(s.settingsSubmit)},
		{Method: "GET", Pattern: "/criteria", Action: ActControlRead, Summary: "Criteria with their readiness", handle: g(s.criteriaList)},
		{Method: "GET", Pattern: "/criteria/{id}", Action: ActControlRead, Summary: "One criterion and its controls", handle: g(s.criterionDetail)},
		{Method: "GET", Pattern: "/controls", Action: ActControlRead, Summary: "Controls, filtered", handle: g(s.controlsList)},
		{Method: "POST", Pattern: "/controls/new", Action: ActControlManage, Summary: "Add a custom control", handle: g(s.controlsCreate)},
		{Method: "POST", Pattern: "/controls/assign", Action: ActControlWrite, Summary: "Give several controls one owner", handle: g(s.controlsAssign)},
		{Method: "GET", Pattern: "/controls/{id}", Action: ActControlRead, Summary: "One control", handle: g(s.controlDetail)},
		{Method: "POST", Pattern: "/controls/{id}", Action: ActControlWrite, Summary: "Set a control's owner, status and justification", handle: g(s.controlUpdate)},
		{Method: "POST", Pattern: "/controls/{id}/evidence", Action: ActEvidenceWrite, Summary: "Upload a file as evidence", handle: g(s.evidenceUpload)},
		{Method: "POST", Pattern: "/controls/{id}/notes", Action: ActEvidenceWrite, Summary: "Write a note as evidence", handle: g(s.evidenceNote)},
		{Method: "GET", Pattern: "/evidence/{id}/download", Action: ActEvidenceRead, Summary: "Download an evidence item", handle: g(s.evidenceDownload)},
		{Method: "GET", Pattern: "/audit-log", Action: ActAuditLogRead, Summary: "The audit log, newest first", handle: g(s.auditLogPage)},
		{Method: "POST", Pattern: "/orgs", Action: ActOrgCreate, Summary: "Create another organisation and switch to it", handle: g(s.createOrg)},
		{Method: "POST", Pattern: "/account/org", Action: ActSelf, Summary: "Switch to another of your organisations", handle: g(s.switchOrg)},
		{Method: "GET", Pattern: "/summary", Action: ActControlRead, Summary: "The one-page summary for executives", handle: g(s.summary)},
		{Method: "GET", Pattern: "/members", Action: ActMemberRead, Summary: "People and their roles", handle: g(s.membersList)},
		{Method: "POST", Pattern: "/members", Action: ActMemberManage, Summary: "Add a member", handle: g(s.memberAdd)},
		{Method: "POST", Pattern: "/members/{id}/role", Action: ActMemberManage, Summary: "Change a member's role", handle: g(s.memberRole)},
		{Method: "POST", Pattern: "/members/{id}/remove", Action: ActMemberManage, Summary: "Remove a member", handle: g(s.memberRemove)},

		// Anything else is a page that does not exist, shown as one (to
		// those logged in; others are asked to log in first, so the answer
		// does not tell strangers which pages exist).
		{Method: "GET", Pattern: "/", Action: ActPublic, Summary: "Page not found", handle: s.notFound},
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, c *call) error {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		s.writeProblem(w, r, attest.NotFound("route "+r.URL.Path))
		return nil
	case c.Session == nil || c.Session.MFAPending:
		return attest.Unauthenticated("log in to continue")
	}
	return attest.NotFound("page")
}
