package web_test

import (
	"net/url"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

func TestAddControlFromPage(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		form := url.Values{"code": {"OWN-1"}, "title": {"Quarterly firewall review"}, "frequency": {"quarterly"}, "criteria": {"CC6.6, CC7.1"}}
		if resp, _ := w.page(attest.RoleMember, "POST", "/controls/new", form); resp.StatusCode != 403 {
			t.Fatalf("member added a control: %d", resp.StatusCode)
		}
		bad := url.Values{"code": {"OWN-2"}, "title": {"x"}, "frequency": {"yearly"}, "criteria": {"CC6.99"}}
		resp, body := w.page(attest.RoleAdmin, "POST", "/controls/new", bad)
		if resp.StatusCode != 400 || !strings.Contains(string(body), `data-test-id="form-error"`) || !strings.Contains(string(body), "CC6.99") {
			t.Fatalf("unknown criterion: %d", resp.StatusCode)
		}
		resp, _ = w.page(attest.RoleAdmin, "POST", "/controls/new", form)
		if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/controls/ctl_") {
			t.Fatalf("add control: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, body = w.api("GET", "/api/v1/controls?q=OWN-", w.tokens[attest.RoleViewer], "")
		got := decode[list[controlJSON]](t, body)
		if len(got.Items) != 1 || got.Items[0].Code != "OWN-1" || len(got.Items[0].Criteria) != 2 {
			t.Fatalf("custom controls: %s", body)
		}
	})
}

func TestSupersedeEvidenceFromPage(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		form := url.Values{"title": {"Q4 MFA review"}, "note": {"All 48 accounts enforce MFA."}, "supersedes": {w.evidence}}
		if resp, body := w.page(attest.RoleMember, "POST", "/controls/"+w.control+"/notes", form); resp.StatusCode != 303 {
			t.Fatalf("note replacing the seed: %d %s", resp.StatusCode, trim(body))
		}
		_, body := w.page(attest.RoleAuditor, "GET", "/controls/"+w.control, url.Values{})
		if !strings.Contains(string(body), `data-test-id="evidence-superseded"`) || !strings.Contains(string(body), "replaced by Q4 MFA review") {
			t.Fatal("the older item is not shown as replaced")
		}
		// Replacing with an item of another control is refused.
		form.Set("supersedes", "evd_unknown")
		if resp, _ := w.page(attest.RoleMember, "POST", "/controls/"+w.control+"/notes", form); resp.StatusCode != 400 {
			t.Fatalf("bad supersedes: %d", resp.StatusCode)
		}
	})
}
