package web_test

import (
	"net/url"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

func TestMemberRemovalPage(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		viewer := w.users[attest.RoleViewer]
		// A member may not remove anyone; an admin removes the viewer.
		if resp, _ := w.page(attest.RoleMember, "POST", "/members/"+viewer.UserID+"/remove", url.Values{}); resp.StatusCode != 403 {
			t.Fatalf("member removed someone: %d", resp.StatusCode)
		}
		resp, _ := w.page(attest.RoleAdmin, "POST", "/members/"+viewer.UserID+"/remove", url.Values{})
		if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "done=removed") {
			t.Fatalf("remove: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := w.page(attest.RoleViewer, "GET", "/", url.Values{}); resp.StatusCode != 303 {
			t.Fatalf("removed viewer's session still works: %d", resp.StatusCode)
		}
		_, body := w.page(attest.RoleAdmin, "GET", "/members", url.Values{})
		if strings.Contains(string(body), viewer.Email) {
			t.Fatal("removed member still listed")
		}
		// The owner is not removable by an admin: the page says why.
		resp, body = w.page(attest.RoleAdmin, "POST", "/members/"+w.users[attest.RoleOwner].UserID+"/remove", url.Values{})
		if resp.StatusCode != 403 {
			t.Fatalf("admin removing the owner: %d", resp.StatusCode)
		}
	})
}
