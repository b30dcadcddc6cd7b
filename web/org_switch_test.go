package web_test

import (
	"net/url"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

// A consultant belongs to several client orgs and switches between them;
// the session then sees only the chosen org, with the role held there.
func TestSwitchOrg(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		testutil.Member(t, db, w.other.OrgID, "admin@acme.example", attest.RoleAuditor)
		_, page := w.page(attest.RoleAdmin, "GET", "/", url.Values{})
		if !strings.Contains(string(page), `data-test-id="org-switch"`) {
			t.Fatal("no org switcher for a user of two orgs")
		}
		// Not a member of the target: 404, and the session stays put.
		if resp, _ := w.page(attest.RoleMember, "POST", "/account/org", url.Values{"org": {string(w.other.OrgID)}}); resp.StatusCode != 404 {
			t.Fatalf("switch to a foreign org: %d", resp.StatusCode)
		}
		resp, _ := w.page(attest.RoleAdmin, "POST", "/account/org", url.Values{"org": {string(w.other.OrgID)}})
		if resp.StatusCode != 303 {
			t.Fatalf("switch: %d", resp.StatusCode)
		}
		_, page = w.page(attest.RoleAdmin, "GET", "/controls", url.Values{})
		if !strings.Contains(string(page), "OTH-1") || strings.Contains(string(page), "AC-01") {
			t.Fatal("after switching, the controls page does not show only the other org's controls")
		}
		// There the user is an auditor: changing a control is refused.
		if resp, _ := w.page(attest.RoleAdmin, "POST", "/controls/"+w.otherCtl, url.Values{"status": {"implemented"}}); resp.StatusCode != 403 {
			t.Fatalf("auditor in the other org changed a control: %d", resp.StatusCode)
		}
	})
}

func TestCreateAnotherOrg(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		if resp, _ := w.page(attest.RoleAdmin, "POST", "/orgs", url.Values{"name": {"Client B"}}); resp.StatusCode != 403 {
			t.Fatalf("an admin created an org: %d", resp.StatusCode)
		}
		if resp, _ := w.page(attest.RoleOwner, "POST", "/orgs", url.Values{"name": {"acme"}}); resp.StatusCode != 400 {
			t.Fatalf("duplicate org name: %d", resp.StatusCode)
		}
		resp, _ := w.page(attest.RoleOwner, "POST", "/orgs", url.Values{"name": {"Client B"}})
		if resp.StatusCode != 303 {
			t.Fatalf("create org: %d", resp.StatusCode)
		}
		_, page := w.page(attest.RoleOwner, "GET", "/controls", url.Values{})
		if !strings.Contains(string(page), "AC-01") || !strings.Contains(string(page), `data-test-id="org-switch"`) {
			t.Fatal("the new org has no seeded controls, or no switcher")
		}
		_, page = w.page(attest.RoleOwner, "GET", "/tasks", url.Values{})
		if !strings.Contains(string(page), "access review") && !strings.Contains(string(page), "Access review") {
			t.Error("the new org has no recurring duties")
		}
	})
}
