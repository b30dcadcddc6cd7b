package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/web"
)

// fillPattern turns a route pattern into a concrete path, using ids that
// exist in acme so that allowed calls reach their handler.
func (w *world) fillPattern(pattern string) string {
	ids := map[string]string{
		"/api/v1/controls/": w.control, "/controls/": w.control,
		"/api/v1/evidence/": w.evidence, "/evidence/": w.evidence,
		"/api/v1/members/": w.users[attest.RoleViewer].UserID, "/members/": w.users[attest.RoleViewer].UserID,
		"/api/v1/frameworks/": "soc2", "/criteria/": "CC6.1",
	}
	out := strings.ReplaceAll(pattern, "{$}", "")
	for strings.Contains(out, "{") {
		i := strings.Index(out, "{")
		j := strings.Index(out[i:], "}") + i
		val := "unknown"
		for prefix, id := range ids {
			if strings.HasSuffix(out[:i], prefix) {
				val = id
			}
		}
		name := strings.TrimSuffix(out[i+1:j], "...")
		_ = name
		out = out[:i] + val + out[j+1:]
	}
	return out
}

// TestEveryRouteWithEveryRole walks the route table, the same one the
// server registers, with each role: a role the policy denies gets 403, a
// role it allows never does, and no credentials get 401 (API) or a login
// redirect (pages). A new route cannot escape this test.
func TestEveryRouteWithEveryRole(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		checked, writes := 0, 0
		for _, rt := range w.srv.Routes() {
			if rt.Action == web.ActPublic {
				continue
			}
			path := w.fillPattern(rt.Pattern)
			if rt.Method == "DELETE" || strings.HasSuffix(rt.Pattern, "/remove") {
				// Deleting the fixtures would pull the world from under
				// the roles walked after; unknown ids still prove access.
				path = paramRE.ReplaceAllString(rt.Pattern, "unknown")
			}
			for _, role := range attest.Roles {
				allowed := web.Allowed(role, rt.Action)
				var resp *http.Response
				var body []byte
				before := w.auditHead()
				if rt.API {
					payload := ""
					if rt.Method != "GET" && rt.Method != "DELETE" {
						payload = "{}"
					}
					resp, body = w.api(rt.Method, path, w.tokens[role], payload)
				} else {
					resp, body = w.page(role, rt.Method, path, url.Values{})
				}
				switch {
				case !allowed && resp.StatusCode != http.StatusForbidden:
					t.Errorf("%s %s as %s: status %d, want 403 (%s)", rt.Method, path, role, resp.StatusCode, trim(body))
				case allowed && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized):
					t.Errorf("%s %s as %s: status %d, want access (%s)", rt.Method, path, role, resp.StatusCode, trim(body))
				case allowed && resp.StatusCode >= 500:
					t.Errorf("%s %s as %s: server error %d (%s)", rt.Method, path, role, resp.StatusCode, trim(body))
				case rt.API && rt.Method != "GET" && role == attest.RoleOwner && resp.StatusCode < 300 && !readOnlyPosts[rt.Pattern] && w.auditHead() == before:
					// Every change is in the audit log: a write that
					// succeeded and left no entry is a bug. (Only the
					// owner's call is checked: it goes first, so later
					// calls may find an idempotent write already done.)
					t.Errorf("%s %s as %s: %d but no audit-log entry", rt.Method, path, role, resp.StatusCode)
				}
				checked++
				if rt.API && rt.Method != "GET" && role == attest.RoleOwner && resp.StatusCode < 300 {
					writes++
				}
			}
			// Anonymous.
			if rt.API {
				resp, _ := w.api(rt.Method, path, "", "")
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s without a token: %d, want 401", rt.Method, path, resp.StatusCode)
				}
				resp, _ = w.api(rt.Method, path, "att_not_a_real_token", "")
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s %s with a bad token: %d, want 401", rt.Method, path, resp.StatusCode)
				}
			} else {
				req, _ := http.NewRequest(rt.Method, w.url+path, nil)
				resp, _ := w.do(req)
				if rt.Method == "GET" && resp.StatusCode != http.StatusSeeOther {
					t.Errorf("GET %s without a session: %d, want a redirect to login", path, resp.StatusCode)
				}
				if rt.Method != "GET" && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s without a session: %d, want 401 or 403", rt.Method, path, resp.StatusCode)
				}
			}
		}
		t.Logf("checked %d route x role pairs over %d routes; %d successful writes each left an audit entry", checked, len(w.srv.Routes()), writes)
		if checked == 0 {
			t.Fatal("no routes walked")
		}
	})
}

// page sends a UI request as role, with its CSRF token on unsafe methods.
func (w *world) page(role attest.Role, method, path string, form url.Values) (*http.Response, []byte) {
	w.t.Helper()
	var req *http.Request
	if method == "GET" {
		req, _ = http.NewRequest(method, w.url+path, nil)
	} else {
		form.Set("csrf", w.sessions[role].csrf)
		req, _ = http.NewRequest(method, w.url+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(&http.Cookie{Name: "attest_session", Value: w.sessions[role].secret})
	return w.do(req)
}

// readOnlyPosts are POST routes that compute rather than change anything.
var readOnlyPosts = map[string]bool{}

// auditHead is the newest audit-log sequence number of acme.
func (w *world) auditHead() int64 {
	w.t.Helper()
	var seq int64
	if err := w.db.Q().QueryRowContext(context.Background(), "SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE org_id = $1", w.org).Scan(&seq); err != nil {
		w.t.Fatal(err)
	}
	return seq
}

var paramRE = regexp.MustCompile(`\{[^}]+\}`)

func trim(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
