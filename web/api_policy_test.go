package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

type policyJSON struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Status    string `json:"status"`
	Published *struct {
		ID          string `json:"id"`
		Number      int    `json:"number"`
		ContentHash string `json:"content_hash"`
		Approver    string `json:"approver"`
		Content     string `json:"content"`
	} `json:"published"`
	Working *struct {
		Number  int    `json:"number"`
		Status  string `json:"status"`
		Content string `json:"content"`
	} `json:"working"`
	ReviewDue    string `json:"review_due"`
	Acknowledged struct {
		Accepted int `json:"accepted"`
		Total    int `json:"total"`
	} `json:"acknowledged"`
}

type problemJSON struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

// polCall checks a response's status and returns its body.
func (w *world) polCall(status int, method, path string, role attest.Role, body string) []byte {
	w.t.Helper()
	resp, b := w.api(method, path, w.tokens[role], body)
	if resp.StatusCode != status {
		w.t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, role, resp.StatusCode, status, trim(b))
	}
	return b
}

func (w *world) polProblem(status int, method, path string, role attest.Role, body, field, detail string) {
	w.t.Helper()
	p := decode[problemJSON](w.t, w.polCall(status, method, path, role, body))
	if p.Field != field || !strings.Contains(p.Detail, detail) {
		w.t.Fatalf("%s %s: problem %+v, want field %q and detail containing %q", method, path, p, field, detail)
	}
}

func TestPolicyAPIJourney(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const owner, admin, member, auditor, viewer = attest.RoleOwner, attest.RoleAdmin, attest.RoleMember, attest.RoleAuditor, attest.RoleViewer

		tpls := decode[list[struct {
			ID       string   `json:"id"`
			Controls []string `json:"controls"`
		}]](t, w.polCall(200, "GET", "/api/v1/policy-templates", viewer, ""))
		if len(tpls.Items) < 22 || len(tpls.Items[0].Controls) == 0 {
			t.Fatalf("templates: %+v", tpls)
		}

		p := decode[policyJSON](t, w.polCall(201, "POST", "/api/v1/policies", admin, `{"template_id":"incident-response","variables":{"customer_notice_hours":"48"}}`))
		if p.Status != "draft" || p.Working == nil || !strings.Contains(p.Working.Content, "within 48 hours") || p.Acknowledged.Total != 4 {
			t.Fatalf("created: %+v", p)
		}
		base := "/api/v1/policies/" + p.ID
		w.polCall(403, "POST", "/api/v1/policies", member, `{"title":"Mine"}`)

		// A policy published without approval is refused, with a reason.
		w.polProblem(409, "POST", base+"/publish", owner, "", "", "has not been approved")
		w.polCall(200, "POST", base+"/submit", admin, "{}")
		w.polProblem(409, "POST", base+"/publish", owner, "", "", "has not been approved")
		w.polProblem(409, "POST", base+"/approve", admin, "", "", "another owner or admin must approve")
		w.polCall(403, "POST", base+"/approve", member, "")
		p = decode[policyJSON](t, w.polCall(200, "POST", base+"/approve", owner, ""))
		if p.Status != "approved" {
			t.Fatalf("after approve: %s", p.Status)
		}
		p = decode[policyJSON](t, w.polCall(200, "POST", base+"/publish", owner, ""))
		if p.Status != "published" || p.Published == nil || p.Published.Number != 1 || p.Published.Approver != "owner@acme.example" || p.ReviewDue == "" {
			t.Fatalf("after publish: %+v", p)
		}
		v1 := p.Published

		// Acknowledgements: everyone in scope is pending, then the member accepts.
		type ack struct {
			User        string  `json:"user"`
			Email       string  `json:"email"`
			Accepted    bool    `json:"accepted"`
			AcceptedAt  *string `json:"accepted_at"`
			Version     *int    `json:"version"`
			VersionHash string  `json:"version_hash"`
		}
		acks := decode[list[ack]](t, w.polCall(200, "GET", base+"/acknowledgements", auditor, ""))
		if len(acks.Items) != 4 {
			t.Fatalf("population: %+v", acks.Items)
		}
		for _, a := range acks.Items {
			if a.Accepted || a.AcceptedAt != nil || a.Email == "auditor@acme.example" {
				t.Fatalf("before anyone accepted: %+v", a)
			}
		}
		got := decode[struct {
			Version     int    `json:"version"`
			VersionHash string `json:"version_hash"`
			Email       string `json:"email"`
		}](t, w.polCall(201, "POST", base+"/acknowledgements", member, ""))
		if got.Version != 1 || got.VersionHash != v1.ContentHash || got.Email != "member@acme.example" {
			t.Fatalf("acknowledgement: %+v", got)
		}
		w.polCall(200, "POST", base+"/acknowledgements", member, `{"version":1}`)
		w.polCall(200, "POST", base+"/acknowledgements", member, `{"version_id":"`+v1.ID+`"}`)
		w.polCall(403, "POST", base+"/acknowledgements", auditor, "")
		w.polCall(201, "POST", base+"/acknowledgements", viewer, "{}")
		acks = decode[list[ack]](t, w.polCall(200, "GET", base+"/acknowledgements", viewer, ""))
		accepted := map[string]bool{}
		for _, a := range acks.Items {
			if a.Accepted {
				accepted[a.Email] = true
				if a.AcceptedAt == nil || a.Version == nil || *a.Version != 1 || a.VersionHash != v1.ContentHash || a.User == "" {
					t.Fatalf("accepted entry: %+v", a)
				}
			}
		}
		if len(accepted) != 2 || !accepted["member@acme.example"] || !accepted["viewer@acme.example"] {
			t.Fatalf("accepted: %v", accepted)
		}
		pols := decode[list[policyJSON]](t, w.polCall(200, "GET", "/api/v1/policies?status=published", member, ""))
		if len(pols.Items) != 1 || pols.Items[0].Acknowledged.Accepted != 2 || pols.Items[0].Acknowledged.Total != 4 {
			t.Fatalf("list: %+v", pols.Items)
		}
		if l := decode[list[policyJSON]](t, w.polCall(200, "GET", "/api/v1/policies?status=draft", member, "")); len(l.Items) != 0 {
			t.Fatalf("draft filter: %+v", l.Items)
		}
		if l := decode[list[policyJSON]](t, w.polCall(200, "GET", "/api/v1/policies?overdue=true", member, "")); len(l.Items) != 0 {
			t.Fatalf("overdue filter: %+v", l.Items)
		}

		// Editing the published policy starts version 2; once it is
		// published, accepting version 1 is refused.
		edited, _ := json.Marshal(map[string]string{"content": v1.Content + "\n## Contacts\n\nCall the on-call phone.\n"})
		p = decode[policyJSON](t, w.polCall(200, "PATCH", base, admin, string(edited)))
		if p.Working == nil || p.Working.Number != 2 || p.Published.Number != 1 || p.Status != "draft" {
			t.Fatalf("after edit: %+v", p)
		}
		w.polProblem(409, "POST", base+"/acknowledgements", member, `{"version":2}`, "", "not published")
		w.polCall(200, "POST", base+"/submit", admin, "")
		w.polCall(200, "POST", base+"/approve", owner, "")
		w.polCall(200, "POST", base+"/publish", admin, "")
		w.polProblem(409, "POST", base+"/acknowledgements", member, `{"version":1}`, "", "superseded by version 2")
		w.polProblem(409, "POST", base+"/acknowledgements", member, `{"version_id":"`+v1.ID+`"}`, "", "superseded")
		w.polProblem(400, "POST", base+"/acknowledgements", member, `{"version":9}`, "version", "not a version")
		acks = decode[list[ack]](t, w.polCall(200, "GET", base+"/acknowledgements", owner, ""))
		for _, a := range acks.Items {
			if a.Accepted {
				t.Fatalf("acceptance of version 1 counted for version 2: %+v", a)
			}
		}
		w.polCall(201, "POST", base+"/acknowledgements", member, `{"version":2}`)

		vs := decode[list[struct {
			Number  int    `json:"number"`
			Current bool   `json:"current"`
			Status  string `json:"status"`
		}]](t, w.polCall(200, "GET", base+"/versions", auditor, ""))
		if len(vs.Items) != 2 || vs.Items[0].Current || !vs.Items[1].Current {
			t.Fatalf("versions: %+v", vs.Items)
		}
		one := decode[struct {
			Content string `json:"content"`
		}](t, w.polCall(200, "GET", base+"/versions/1", auditor, ""))
		if one.Content != v1.Content {
			t.Fatal("version 1 text changed")
		}
		d := decode[struct {
			From, To, Added, Deleted int
			Lines                    []struct {
				Op   string `json:"op"`
				Text string `json:"text"`
			} `json:"lines"`
		}](t, w.polCall(200, "GET", base+"/diff?from=1&to=2", auditor, ""))
		if d.From != 1 || d.To != 2 || d.Added != 4 || d.Deleted != 0 {
			t.Fatalf("diff: from %d to %d +%d -%d", d.From, d.To, d.Added, d.Deleted)
		}
		if def := decode[struct{ From, To int }](t, w.polCall(200, "GET", base+"/diff", viewer, "")); def.From != 1 || def.To != 2 {
			t.Fatalf("default diff: %+v", def)
		}

		// Evidence for the auditor: acceptances per version, and the texts.
		csv := string(w.polCall(200, "GET", base+"/acknowledgements/export?version=1", auditor, ""))
		if !strings.Contains(csv, "member@acme.example") || !strings.Contains(csv, v1.ContentHash) || strings.Count(csv, "\n") != 3 {
			t.Fatalf("acknowledgements CSV:\n%s", csv)
		}
		resp, pdf := w.api("GET", base+"/export?format=pdf", w.tokens[auditor], "")
		if resp.StatusCode != 200 || !bytes.HasPrefix(pdf, []byte("%PDF-")) || resp.Header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("export pdf: %d %s", resp.StatusCode, resp.Header)
		}
		resp, html := w.api("GET", "/api/v1/policies/export?format=html", w.tokens[viewer], "")
		if resp.StatusCode != 200 || !strings.Contains(string(html), "Incident Response Policy") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export html: %d %s", resp.StatusCode, trim(html))
		}
		if strings.Contains(resp.Header.Get("Content-Security-Policy"), "script") {
			t.Fatalf("export allows scripts: %s", resp.Header.Get("Content-Security-Policy"))
		}

		// Every step is in the audit log.
		log := string(w.polCall(200, "GET", "/api/v1/audit-log?limit=200", owner, ""))
		for _, action := range []string{"policy.create", "policy.submit", "policy.approve", "policy.publish", "policy.acknowledge", "policy.update"} {
			if !strings.Contains(log, `"`+action+`"`) {
				t.Errorf("audit log lacks %s", action)
			}
		}
	})
}

func TestPolicyAPIBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		const owner = attest.RoleOwner
		w.polProblem(400, "POST", "/api/v1/policies", owner, `{"title": nope}`, "body", "malformed JSON")
		w.polProblem(400, "POST", "/api/v1/policies", owner, `{"title":"A","colour":"red"}`, "colour", "not a known field")
		w.polProblem(400, "POST", "/api/v1/policies", owner, `{"template_id":"no-such-policy"}`, "template_id", "no policy template")
		w.polProblem(400, "POST", "/api/v1/policies", owner, `{"title":"  "}`, "title", "required")
		w.polProblem(400, "POST", "/api/v1/policies", owner, `{}`, "title", "required")
		w.polProblem(400, "POST", "/api/v1/policies", owner, `{"title":"A","owner":"nobody@else.example"}`, "owner", "no member")
		big, _ := json.Marshal(map[string]string{"title": "Big", "content": strings.Repeat("a", 256<<10+1)})
		w.polProblem(413, "POST", "/api/v1/policies", owner, string(big), "content", "limited to 256 KiB")
		huge, _ := json.Marshal(map[string]string{"title": "Huge", "content": strings.Repeat("a", 2<<20)})
		w.polProblem(413, "POST", "/api/v1/policies", owner, string(huge), "body", "too large")

		p := decode[policyJSON](t, w.polCall(201, "POST", "/api/v1/policies", owner, `{"title":"Remote Work","content":"# Remote Work\n\nBe careful.\n"}`))
		base := "/api/v1/policies/" + p.ID
		w.polProblem(400, "PATCH", base, owner, `{"title":""}`, "title", "required")
		w.polProblem(400, "PATCH", base, owner, `{"review_due":"next year"}`, "review_due", "date")
		w.polProblem(400, "PATCH", base, owner, `{"controls":["XX-99"]}`, "controls", "XX-99")
		w.polProblem(400, "PATCH", base, owner, `{"content":5}`, "content", "string")
		w.polProblem(413, "PATCH", base, owner, `{"content":"`+strings.Repeat("b", 256<<10+1)+`"}`, "content", "256 KiB")
		w.polProblem(409, "POST", base+"/acknowledgements", attest.RoleMember, "", "", "not been published")
		w.polProblem(409, "GET", base+"/acknowledgements/export", owner, "", "", "not been published")
		w.polProblem(400, "POST", base+"/acknowledgements", attest.RoleMember, `{"version":"one"}`, "version", "must be a JSON int")
		w.polProblem(400, "POST", base+"/submit", owner, `{"force":true}`, "force", "not a known field")
		w.polProblem(400, "GET", "/api/v1/policies?status=bogus", owner, "", "status", "one of")
		w.polProblem(400, "GET", "/api/v1/policies?overdue=maybe", owner, "", "overdue", "true or false")
		w.polProblem(400, "GET", base+"/diff?from=abc", owner, "", "from", "version number")
		w.polProblem(404, "GET", base+"/diff?from=1&to=7", owner, "", "", "version 7")
		w.polProblem(400, "GET", base+"/versions/x", owner, "", "number", "version number")
		w.polProblem(400, "GET", base+"/export?format=doc", owner, "", "format", "pdf or html")
		w.polProblem(409, "GET", base+"/export", owner, "", "", "no published version")
		if resp, b := w.api("GET", base+"/export?version=1&format=html", w.tokens[owner], ""); resp.StatusCode != 200 || !strings.Contains(string(b), "draft") {
			t.Fatalf("export of a draft: %d %s", resp.StatusCode, trim(b))
		}
	})
}

// TestPolicyAPIOrgIsolation: another org's policy answers 404 on every
// route, exactly like an unknown id.
func TestPolicyAPIOrgIsolation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		p := decode[policyJSON](t, w.polCall(201, "POST", "/api/v1/policies", attest.RoleOwner, `{"template_id":"backup"}`))
		for _, id := range []string{p.ID, "pol_unknown"} {
			base := "/api/v1/policies/" + id
			for _, c := range []struct{ method, path, body string }{
				{"GET", base, ""}, {"PATCH", base, `{"title":"Mine now"}`}, {"POST", base + "/submit", ""},
				{"POST", base + "/approve", ""}, {"POST", base + "/publish", ""}, {"GET", base + "/versions", ""},
				{"GET", base + "/versions/1", ""}, {"GET", base + "/versions/x", ""}, {"GET", base + "/diff", ""},
				{"GET", base + "/export", ""}, {"POST", base + "/acknowledgements", ""}, {"GET", base + "/acknowledgements", ""},
				{"GET", base + "/acknowledgements/export", ""},
			} {
				resp, b := w.api(c.method, c.path, w.otherTok, c.body)
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s %s from another org: %d, want 404 (%s)", c.method, c.path, resp.StatusCode, trim(b))
				}
			}
		}
		if l := decode[list[policyJSON]](t, w.polGet(w.otherTok, "/api/v1/policies")); len(l.Items) != 0 {
			t.Fatalf("other org lists %d policies", len(l.Items))
		}
	})
}

func (w *world) polGet(tok, path string) []byte {
	w.t.Helper()
	resp, b := w.api("GET", path, tok, "")
	if resp.StatusCode != 200 {
		w.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, trim(b))
	}
	return b
}
