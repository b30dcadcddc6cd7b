package web

import (
	"net/http"
	"slices"

	attest "github.com/attest-hq/attest"
)

// Action names what a route does, so that permissions live in one table
// instead of inside handlers.
type Action string

// The actions routes need.
const (
	ActPublic         Action = "public"          // no login (health, set-up, login pages)
	ActSelf           Action = "self"            // any logged-in member, on their own account
	ActFrameworkRead  Action = "framework.read"  // criteria catalog
	ActControlRead    Action = "control.read"    // controls and readiness
	ActControlWrite   Action = "control.write"   // status, owner, justification
	ActControlManage  Action = "control.manage"  // create controls
	ActEvidenceRead   Action = "evidence.read"   // evidence lists and content
	ActEvidenceWrite  Action = "evidence.write"  // add evidence
	ActAuditLogRead   Action = "auditlog.read"   // the audit log
	ActMemberRead     Action = "member.read"     // who is in the org
	ActMemberManage   Action = "member.manage"   // invite, change roles
	ActOrgManage      Action = "org.manage"      // scope, TOTP requirement
	ActOrgCreate      Action = "org.create"      // add another organisation (a consultant's next client)
	ActDetectIngest   Action = "detect.ingest"   // send log events
	ActAlertRead      Action = "alert.read"      // see alerts
	ActAlertTriage    Action = "alert.triage"    // acknowledge, resolve alerts
	ActPolicyRead     Action = "policy.read"     // policies, versions, acknowledgement status
	ActPolicyManage   Action = "policy.manage"   // write, review, approve, publish policies
	ActPolicyAck      Action = "policy.ack"      // accept the current version yourself
	ActPeopleRead     Action = "people.read"     // roster, checklists, training
	ActPeopleManage   Action = "people.manage"   // add, import, on/offboard people
	ActRegisterRead   Action = "register.read"   // vendors, risks, incidents
	ActRegisterManage Action = "register.manage" // change vendors, risks, incidents
	ActTaskRead       Action = "task.read"       // the calendar and tasks
	ActTaskComplete   Action = "task.complete"   // complete a task
	ActTaskManage     Action = "task.manage"     // recurrence rules, reminder channels
	ActPrivacyRead    Action = "privacy.read"    // personal data inventories (types, counts, locations)
	ActPrivacyRecord  Action = "privacy.record"  // upload an inventory and file it as evidence
)

// permissions is the whole authorization policy: which roles may perform
// each action. Anything not listed is denied.
var permissions = map[Action][]attest.Role{
	ActSelf:           attest.Roles,
	ActFrameworkRead:  attest.Roles,
	ActControlRead:    attest.Roles,
	ActControlWrite:   {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember},
	ActControlManage:  {attest.RoleOwner, attest.RoleAdmin},
	ActEvidenceRead:   {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleAuditor},
	ActEvidenceWrite:  {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember},
	ActAuditLogRead:   {attest.RoleOwner, attest.RoleAdmin, attest.RoleAuditor},
	ActMemberRead:     {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleAuditor},
	ActMemberManage:   {attest.RoleOwner, attest.RoleAdmin},
	ActOrgManage:      {attest.RoleOwner, attest.RoleAdmin},
	ActOrgCreate:      {attest.RoleOwner},
	ActDetectIngest:   {attest.RoleOwner, attest.RoleAdmin},
	ActAlertRead:      {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleAuditor},
	ActAlertTriage:    {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember},
	ActPolicyRead:     attest.Roles,
	ActPolicyManage:   {attest.RoleOwner, attest.RoleAdmin},
	ActPolicyAck:      {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleViewer},
	ActPeopleRead:     {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleAuditor},
	ActPeopleManage:   {attest.RoleOwner, attest.RoleAdmin},
	ActRegisterRead:   {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleAuditor, attest.RoleViewer},
	ActRegisterManage: {attest.RoleOwner, attest.RoleAdmin},
	ActTaskRead:       {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleAuditor, attest.RoleViewer},
	ActTaskComplete:   {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember},
	ActTaskManage:     {attest.RoleOwner, attest.RoleAdmin},
	ActPrivacyRead:    {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleAuditor},
	ActPrivacyRecord:  {attest.RoleOwner, attest.RoleAdmin, attest.RoleMember},
}

// Allowed reports whether role may perform action.
func Allowed(role attest.Role, action Action) bool {
	return slices.Contains(permissions[action], role)
}

// handlerFunc is what every route implements; errors become responses in
// one place (problem+json for the API, an error page for the UI).
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// Route is one entry of the route table.
type Route struct {
	Method  string
	Pattern string // net/http pattern without the method, e.g. "/api/v1/controls/{id}"
	Action  Action
	API     bool // JSON API with bearer tokens; otherwise a UI page with sessions
	Summary string
	// For the OpenAPI document: the Go values whose shapes describe the
	// request and response bodies (nil when there is none).
	Request  any
	Response any
	handle   handlerFunc
}

// Routes returns the route table, for the OpenAPI document and the
// authorization test.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }
