package web_test

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/web"
)

// What a browser is told about the session cookie and the page, on a
// server that is reached over TLS (SecureCookies on).
func TestCookiesAndHeaders(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		master := make([]byte, keyring.KeySize)
		rand.Read(master)
		kr, _ := keyring.FromBytes(master)
		blobs, _ := blob.NewDisk(t.TempDir(), kr)
		srv, err := web.New(web.Config{DB: db, Sealer: kr, Blobs: blobs, SecureCookies: true})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		defer hs.Close()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

		form := url.Values{"email": {w.users[attest.RoleMember].Email}, "password": {"correct horse battery staple"}}
		resp, err := client.PostForm(hs.URL+"/login", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var session *http.Cookie
		for _, ck := range resp.Cookies() {
			if strings.Contains(ck.Name, "attest_session") {
				session = ck
			}
		}
		if resp.StatusCode != http.StatusSeeOther || session == nil {
			t.Fatalf("login: %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		if session.Name != "__Host-attest_session" || !session.Secure || !session.HttpOnly ||
			session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Domain != "" {
			t.Fatalf("session cookie %+v: want __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", session)
		}

		resp, err = client.Get(hs.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for header, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
			"Content-Security-Policy": "script-src 'self'",
		} {
			if got := resp.Header.Get(header); !strings.Contains(got, want) {
				t.Errorf("%s = %q, want it to contain %q", header, got, want)
			}
		}

		// A form posted from another site is refused before any handler runs,
		// even with a valid session and CSRF token.
		req, _ := http.NewRequest("POST", w.url+"/controls/"+w.control, strings.NewReader(url.Values{
			"csrf": {w.sessions[attest.RoleAdmin].csrf}, "status": {"implemented"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.AddCookie(&http.Cookie{Name: "attest_session", Value: w.sessions[attest.RoleAdmin].secret})
		resp, _ = w.do(req)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site form post: %d, want 403", resp.StatusCode)
		}
		_, body := w.api("GET", "/api/v1/controls/"+w.control, w.tokens[attest.RoleAdmin], "")
		if strings.Contains(string(body), `"status":"implemented"`) {
			t.Fatal("the cross-site post changed the control")
		}
	})
}
