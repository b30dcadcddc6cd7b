package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

// upload sends a multipart form (fields in order, then the file) as role.
func (w *world) upload(path, tok string, fields [][2]string, filename string, content []byte) (*http.Response, []byte) {
	w.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", w.url+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	return w.do(req)
}

// want checks a status and, for a problem, the field it names.
func want(t *testing.T, what string, resp *http.Response, body []byte, status int, field string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, status, body)
	}
	if field != "" {
		p := decode[problem](t, body)
		if p.Field != field || p.Detail == "" {
			t.Fatalf("%s: problem %+v, want field %q", what, p, field)
		}
	}
}

func (w *world) controlID(code string) string {
	all, err := control.List(w.t.Context(), w.db.Q(), w.org, control.Filter{Query: code})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range all {
		if c.Code == code {
			return c.ID
		}
	}
	w.t.Fatalf("no control %s", code)
	return ""
}

type personJSON struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	Status     string `json:"status"`
	ManagerID  string `json:"manager_id"`
	Onboarding struct {
		Done, Total int
	} `json:"onboarding"`
	Checklist []struct {
		ID          string  `json:"id"`
		Code        string  `json:"code"`
		Phase       string  `json:"phase"`
		CompletedBy string  `json:"completed_by"`
		CompletedAt *string `json:"completed_at"`
	} `json:"checklist"`
	Documents []struct {
		ID     string `json:"id"`
		SHA256 string `json:"sha256"`
	} `json:"documents"`
}

func TestPeopleAPI(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		today := time.Now().UTC().Format("2006-01-02")

		resp, body := w.api("POST", "/api/v1/people", admin, `{"email":"lead@acme.example","name":"Lead","department":"Eng","start_date":"2020-02-01"}`)
		want(t, "add lead", resp, body, 201, "")
		lead := decode[personJSON](t, body)
		resp, body = w.api("POST", "/api/v1/people", admin, fmt.Sprintf(`{"email":"new@acme.example","name":"New Hire","manager_id":%q,"start_date":%q,"employment_type":"contractor"}`, lead.ID, today))
		want(t, "add new hire", resp, body, 201, "")
		hire := decode[personJSON](t, body)
		if hire.Status != "onboarding" || len(hire.Checklist) != 6 || hire.ManagerID != lead.ID {
			t.Fatalf("new hire: %s", body)
		}

		// Bad input names the field.
		for _, c := range []struct{ name, method, path, body, field string }{
			{"malformed JSON", "POST", "/api/v1/people", `{"email":`, "body"},
			{"unknown field", "POST", "/api/v1/people", `{"email":"x@acme.example","name":"X","nickname":"x"}`, "nickname"},
			{"end before start", "POST", "/api/v1/people", `{"email":"x@acme.example","name":"X","start_date":"2026-03-01","end_date":"2026-02-01"}`, "end_date"},
			{"bad date", "POST", "/api/v1/people", `{"email":"x@acme.example","name":"X","start_date":"2026-02-30"}`, "start_date"},
			{"duplicate email", "POST", "/api/v1/people", `{"email":"LEAD@acme.example","name":"X"}`, "email"},
			{"bad status filter", "GET", "/api/v1/people?status=gone", "", "status"},
			{"bad cursor", "GET", "/api/v1/people?cursor=-4", "", "cursor"},
		} {
			resp, body := w.api(c.method, c.path, admin, c.body)
			want(t, c.name, resp, body, 400, c.field)
		}

		// Completing an item records who and when.
		item := hire.Checklist[0]
		resp, body = w.api("POST", "/api/v1/people/"+hire.ID+"/checklist/"+item.ID+"/complete", admin, `{"note":"Report on file"}`)
		want(t, "complete", resp, body, 200, "")
		if done := decode[struct {
			CompletedBy string `json:"completed_by"`
		}](t, body); done.CompletedBy != "admin@acme.example" {
			t.Fatalf("completed: %s", body)
		}
		resp, body = w.api("POST", "/api/v1/people/"+hire.ID+"/checklist/"+item.ID+"/complete", admin, `{}`)
		want(t, "complete twice", resp, body, 409, "")

		// An end date starts offboarding.
		resp, body = w.api("PATCH", "/api/v1/people/"+hire.ID, admin, fmt.Sprintf(`{"end_date":%q}`, today))
		want(t, "set end date", resp, body, 200, "")
		if p := decode[personJSON](t, body); p.Status != "offboarding" || len(p.Checklist) != 8 {
			t.Fatalf("after end date: %s", body)
		}
		resp, body = w.api("PATCH", "/api/v1/people/"+hire.ID, admin, `{"end_date":"2000-01-01"}`)
		want(t, "end before start on patch", resp, body, 400, "end_date")

		// Training and documents.
		resp, body = w.api("POST", "/api/v1/people/"+hire.ID+"/training", admin, `{"course":"Security awareness","completed_on":"2026-01-10","expires_on":"2027-01-10"}`)
		want(t, "training", resp, body, 201, "")
		resp, body = w.api("POST", "/api/v1/people/"+hire.ID+"/training", admin, `{"course":"Security awareness","completed_on":"2026-01-10","expires_on":"2025-01-10"}`)
		want(t, "training expiring before completion", resp, body, 400, "expires_on")
		resp, body = w.upload("/api/v1/people/"+hire.ID+"/documents", admin, [][2]string{{"kind", "nda"}, {"title", "Signed NDA"}}, "nda.pdf", []byte("%PDF signed"))
		want(t, "upload NDA", resp, body, 201, "")
		doc := decode[struct{ ID string }](t, body)
		resp, body = w.upload("/api/v1/people/"+hire.ID+"/documents", admin, [][2]string{{"kind", "passport"}}, "x.pdf", []byte("x"))
		want(t, "bad document kind", resp, body, 400, "kind")
		resp, body = w.api("GET", "/api/v1/people/"+hire.ID+"/documents/"+doc.ID+"/content", w.tokens[attest.RoleAuditor], "")
		if resp.StatusCode != 200 || string(body) != "%PDF signed" || resp.Header.Get("Content-Disposition") == "" {
			t.Fatalf("download document: %d %q", resp.StatusCode, body)
		}

		// Lists, filters and paging.
		resp, body = w.api("GET", "/api/v1/people?department=Eng", w.tokens[attest.RoleMember], "")
		want(t, "list", resp, body, 200, "")
		if l := decode[struct {
			Items      []personJSON `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}](t, body); len(l.Items) != 1 || l.Items[0].ID != lead.ID {
			t.Fatalf("filter by department: %s", body)
		}
		resp, body = w.api("GET", "/api/v1/people?limit=1", admin, "")
		page := decode[struct {
			Items      []personJSON `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}](t, body)
		if len(page.Items) != 1 || page.NextCursor != "1" {
			t.Fatalf("first page: %s", body)
		}
		_, body = w.api("GET", "/api/v1/people?limit=1&cursor="+page.NextCursor, admin, "")
		if p2 := decode[struct {
			Items      []personJSON `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}](t, body); len(p2.Items) != 1 || p2.NextCursor != "" || p2.Items[0].ID == page.Items[0].ID {
			t.Fatalf("second page: %s", body)
		}

		// Another org sees none of it.
		for _, path := range []string{"/api/v1/people/" + hire.ID, "/api/v1/people/" + hire.ID + "/documents/" + doc.ID + "/content"} {
			resp, body = w.api("GET", path, w.otherTok, "")
			want(t, "other org reads "+path, resp, body, 404, "")
		}
		resp, body = w.api("PATCH", "/api/v1/people/"+hire.ID, w.otherTok, `{"name":"Mine"}`)
		want(t, "other org patches", resp, body, 404, "")

		// Every change is in the audit log.
		_, body = w.api("GET", "/api/v1/audit-log?action=person.&limit=500", admin, "")
		for _, a := range []string{"person.create", "person.checklist.complete", "person.offboarding.start", "person.training.add", "person.document.add"} {
			if !strings.Contains(string(body), `"`+a+`"`) {
				t.Errorf("no %s in the audit log", a)
			}
		}
	})
}

func TestPeopleImportAPI(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		csvPost := func(body string) (*http.Response, []byte) {
			req, _ := http.NewRequest("POST", w.url+"/api/v1/people/import", strings.NewReader(body))
			req.Header.Set("Content-Type", "text/csv; charset=utf-8")
			req.Header.Set("Authorization", "Bearer "+admin)
			return w.do(req)
		}
		type report struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
			Errors []struct {
				Row    int    `json:"row"`
				Column string `json:"column"`
				Reason string `json:"reason"`
			} `json:"errors"`
		}
		resp, body := csvPost("email,department\nx@acme.example,Eng\n")
		want(t, "missing column", resp, body, 400, "")
		if r := decode[report](t, body); len(r.Errors) != 1 || r.Errors[0].Row != 1 || r.Errors[0].Column != "name" ||
			resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("missing column report: %s", body)
		}
		resp, body = csvPost("email,name,start_date,end_date\n" +
			"a@acme.example,A,2026-01-05,\n" +
			"a@acme.example,A again,,\n" +
			"b@acme.example,B,05/01/2026,\n" +
			"c@acme.example,C,2026-03-01,2026-01-01\n")
		want(t, "bad rows", resp, body, 400, "")
		r := decode[report](t, body)
		got := []string{}
		for _, e := range r.Errors {
			got = append(got, fmt.Sprintf("%d:%s", e.Row, e.Column))
		}
		if strings.Join(got, " ") != "3:email 4:start_date 5:end_date" {
			t.Fatalf("row report %v: %s", got, body)
		}
		_, body = w.api("GET", "/api/v1/people", admin, "")
		if strings.Contains(string(body), "a@acme.example") {
			t.Fatal("a refused file imported a row")
		}
		resp, body = w.api("POST", "/api/v1/people/import", admin, `{"email":"x@acme.example"}`)
		want(t, "JSON instead of CSV", resp, body, 400, "Content-Type")

		resp, body = csvPost("email,name,manager_email,start_date,employment_type\n" +
			"boss@acme.example,Boss,,2019-05-01,employee\n" +
			"dev@acme.example,Dev,boss@acme.example,,intern\n")
		want(t, "good import", resp, body, 201, "")
		if res := decode[struct {
			Imported int `json:"imported"`
		}](t, body); res.Imported != 2 {
			t.Fatalf("import result: %s", body)
		}
		resp, body = csvPost("email,name\nboss@acme.example,Boss again\n")
		want(t, "duplicate against the roster", resp, body, 400, "")
		if r := decode[report](t, body); len(r.Errors) != 1 || r.Errors[0].Row != 2 || r.Errors[0].Column != "email" {
			t.Fatalf("roster duplicate report: %s", body)
		}
		resp, _ = w.api("POST", "/api/v1/people/import", w.tokens[attest.RoleMember], "")
		if resp.StatusCode != 403 {
			t.Fatalf("member import: %d", resp.StatusCode)
		}
	})
}

func TestVendorAPI(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		resp, body := w.api("POST", "/api/v1/vendors", admin, fmt.Sprintf(`{"name":"Cloudy","tier":"1","owner_id":%q,"data_shared":"Customer data","services":"Hosting","website":"https://cloudy.example","subprocessor":true}`, w.users[attest.RoleAdmin].UserID))
		want(t, "add vendor", resp, body, 201, "")
		v := decode[struct {
			ID     string `json:"id"`
			Tier   string `json:"tier"`
			Report struct {
				State string `json:"state"`
			} `json:"report"`
		}](t, body)
		if v.Tier != "high" || v.Report.State != "none" {
			t.Fatalf("vendor: %s", body)
		}
		resp, body = w.api("POST", "/api/v1/vendors", admin, `{"name":"Snacks","tier":"low"}`)
		want(t, "add vendor", resp, body, 201, "")
		resp, body = w.api("POST", "/api/v1/vendors", admin, `{"name":"X","tier":"9"}`)
		want(t, "bad tier", resp, body, 400, "tier")
		resp, body = w.api("POST", "/api/v1/vendors", admin, `{"name":"X","owner_id":"usr_nobody"}`)
		want(t, "unknown owner", resp, body, 400, "owner_id")

		resp, body = w.api("GET", "/api/v1/vendors?subprocessor=true", w.tokens[attest.RoleViewer], "")
		want(t, "subprocessors", resp, body, 200, "")
		if l := decode[struct {
			Items []struct{ Name string } `json:"items"`
		}](t, body); len(l.Items) != 1 || l.Items[0].Name != "Cloudy" {
			t.Fatalf("subprocessor list: %s", body)
		}
		resp, body = w.api("GET", "/api/v1/vendors?subprocessor=maybe", admin, "")
		want(t, "bad subprocessor filter", resp, body, 400, "subprocessor")

		period := time.Now().UTC().AddDate(-1, -1, 0).Format("2006-01-02") // 13 months ago: bridge letter needed
		resp, body = w.upload("/api/v1/vendors/"+v.ID+"/reports", admin, [][2]string{{"kind", "soc2_type2"}, {"period_end", period}}, "soc2.pdf", []byte("%PDF soc2"))
		want(t, "upload report", resp, body, 201, "")
		rep := decode[struct{ ID string }](t, body)
		resp, body = w.upload("/api/v1/vendors/"+v.ID+"/reports", admin, [][2]string{{"period_end", "last year"}}, "soc2.pdf", []byte("x"))
		want(t, "bad period end", resp, body, 400, "period_end")
		resp, body = w.api("GET", "/api/v1/vendors?report=bridge_letter_needed", admin, "")
		if !strings.Contains(string(body), v.ID) {
			t.Fatalf("bridge-letter filter: %s", body)
		}
		resp, body = w.api("GET", "/api/v1/vendors/"+v.ID+"/reports/"+rep.ID+"/content", w.tokens[attest.RoleAuditor], "")
		if resp.StatusCode != 200 || string(body) != "%PDF soc2" {
			t.Fatalf("download report: %d %q", resp.StatusCode, body)
		}
		resp, body = w.api("POST", "/api/v1/vendors/"+v.ID+"/reviews", admin, `{"outcome":"approved_with_conditions","notes":"Ask for the bridge letter"}`)
		want(t, "review", resp, body, 201, "")
		resp, body = w.api("POST", "/api/v1/vendors/"+v.ID+"/reviews", admin, `{"outcome":"meh"}`)
		want(t, "bad outcome", resp, body, 400, "outcome")
		resp, body = w.api("GET", "/api/v1/vendors/"+v.ID, admin, "")
		if !strings.Contains(string(body), `"bridge_letter_needed"`) || !strings.Contains(string(body), "Ask for the bridge letter") {
			t.Fatalf("vendor detail: %s", body)
		}
		resp, body = w.api("GET", "/api/v1/vendors/"+v.ID, w.otherTok, "")
		want(t, "other org reads vendor", resp, body, 404, "")
		resp, body = w.api("PATCH", "/api/v1/vendors/"+v.ID, admin, `{"status":"offboarded"}`)
		want(t, "offboard vendor", resp, body, 200, "")
		resp, _ = w.api("PATCH", "/api/v1/vendors/"+v.ID, w.tokens[attest.RoleMember], `{"status":"active"}`)
		if resp.StatusCode != 403 {
			t.Fatalf("member changed a vendor: %d", resp.StatusCode)
		}
	})
}

func TestRiskAPI(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		ra1 := w.controlID("RA-01")
		resp, body := w.api("POST", "/api/v1/risks", admin, `{"title":"Laptop stolen","likelihood":7,"impact":3}`)
		want(t, "likelihood of 7", resp, body, 400, "likelihood")
		resp, body = w.api("POST", "/api/v1/risks", admin, `{"title":"Laptop stolen","likelihood":"high","impact":3}`)
		want(t, "likelihood as text", resp, body, 400, "likelihood")
		resp, body = w.api("POST", "/api/v1/risks", admin, `{"title":"Laptop stolen","likelihood":3,"impact":3,"control_ids":["ctl_nope"]}`)
		want(t, "unknown control", resp, body, 400, "control_ids")
		resp, body = w.api("POST", "/api/v1/risks", admin, fmt.Sprintf(`{"title":"Laptop stolen","likelihood":3,"impact":3,"control_ids":[%q]}`, w.otherCtl))
		want(t, "control of another org", resp, body, 400, "control_ids")
		resp, body = w.api("POST", "/api/v1/risks", admin, `{"title":"Laptop stolen","likelihood":3,"impact":3,"treatment":"pray"}`)
		want(t, "treatment", resp, body, 400, "treatment")
		resp, body = w.api("POST", "/api/v1/risks", admin, `{"title":"Laptop stolen",`)
		want(t, "malformed", resp, body, 400, "body")

		resp, body = w.api("POST", "/api/v1/risks", admin, fmt.Sprintf(`{"title":"Laptop stolen","category":"physical","likelihood":4,"impact":3,"residual_likelihood":2,"residual_impact":3,"treatment":"mitigate","control_ids":[%q],"review_date":"2027-01-31"}`, ra1))
		want(t, "add risk", resp, body, 201, "")
		rk := decode[struct {
			ID            string `json:"id"`
			InherentScore int    `json:"inherent_score"`
			ResidualScore int    `json:"residual_score"`
		}](t, body)
		if rk.InherentScore != 12 || rk.ResidualScore != 6 {
			t.Fatalf("scores: %s", body)
		}
		resp, body = w.api("PATCH", "/api/v1/risks/"+rk.ID, admin, `{"impact":0}`)
		want(t, "impact 0", resp, body, 400, "impact")
		resp, body = w.api("GET", "/api/v1/risks/heatmap", w.tokens[attest.RoleViewer], "")
		want(t, "heat map", resp, body, 200, "")
		hm := decode[struct {
			Inherent struct{ Cells [5][5]int } `json:"inherent"`
			Residual struct{ Cells [5][5]int } `json:"residual"`
		}](t, body)
		if hm.Inherent.Cells[3][2] != 1 || hm.Residual.Cells[1][2] != 1 {
			t.Fatalf("heat map: %s", body)
		}
		resp, body = w.api("POST", "/api/v1/risk-assessments", admin, `{"title":"Risk assessment 2026","summary":"Approved by the CEO."}`)
		want(t, "assessment", resp, body, 201, "")
		a := decode[struct {
			ID          string   `json:"id"`
			SHA256      string   `json:"sha256"`
			EvidenceIDs []string `json:"evidence_ids"`
		}](t, body)
		if len(a.EvidenceIDs) != 2 || len(a.SHA256) != 64 {
			t.Fatalf("assessment: %s", body)
		}
		resp, body = w.api("GET", "/api/v1/risk-assessments/"+a.ID, w.tokens[attest.RoleAuditor], "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"intact":true`) || !strings.Contains(string(body), "Laptop stolen") {
			t.Fatalf("assessment detail: %s", body)
		}
		resp, body = w.api("GET", "/api/v1/controls/"+ra1+"/evidence", w.tokens[attest.RoleAuditor], "")
		if !strings.Contains(string(body), a.SHA256) {
			t.Fatalf("RA-01 evidence does not name the snapshot hash: %s", body)
		}
		resp, body = w.api("GET", "/api/v1/risks/"+rk.ID, w.otherTok, "")
		want(t, "other org reads risk", resp, body, 404, "")
		resp, body = w.api("GET", "/api/v1/risk-assessments/"+a.ID, w.otherTok, "")
		want(t, "other org reads assessment", resp, body, 404, "")
	})
}

func TestIncidentAPI(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		resp, body := w.api("POST", "/api/v1/incidents", admin, `{"title":"Phished account","severity":"sev2","detected_at":"2026-01-02T10:00:00Z","control_ids":["unknown"]}`)
		want(t, "unknown control", resp, body, 400, "control_ids")
		resp, body = w.api("POST", "/api/v1/incidents", admin, `{"title":"Phished account","severity":"sev7"}`)
		want(t, "severity", resp, body, 400, "severity")
		resp, body = w.api("POST", "/api/v1/incidents", admin, `{"title":"Phished account","severity":"sev2","detected_at":"yesterday"}`)
		want(t, "detected_at", resp, body, 400, "detected_at")
		resp, body = w.api("POST", "/api/v1/incidents", admin, fmt.Sprintf(`{"title":"Phished account","severity":"critical","detected_at":"2026-01-02T10:00:00Z","control_ids":[%q]}`, w.controlID("IR-01")))
		want(t, "add incident", resp, body, 201, "")
		inc := decode[struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
		}](t, body)
		if inc.Severity != "sev1" {
			t.Fatalf("severity alias: %s", body)
		}
		resp, body = w.api("POST", "/api/v1/incidents/"+inc.ID+"/timeline", admin, `{"at":"2026-01-02T10:30:00Z","what":"Sessions revoked"}`)
		want(t, "timeline", resp, body, 201, "")
		resp, body = w.api("PATCH", "/api/v1/incidents/"+inc.ID, admin, `{"status":"closed"}`)
		want(t, "close without lessons", resp, body, 400, "lessons_learned")
		resp, body = w.api("PATCH", "/api/v1/incidents/"+inc.ID, admin, `{"status":"closed","root_cause":"No phishing-resistant MFA","lessons_learned":"Roll out security keys"}`)
		want(t, "close", resp, body, 200, "")
		if !strings.Contains(string(body), `"evidence_id":"evd_`) {
			t.Fatalf("closed incident has no evidence: %s", body)
		}
		resp, body = w.api("POST", "/api/v1/incidents/"+inc.ID+"/timeline", admin, `{"what":"late"}`)
		want(t, "append to closed", resp, body, 409, "")
		resp, body = w.api("GET", "/api/v1/incidents/"+inc.ID+"/timeline", w.tokens[attest.RoleViewer], "")
		if l := decode[struct {
			Items []struct{ What string } `json:"items"`
		}](t, body); len(l.Items) != 3 || l.Items[1].What != "Sessions revoked" {
			t.Fatalf("timeline: %s", body)
		}
		resp, body = w.api("POST", "/api/v1/incidents", admin, `{"kind":"tabletop","title":"Ransomware drill"}`)
		want(t, "tabletop", resp, body, 201, "")
		tt := decode[struct{ ID string }](t, body)
		resp, body = w.api("PATCH", "/api/v1/incidents/"+tt.ID, admin, `{"status":"closed","lessons_learned":"The call tree was stale"}`)
		want(t, "close tabletop", resp, body, 200, "")
		_, body = w.api("GET", "/api/v1/controls/"+w.controlID("IR-02")+"/evidence", admin, "")
		if !strings.Contains(string(body), "Ransomware drill") {
			t.Fatalf("IR-02 evidence: %s", body)
		}
		_, body = w.api("GET", "/api/v1/incidents?kind=tabletop", admin, "")
		if strings.Contains(string(body), "Phished") || !strings.Contains(string(body), "Ransomware") {
			t.Fatalf("kind filter: %s", body)
		}
		resp, body = w.api("GET", "/api/v1/incidents/"+inc.ID, w.otherTok, "")
		want(t, "other org reads incident", resp, body, 404, "")
		_, body = w.api("GET", "/api/v1/audit-log?action=incident.&limit=100", admin, "")
		for _, a := range []string{"incident.create", "incident.update", "incident.timeline.add"} {
			if !strings.Contains(string(body), `"`+a+`"`) {
				t.Errorf("no %s in the audit log", a)
			}
		}
	})
}

// TestRegisterPages walks the register pages through the real mux with
// browser sessions: forms, bad input shown on the page, and the
// data-test-id hooks the browser tests rely on.
func TestRegisterPages(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		// The world's users still owe a new password, which every page
		// would ask for first.
		must(t, db.InTx(t.Context(), w.users[attest.RoleOwner], func(tx *store.Tx) error {
			_, err := tx.ExecContext(t.Context(), "UPDATE users SET must_change_password = $1", false)
			return err
		}))
		type pg struct {
			status   int
			body     string
			location string
		}
		as := func(role attest.Role, method, path string, form url.Values) pg {
			t.Helper()
			resp, body := w.page(role, method, path, form)
			return pg{resp.StatusCode, string(body), resp.Header.Get("Location")}
		}
		has := func(p pg, hooks ...string) {
			t.Helper()
			for _, h := range hooks {
				if !strings.Contains(p.body, `data-test-id="`+h+`"`) {
					t.Fatalf("no data-test-id=%q (status %d)\n%s", h, p.status, trim([]byte(p.body)))
				}
			}
		}
		admin := attest.RoleAdmin

		// People: a bad import shows every row error and adds nobody.
		p := as(admin, "POST", "/people/import", url.Values{"csv": {"email,name,start_date\na@acme.example,A,2026-02-30\na@acme.example,B,\n"}})
		if p.status != 400 {
			t.Fatalf("bad import: %d", p.status)
		}
		has(p, "import-errors", "import-error", "import-csv")
		if strings.Count(p.body, `data-test-id="import-error"`) != 2 {
			t.Fatalf("want two row errors:\n%s", p.body)
		}
		p = as(admin, "POST", "/people/import", url.Values{"csv": {"email,name,department\nana@acme.example,Ana,Eng\n"}})
		if p.status != 303 {
			t.Fatalf("good import: %d %s", p.status, trim([]byte(p.body)))
		}
		p = as(admin, "GET", "/people?department=Eng", nil)
		has(p, "register-nav", "people-filters", "people-table", "person-row", "onboarding-progress", "person-form", "import-form")
		p = as(admin, "POST", "/people", url.Values{"name": {"Bo"}, "email": {"bo@acme.example"}, "start_date": {"2026-02-30"}})
		if p.status != 400 || !strings.Contains(p.body, `data-test-id="form-error"`) {
			t.Fatalf("bad start date: %d", p.status)
		}
		p = as(admin, "POST", "/people", url.Values{"name": {"Bo"}, "email": {"bo@acme.example"}, "start_date": {time.Now().UTC().Format("2006-01-02")}})
		if p.status != 303 || !strings.HasPrefix(p.location, "/people/per_") {
			t.Fatalf("add person: %d %q", p.status, p.location)
		}
		personPath := strings.Split(p.location, "?")[0]
		p = as(admin, "GET", personPath, nil)
		has(p, "checklists", "checklist-onboarding", "complete-form", "complete-background_check", "training-form", "document-form", "person-edit")
		item := regexp.MustCompile(`action="(/people/per_[a-z0-9]+/checklist/chk_[a-z0-9]+)"`).FindStringSubmatch(p.body)
		if item == nil {
			t.Fatal("no checklist form action")
		}
		if p = as(admin, "POST", item[1], url.Values{"note": {"done by HR"}}); p.status != 303 {
			t.Fatalf("complete item: %d", p.status)
		}
		has(as(admin, "GET", personPath, nil), "item-done")
		if p = as(admin, "POST", personPath, url.Values{"name": {"Bo"}, "start_date": {"2026-03-01"}, "end_date": {"2026-01-01"}}); p.status != 400 {
			t.Fatalf("end before start: %d", p.status)
		}
		if p = as(attest.RoleViewer, "GET", "/people", nil); p.status != 403 {
			t.Fatalf("viewer reads the roster: %d", p.status)
		}

		// Vendors with freshness badges.
		if p = as(admin, "POST", "/vendors", url.Values{"name": {"Cloudy"}, "tier": {"high"}, "subprocessor": {"on"}}); p.status != 303 {
			t.Fatalf("add vendor: %d %s", p.status, trim([]byte(p.body)))
		}
		vendorPath := strings.Split(p.location, "?")[0]
		p = as(attest.RoleViewer, "GET", "/vendors?subprocessor=true", nil)
		has(p, "vendor-table", "vendor-row", "subprocessor", "report-badge")
		if strings.Contains(p.body, `data-test-id="vendor-form"`) {
			t.Fatal("a viewer sees the add-vendor form")
		}
		has(as(admin, "GET", vendorPath, nil), "reports", "report-form", "reviews", "review-form")

		// Risks: a likelihood of 7 is refused on the page; the heat map counts.
		p = as(admin, "POST", "/risks", url.Values{"title": {"Stolen laptop"}, "likelihood": {"7"}, "impact": {"3"}})
		if p.status != 400 || !strings.Contains(p.body, "likelihood") {
			t.Fatalf("likelihood 7: %d", p.status)
		}
		if p = as(admin, "POST", "/risks", url.Values{"title": {"Stolen laptop"}, "likelihood": {"4"}, "impact": {"3"}, "controls": {"AC-NOPE"}}); p.status != 400 {
			t.Fatalf("unknown control code: %d", p.status)
		}
		if p = as(admin, "POST", "/risks", url.Values{"title": {"Stolen laptop"}, "likelihood": {"4"}, "impact": {"3"}, "residual_likelihood": {"2"}, "controls": {"RA-01"}}); p.status != 303 {
			t.Fatalf("add risk: %d %s", p.status, trim([]byte(p.body)))
		}
		p = as(attest.RoleViewer, "GET", "/risks", nil)
		has(p, "heatmaps", "heatmap-inherent", "heatmap-residual", "risk-table", "risk-row")
		if !strings.Contains(p.body, `data-test-id="cell-inherent-4-3" data-count="1"`) || !strings.Contains(p.body, `data-test-id="cell-residual-2-3" data-count="1"`) {
			t.Fatalf("heat map cells:\n%s", p.body)
		}
		if p = as(admin, "POST", "/risk-assessments", url.Values{"title": {"Risk assessment 2026"}}); p.status != 303 {
			t.Fatalf("assessment: %d", p.status)
		}
		has(as(attest.RoleAuditor, "GET", strings.Split(p.location, "?")[0], nil), "assessment-sha256", "assessment-intact", "snapshot-table")

		// Incidents with their timeline.
		if p = as(admin, "POST", "/incidents", url.Values{"title": {"Phished"}, "severity": {"sev2"}, "detected_at": {"2026-01-02T10:00"}}); p.status != 303 {
			t.Fatalf("add incident: %d %s", p.status, trim([]byte(p.body)))
		}
		incPath := strings.Split(p.location, "?")[0]
		if p = as(admin, "POST", incPath+"/timeline", url.Values{"what": {"Sessions revoked"}}); p.status != 303 {
			t.Fatalf("timeline: %d", p.status)
		}
		if p = as(admin, "POST", incPath, url.Values{"status": {"closed"}, "severity": {"sev2"}}); p.status != 400 {
			t.Fatalf("close without lessons: %d", p.status)
		}
		p = as(attest.RoleAuditor, "GET", incPath, nil)
		has(p, "timeline", "timeline-entry", "incident-status")
		if strings.Count(p.body, `data-test-id="timeline-entry"`) != 2 {
			t.Fatalf("timeline entries:\n%s", p.body)
		}
		has(as(admin, "GET", "/incidents", nil), "incident-table", "incident-row", "incident-form")
	})
}
