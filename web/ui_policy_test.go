package web

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

var policyPath = regexp.MustCompile(`^/policies/(pol_[a-z0-9]+)\?done=created$`)

// TestUIPolicyPages walks the policy pages through the real mux: a manager
// creates a policy from a template, it is reviewed, approved by someone
// else and published; a member reads and accepts it; the diff, exports
// and bad input behave.
func TestUIPolicyPages(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db)
		org, _ := e.seedOrg("Acme", "owner@acme.test", testPassword)
		e.addUser(org, "admin@acme.test", attest.RoleAdmin, testPassword)
		e.addUser(org, "member@acme.test", attest.RoleMember, testPassword)
		e.addUser(org, "auditor@acme.test", attest.RoleAuditor, testPassword)

		owner := e.browser()
		owner.login("owner@acme.test", testPassword)
		p := owner.get("/policies")
		p.want(t, 200, "policies-table", "policy-new-form", "policies-empty", "nav-policies")

		// Bad input stays on the page with the reason.
		p = owner.submit("/policies", "/policies", url.Values{"template_id": {""}, "title": {"  "}})
		p.want(t, 400, "form-error")
		if !strings.Contains(p.Body, "is required") {
			t.Fatalf("empty title: %s", excerpt(p.Body))
		}
		p = owner.submit("/policies", "/policies", url.Values{"template_id": {"no-such-policy"}})
		p.want(t, 400, "form-error")

		p = owner.submit("/policies", "/policies", url.Values{"template_id": {"access-control"}})
		m := policyPath.FindStringSubmatch(p.Location)
		if p.Status != 303 || m == nil {
			t.Fatalf("create: %d to %q\n%s", p.Status, p.Location, excerpt(p.Body))
		}
		id, page := m[1], "/policies/"+m[1]
		p = owner.get(p.Location)
		p.want(t, 200, "policy-title", "policy-workflow", "policy-submit", "policy-text", "policy-edit-form", "policy-notice", "policy-versions")
		if p.hook("policy-title") != "Access Control Policy" || !strings.Contains(p.Body, "People at Acme get the access") {
			t.Fatalf("detail page: %q\n%s", p.hook("policy-title"), excerpt(p.Body))
		}

		// Publishing before approval is refused with the reason shown.
		p = owner.submit(page, page+"/publish", url.Values{})
		p.want(t, 409, "form-error")
		if !strings.Contains(p.Body, "has not been approved") {
			t.Fatalf("publish without approval: %s", excerpt(p.Body))
		}
		p = owner.submit(page, page+"/submit", url.Values{})
		if p.Status != 303 {
			t.Fatalf("submit: %d %s", p.Status, excerpt(p.Body))
		}
		owner.get(page).want(t, 200, "policy-approve")
		p = owner.submit(page, page+"/approve", url.Values{})
		p.want(t, 409, "form-error")
		if !strings.Contains(p.Body, "another owner or admin must approve") {
			t.Fatalf("self-approval: %s", excerpt(p.Body))
		}
		admin := e.browser()
		admin.login("admin@acme.test", testPassword)
		if p = admin.submit(page, page+"/approve", url.Values{}); p.Status != 303 {
			t.Fatalf("approve: %d %s", p.Status, excerpt(p.Body))
		}
		admin.get(page).want(t, 200, "policy-publish")
		if p = admin.submit(page, page+"/publish", url.Values{}); p.Status != 303 {
			t.Fatalf("publish: %d %s", p.Status, excerpt(p.Body))
		}
		p = owner.get(page)
		p.want(t, 200, "policy-acks", "ack-pending", "policy-ack-progress", "acks-csv", "policy-must-accept")
		if !strings.Contains(p.Body, `aria-label="0 of 3 accepted"`) {
			t.Fatalf("progress bar: %s", excerpt(p.Body))
		}
		p = owner.get("/policies")
		p.want(t, 200, "policy-row", "policy-progress", "policies-to-accept-banner")
		if !strings.Contains(p.Body, "<svg") {
			t.Fatal("no acknowledgement bar in the list")
		}

		// The member reads and accepts.
		member := e.browser()
		member.login("member@acme.test", testPassword)
		member.get("/policies").want(t, 200, "policies-to-accept-banner")
		p = member.get("/policies/accept")
		p.want(t, 200, "policies-to-accept", "accept-policy", "policy-to-accept")
		if p.hook("policies-to-accept") != "1 policy to accept" {
			t.Fatalf("heading %q", p.hook("policies-to-accept"))
		}
		if member.get(page).hasHook("policy-workflow") {
			t.Fatal("a member sees the workflow buttons")
		}
		versionID := regexp.MustCompile(`name="version_id" value="([^"]+)"`).FindStringSubmatch(p.Body)[1]
		p = member.submit("/policies/accept", page+"/accept", url.Values{"version_id": {versionID}})
		if p.Status != 303 || p.Location != "/policies/accept?done=accepted" {
			t.Fatalf("accept: %d %q %s", p.Status, p.Location, excerpt(p.Body))
		}
		p = member.get(p.Location)
		p.want(t, 200, "nothing-to-accept", "policy-notice")
		if p.hook("policies-to-accept") != "0 policies to accept" {
			t.Fatalf("after accepting: %q", p.hook("policies-to-accept"))
		}
		if member.submit("/policies", "/policies", url.Values{"title": {"Mine"}}).Status != 403 {
			t.Fatal("a member created a policy")
		}

		// An auditor reads but has nothing to accept.
		auditor := e.browser()
		auditor.login("auditor@acme.test", testPassword)
		if p = auditor.get("/policies"); p.Status != 200 || p.hasHook("policies-to-accept-banner") {
			t.Fatalf("auditor list: %d", p.Status)
		}
		if auditor.get("/policies/accept").Status != 403 {
			t.Fatal("an auditor reached the acceptance page")
		}
		csv := auditor.get(page + "/acknowledgements.csv")
		if csv.Status != 200 || !strings.Contains(csv.Body, "member@acme.test") {
			t.Fatalf("acknowledgements CSV: %d %s", csv.Status, csv.Body)
		}
		pdf := auditor.get("/policies/export?format=pdf")
		if pdf.Status != 200 || !strings.HasPrefix(pdf.Body, "%PDF-") {
			t.Fatalf("export: %d", pdf.Status)
		}

		// Editing the published policy starts version 2; the diff shows it.
		form := url.Values{"title": {"Access Control Policy"}, "content": {"# Access Control Policy\n\nShorter text.\n"}, "owner": {""}}
		if p = owner.submit(page, page, form); p.Status != 303 {
			t.Fatalf("edit: %d %s", p.Status, excerpt(p.Body))
		}
		p = owner.get(page)
		p.want(t, 200, "policy-submit", "policy-diff-working")
		p = owner.get(page + "/diff?from=1&to=2")
		p.want(t, 200, "diff", "diff-add", "diff-delete", "diff-stats")
		owner.get(page+"/diff?from=x").want(t, 400)
		big := url.Values{"title": {"T"}, "content": {strings.Repeat("x", 256<<10+1)}}
		owner.submit(page, page, big).want(t, 413, "form-error")

		// Text people type is shown as text.
		p = owner.submit("/policies", "/policies", url.Values{"title": {"<script>alert(1)</script>"}})
		if p.Status != 303 {
			t.Fatalf("create blank: %d %s", p.Status, excerpt(p.Body))
		}
		p = owner.get(strings.TrimSuffix(p.Location, "?done=created"))
		if strings.Contains(p.Body, "<script>alert(1)") || !strings.Contains(p.Body, "&lt;script&gt;") {
			t.Fatalf("title not escaped: %s", excerpt(p.Body))
		}
		_ = id
	})
}
