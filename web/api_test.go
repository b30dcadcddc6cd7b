package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type controlJSON struct {
	ID            string   `json:"id"`
	Code          string   `json:"code"`
	Title         string   `json:"title"`
	Status        string   `json:"status"`
	Owner         string   `json:"owner"`
	Justification string   `json:"justification"`
	Criteria      []string `json:"criteria"`
}

func TestCatalogContract(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		tok := w.tokens[attest.RoleViewer]
		resp, body := w.api("GET", "/api/v1/frameworks", tok, "")
		fws := decode[list[struct{ ID, Name string }]](t, body)
		if resp.StatusCode != 200 || len(fws.Items) == 0 || fws.Items[0].ID != "soc2" || fws.Items[0].Name == "" {
			t.Fatalf("frameworks: %d %s", resp.StatusCode, body)
		}
		_, body = w.api("GET", "/api/v1/frameworks/soc2/criteria", tok, "")
		crit := decode[list[struct{ ID, Category, Title, Description string }]](t, body)
		if len(crit.Items) != 61 {
			t.Fatalf("criteria: %d, want 61", len(crit.Items))
		}
		cats := map[string]int{}
		for _, c := range crit.Items {
			cats[c.Category]++
			if c.ID == "" || c.Title == "" || c.Description == "" {
				t.Errorf("criterion %+v lacks a field", c)
			}
		}
		want := map[string]int{"security": 33, "availability": 3, "processing_integrity": 5, "confidentiality": 2, "privacy": 18}
		for k, v := range want {
			if cats[k] != v {
				t.Errorf("category %s: %d criteria, want %d", k, cats[k], v)
			}
		}
		resp, _ = w.api("GET", "/api/v1/frameworks/iso99/criteria", tok, "")
		if resp.StatusCode != 404 {
			t.Errorf("unknown framework: %d, want 404", resp.StatusCode)
		}
	})
}

func TestControlsContract(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		_, body := w.api("GET", "/api/v1/controls", w.tokens[attest.RoleAuditor], "")
		cs := decode[list[controlJSON]](t, body)
		if len(cs.Items) < 90 {
			t.Fatalf("%d controls, want at least 90", len(cs.Items))
		}
		for _, c := range cs.Items[:3] {
			if c.ID == "" || c.Code == "" || c.Title == "" || c.Status != "not_started" || len(c.Criteria) == 0 {
				t.Errorf("control %+v lacks a field", c)
			}
		}
		path := "/api/v1/controls/" + w.control
		for _, role := range []attest.Role{attest.RoleViewer, attest.RoleAuditor} {
			if resp, _ := w.api("PATCH", path, w.tokens[role], `{"status":"implemented"}`); resp.StatusCode != 403 {
				t.Errorf("PATCH as %s: %d, want 403", role, resp.StatusCode)
			}
		}
		resp, body := w.api("PATCH", path, w.tokens[attest.RoleMember], `{"status":"implemented","owner":"member@acme.example"}`)
		got := decode[controlJSON](t, body)
		if resp.StatusCode != 200 || got.Status != "implemented" || got.Owner != "member@acme.example" {
			t.Fatalf("PATCH as member: %d %s", resp.StatusCode, body)
		}
		// The change is in the audit log with before and after.
		_, body = w.api("GET", "/api/v1/audit-log?limit=1", w.tokens[attest.RoleAuditor], "")
		log := decode[list[struct {
			Seq      int64          `json:"seq"`
			At       string         `json:"at"`
			Actor    string         `json:"actor"`
			Action   string         `json:"action"`
			Hash     string         `json:"hash"`
			PrevHash string         `json:"prev_hash"`
			Before   map[string]any `json:"before"`
			After    map[string]any `json:"after"`
		}]](t, body)
		e := log.Items[0]
		if e.Action != "control.update" || e.Actor != "member@acme.example" || e.Before["status"] != "not_started" ||
			e.After["status"] != "implemented" || len(e.Hash) != 64 || len(e.PrevHash) != 64 || e.At == "" || log.NextCursor == "" {
			t.Fatalf("audit entry %+v, next %q", e, log.NextCursor)
		}
		// Filters.
		_, body = w.api("GET", "/api/v1/controls?status=implemented", w.tokens[attest.RoleViewer], "")
		if n := len(decode[list[controlJSON]](t, body).Items); n != 1 {
			t.Errorf("status filter: %d controls, want 1", n)
		}
		_, body = w.api("GET", "/api/v1/controls?owner=member@acme.example", w.tokens[attest.RoleViewer], "")
		if n := len(decode[list[controlJSON]](t, body).Items); n != 1 {
			t.Errorf("owner filter: %d controls, want 1", n)
		}
		_, body = w.api("GET", "/api/v1/controls?owner=me", w.tokens[attest.RoleMember], "")
		if n := len(decode[list[controlJSON]](t, body).Items); n != 1 {
			t.Errorf("owner=me: %d controls, want the member's 1", n)
		}
		// Create a custom control; admin may, member may not.
		newCtl := `{"code":"CUST-1","title":"Quarterly firewall rule review","criteria":["CC6.6","CC7.1"],"frequency":"quarterly"}`
		if resp, _ := w.api("POST", "/api/v1/controls", w.tokens[attest.RoleMember], newCtl); resp.StatusCode != 403 {
			t.Errorf("POST control as member: %d, want 403", resp.StatusCode)
		}
		resp, body = w.api("POST", "/api/v1/controls", w.tokens[attest.RoleAdmin], newCtl)
		if created := decode[controlJSON](t, body); resp.StatusCode != 201 || created.Code != "CUST-1" || len(created.Criteria) != 2 {
			t.Fatalf("POST control: %d %s", resp.StatusCode, body)
		}
	})
}

func TestBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		tok := w.tokens[attest.RoleAdmin]
		path := "/api/v1/controls/" + w.control
		cases := []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"malformed JSON", "PATCH", path, `{"status":`, 400, "body"},
			{"unknown field", "PATCH", path, `{"stauts":"implemented"}`, 400, "stauts"},
			{"wrong type", "PATCH", path, `{"status":5}`, 400, "status"},
			{"unknown status", "PATCH", path, `{"status":"done"}`, 400, "status"},
			{"n/a without reason", "PATCH", path, `{"status":"not_applicable"}`, 400, "justification"},
			{"owner not a member", "PATCH", path, `{"owner":"stranger@elsewhere.example"}`, 400, "owner"},
			{"two objects", "PATCH", path, `{} {}`, 400, "body"},
			{"unknown criterion", "POST", "/api/v1/controls", `{"code":"X-9","title":"x","criteria":["CC6.99"]}`, 400, "criteria"},
			{"duplicate code", "POST", "/api/v1/controls", `{"code":"AC-01","title":"x"}`, 400, "code"},
			{"oversize body", "PATCH", path, `{"justification":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "body"},
			{"unknown control", "GET", "/api/v1/controls/ctl_nope", "", 404, ""},
			{"bad cursor", "GET", "/api/v1/audit-log?cursor=abc", "", 400, "cursor"},
			{"bad scope", "PATCH", "/api/v1/org", `{"scope":["security","sales"]}`, 400, "scope"},
			{"bad role", "POST", "/api/v1/members", `{"email":"x@acme.example","role":"god"}`, 400, "role"},
			{"bad email", "POST", "/api/v1/members", `{"email":"not an email","role":"member"}`, 400, "email"},
			{"note without text", "POST", path + "/evidence", `{"title":"x"}`, 400, "note"},
			{"future effective date", "POST", path + "/evidence", `{"title":"x","note":"y","effective_at":"2999-01-01"}`, 400, "effective_at"},
		}
		for _, c := range cases {
			resp, body := w.api(c.method, c.path, tok, c.body)
			if resp.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.status, trim(body))
				continue
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: content type %q", c.name, ct)
			}
			p := decode[problem](t, body)
			if p.Status != c.status || p.Title == "" || p.Detail == "" || p.Field != c.field {
				t.Errorf("%s: problem %+v, want field %q", c.name, p, c.field)
			}
		}
		// Nothing half-written: the control is untouched.
		_, body := w.api("GET", path, tok, "")
		if c := decode[controlJSON](t, body); c.Status != "not_started" || c.Owner != "" || c.Justification != "" {
			t.Fatalf("bad input changed the control: %+v", c)
		}
	})
}

func TestEvidenceUploadAndDownload(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		path := "/api/v1/controls/" + w.control + "/evidence"
		content := bytes.Repeat([]byte("okta-mfa-policy-export;"), 5000)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("title", "Okta MFA policy export")
		mw.WriteField("effective_at", "2026-09-30")
		fw, _ := mw.CreateFormFile("file", "C:\\exports\\mfa-policy.json")
		fw.Write(content)
		mw.Close()
		req, _ := http.NewRequest("POST", w.url+path, &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+w.tokens[attest.RoleMember])
		resp, body := w.do(req)
		type item struct {
			ID          string `json:"id"`
			SHA256      string `json:"sha256"`
			Filename    string `json:"filename"`
			CollectedAt string `json:"collected_at"`
			EffectiveAt string `json:"effective_at"`
			AddedBy     string `json:"added_by"`
			Size        int64  `json:"size"`
		}
		it := decode[item](t, body)
		sum := sha256.Sum256(content)
		if resp.StatusCode != 201 || it.SHA256 != hex.EncodeToString(sum[:]) || it.Filename != "mfa-policy.json" ||
			!strings.HasPrefix(it.EffectiveAt, "2026-09-30") || it.AddedBy != "member@acme.example" || it.CollectedAt == "" || it.Size != int64(len(content)) {
			t.Fatalf("upload: %d %s", resp.StatusCode, body)
		}
		_, body = w.api("GET", path, w.tokens[attest.RoleAuditor], "")
		items := decode[list[item]](t, body)
		if len(items.Items) != 2 {
			t.Fatalf("evidence list has %d items, want 2 (seed note + upload)", len(items.Items))
		}
		resp, got := w.api("GET", "/api/v1/evidence/"+it.ID+"/content", w.tokens[attest.RoleAuditor], "")
		if resp.StatusCode != 200 || !bytes.Equal(got, content) || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("download: %d, %d bytes, disposition %q", resp.StatusCode, len(got), resp.Header.Get("Content-Disposition"))
		}
		// A viewer does not see evidence.
		if resp, _ := w.api("GET", "/api/v1/evidence/"+it.ID+"/content", w.tokens[attest.RoleViewer], ""); resp.StatusCode != 403 {
			t.Errorf("viewer download: %d, want 403", resp.StatusCode)
		}
		// Over the cap (1 MiB in tests): 413 and nothing recorded.
		buf.Reset()
		mw = multipart.NewWriter(&buf)
		mw.WriteField("title", "too big")
		fw, _ = mw.CreateFormFile("file", "big.bin")
		fw.Write(bytes.Repeat([]byte{1}, 1<<20+10))
		mw.Close()
		req, _ = http.NewRequest("POST", w.url+path, &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+w.tokens[attest.RoleMember])
		if resp, body := w.do(req); resp.StatusCode != 413 {
			t.Errorf("oversize upload: %d %s", resp.StatusCode, body)
		}
		_, body = w.api("GET", path, w.tokens[attest.RoleAuditor], "")
		if n := len(decode[list[item]](t, body).Items); n != 2 {
			t.Errorf("after a refused upload: %d items, want 2", n)
		}
		// A JSON note supersedes the upload.
		note := fmt.Sprintf(`{"title":"Q4 review","note":"Reviewed MFA enrolment: 100%%.","effective_at":"2026-10-01","supersedes":%q}`, it.ID)
		if resp, body := w.api("POST", path, w.tokens[attest.RoleMember], note); resp.StatusCode != 201 {
			t.Fatalf("note: %d %s", resp.StatusCode, body)
		}
	})
}

// One org never sees another's data: ids of org "other" answer 404 to
// acme's owner exactly like ids that do not exist.
func TestOrgIsolationOverHTTP(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		tok := w.tokens[attest.RoleOwner]
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/v1/controls/" + w.otherCtl, ""},
			{"PATCH", "/api/v1/controls/" + w.otherCtl, `{"status":"implemented"}`},
			{"GET", "/api/v1/controls/" + w.otherCtl + "/evidence", ""},
			{"POST", "/api/v1/controls/" + w.otherCtl + "/evidence", `{"title":"x","note":"y"}`},
			{"PATCH", "/api/v1/members/" + w.other.UserID, `{"role":"viewer"}`},
		} {
			if resp, body := w.api(c.method, c.path, tok, c.body); resp.StatusCode != 404 {
				t.Errorf("%s %s across orgs: %d %s, want 404", c.method, c.path, resp.StatusCode, trim(body))
			}
		}
		// And the other way round, on evidence.
		if resp, _ := w.api("GET", "/api/v1/evidence/"+w.evidence+"/content", w.otherTok, ""); resp.StatusCode != 404 {
			t.Errorf("other org read acme's evidence: %d, want 404", resp.StatusCode)
		}
		_, body := w.api("GET", "/api/v1/controls", w.otherTok, "")
		if n := len(decode[list[controlJSON]](t, body).Items); n != 1 {
			t.Errorf("other org lists %d controls, want its own 1", n)
		}
		_, body = w.api("GET", "/api/v1/audit-log?limit=500", w.otherTok, "")
		for _, e := range decode[list[struct{ Actor string }]](t, body).Items {
			if strings.HasSuffix(e.Actor, "@acme.example") {
				t.Errorf("other org sees acme's audit entry by %s", e.Actor)
			}
		}
	})
}

func TestReadinessContract(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		type readiness struct {
			Overall    float64 `json:"overall"`
			Categories []struct {
				ID    string  `json:"id"`
				Score float64 `json:"score"`
			} `json:"categories"`
			Criteria []struct {
				ID       string   `json:"id"`
				Covered  bool     `json:"covered"`
				Controls []string `json:"controls"`
				Missing  []string `json:"missing"`
			} `json:"criteria"`
		}
		_, body := w.api("GET", "/api/v1/readiness", w.tokens[attest.RoleViewer], "")
		before := decode[readiness](t, body)
		if before.Overall != 0 || len(before.Categories) != 5 || len(before.Criteria) != 33 {
			t.Fatalf("fresh readiness: overall %v, %d categories, %d criteria (security only in scope)", before.Overall, len(before.Categories), len(before.Criteria))
		}
		w.api("PATCH", "/api/v1/org", w.tokens[attest.RoleOwner], `{"scope":["availability"]}`)
		w.api("PATCH", "/api/v1/controls/"+w.control, w.tokens[attest.RoleOwner], `{"status":"implemented"}`)
		_, body = w.api("GET", "/api/v1/readiness", w.tokens[attest.RoleViewer], "")
		after := decode[readiness](t, body)
		if after.Overall <= 0 || len(after.Criteria) != 36 {
			t.Fatalf("after: overall %v, %d criteria; want > 0 and 36", after.Overall, len(after.Criteria))
		}
		for _, c := range after.Criteria {
			if c.Controls == nil || c.Missing == nil {
				t.Fatalf("criterion %s: controls/missing must be arrays", c.ID)
			}
		}
	})
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		resp, body := w.api("GET", "/api/v1/openapi.json", "", "")
		doc := decode[struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}](t, body)
		if resp.StatusCode != 200 || doc.OpenAPI != "3.1.0" {
			t.Fatalf("openapi: %d %.200s", resp.StatusCode, body)
		}
		n := 0
		for _, rt := range w.srv.Routes() {
			if !rt.API {
				continue
			}
			n++
			if _, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]; !ok {
				t.Errorf("%s %s is served but not in the OpenAPI document", rt.Method, rt.Pattern)
			}
		}
		ops := 0
		for p, methods := range doc.Paths {
			if !strings.HasPrefix(p, "/api/v1/") {
				t.Errorf("document path %s is outside /api/v1", p)
			}
			ops += len(methods)
		}
		if ops != n {
			t.Errorf("document has %d operations, the route table %d API routes", ops, n)
		}
	})
}

func TestTokensAndMembership(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		member := w.tokens[attest.RoleMember]
		resp, body := w.api("POST", "/api/v1/tokens", member, `{"name":"laptop"}`)
		created := decode[struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		}](t, body)
		if resp.StatusCode != 201 || !strings.HasPrefix(created.Token, "att_") {
			t.Fatalf("create token: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.api("GET", "/api/v1/me", created.Token, ""); resp.StatusCode != 200 {
			t.Fatalf("new token does not work: %d", resp.StatusCode)
		}
		_, body = w.api("GET", "/api/v1/tokens", member, "")
		if strings.Contains(string(body), created.Token) || !strings.Contains(string(body), created.ID) {
			t.Fatalf("token list must name the token but never show its secret: %s", body)
		}
		// Someone else cannot revoke it; its owner can, and then it is dead.
		if resp, _ := w.api("DELETE", "/api/v1/tokens/"+created.ID, w.tokens[attest.RoleAdmin], ""); resp.StatusCode != 404 {
			t.Errorf("admin revoked a member's token through the self route: %d", resp.StatusCode)
		}
		if resp, _ := w.api("DELETE", "/api/v1/tokens/"+created.ID, member, ""); resp.StatusCode != 204 {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		if resp, _ := w.api("GET", "/api/v1/me", created.Token, ""); resp.StatusCode != 401 {
			t.Fatalf("revoked token still works: %d", resp.StatusCode)
		}
		// An admin cannot remove the owner; the owner removes the member,
		// whose token stops working at once.
		if resp, _ := w.api("DELETE", "/api/v1/members/"+w.users[attest.RoleOwner].UserID, w.tokens[attest.RoleAdmin], ""); resp.StatusCode != 403 {
			t.Errorf("admin removed the owner: %d", resp.StatusCode)
		}
		if resp, _ := w.api("DELETE", "/api/v1/members/"+w.users[attest.RoleOwner].UserID, w.tokens[attest.RoleOwner], ""); resp.StatusCode != 409 {
			t.Errorf("the last owner removed themselves: %d", resp.StatusCode)
		}
		if resp, _ := w.api("DELETE", "/api/v1/members/"+w.users[attest.RoleMember].UserID, w.tokens[attest.RoleOwner], ""); resp.StatusCode != 204 {
			t.Fatalf("remove member: %d", resp.StatusCode)
		}
		if resp, _ := w.api("GET", "/api/v1/me", member, ""); resp.StatusCode != 401 {
			t.Fatalf("removed member's token still works: %d", resp.StatusCode)
		}
		_, body = w.api("GET", "/api/v1/audit-log?action=member.remove", w.tokens[attest.RoleAuditor], "")
		if !strings.Contains(string(body), "member@acme.example") {
			t.Fatalf("removal not in the audit log: %s", body)
		}
	})
}
