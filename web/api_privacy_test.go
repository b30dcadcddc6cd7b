package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/privacy"
	"github.com/attest-hq/attest/privacy/pii"
	"github.com/attest-hq/attest/store"
)

func inventoryReport(t *testing.T) []byte {
	t.Helper()
	sum := &pii.Summary{Files: 3, Bytes: 4096, Tables: 1, Rows: 50, Findings: 9,
		ByType:   map[pii.Type]int64{pii.Email: 6, pii.USSSN: 3},
		ByFile:   map[string]map[pii.Type]int64{"exports/users.csv": {pii.Email: 4, pii.USSSN: 2}},
		ByColumn: map[string]map[pii.Type]int64{"public.customers.contact": {pii.Email: 2, pii.USSSN: 1}}}
	b, err := json.Marshal(pii.NewReport(sum, []string{"exports", "postgres://app:hunter2@db/app"}, time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postInventory sends the multipart form `attest scan pii --upload` sends.
func (w *world) postInventory(tok string, fields map[string]string, file []byte) (*http.Response, []byte) {
	w.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, k := range []string{"control", "extra"} {
		if v, ok := fields[k]; ok {
			mw.WriteField(k, v)
		}
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "pii-inventory-2026-11-20.json")
		fw.Write(file)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", w.url+"/api/v1/privacy/inventories", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return w.do(req)
}

func TestPrivacyInventoryAPI(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		ctl, err := control.Get(ctx, db.Q(), w.org, w.control)
		must(t, err)
		report := inventoryReport(t)
		owner, member := w.tokens[attest.RoleOwner], w.tokens[attest.RoleMember]

		// Bad input: each is a 4xx with the field named, and nothing is recorded.
		for _, tc := range []struct {
			name   string
			tok    string
			fields map[string]string
			file   []byte
			status int
			field  string
		}{
			{"no token", "", map[string]string{"control": ctl.Code}, report, 401, ""},
			{"viewer", w.tokens[attest.RoleViewer], map[string]string{"control": ctl.Code}, report, 403, ""},
			{"auditor", w.tokens[attest.RoleAuditor], map[string]string{"control": ctl.Code}, report, 403, ""},
			{"no control", owner, map[string]string{}, report, 400, "control"},
			{"unknown control", owner, map[string]string{"control": "NO-SUCH-1"}, report, 400, "control"},
			{"other org's control", owner, map[string]string{"control": w.otherCtl}, report, 400, "control"},
			{"no file", owner, map[string]string{"control": ctl.Code}, nil, 400, "file"},
			{"not a report", owner, map[string]string{"control": ctl.Code}, []byte(`{"hello":1}`), 400, "file"},
			{"unknown type", owner, map[string]string{"control": ctl.Code},
				[]byte(`{"format":"attest.pii-inventory/1","scanned_at":"2026-11-20T00:00:00Z","by_type":{"shoe_size":2}}`), 400, "file"},
			{"unknown field", owner, map[string]string{"control": ctl.Code, "extra": "x"}, report, 400, "extra"},
		} {
			resp, body := w.postInventory(tc.tok, tc.fields, tc.file)
			if resp.StatusCode != tc.status || (tc.field != "" && !strings.Contains(string(body), tc.field)) {
				t.Errorf("%s: %d %s, want %d naming %q", tc.name, resp.StatusCode, body, tc.status, tc.field)
			}
		}
		if resp, body := w.api("POST", "/api/v1/privacy/inventories", owner, `{"control":"x"}`); resp.StatusCode != 400 || !strings.Contains(string(body), "multipart") {
			t.Errorf("JSON body: %d %s", resp.StatusCode, body)
		}
		if list, _ := privacy.List(ctx, db.Q(), w.org); len(list) != 0 {
			t.Fatalf("bad input recorded %d inventories", len(list))
		}

		// A member sends one by code, then the owner one by control id.
		resp, body := w.postInventory(member, map[string]string{"control": ctl.Code}, report)
		if resp.StatusCode != 201 {
			t.Fatalf("record: %d %s", resp.StatusCode, body)
		}
		first := decode[privacy.Inventory](t, body)
		if first.ControlID != ctl.ID || first.Findings != 9 || first.Locations != 2 || first.RecordedBy != w.users[attest.RoleMember].Email {
			t.Errorf("recorded %+v", first)
		}
		if strings.Contains(string(body), "hunter2") {
			t.Errorf("a database password came back: %s", body)
		}
		resp, body = w.postInventory(owner, map[string]string{"control": ctl.ID}, report)
		if resp.StatusCode != 201 {
			t.Fatalf("record by id: %d %s", resp.StatusCode, body)
		}
		second := decode[privacy.Inventory](t, body)

		// The report is evidence on the control, as a JSON file.
		resp, body = w.api("GET", "/api/v1/controls/"+ctl.ID+"/evidence", w.tokens[attest.RoleAuditor], "")
		if resp.StatusCode != 200 || !strings.Contains(string(body), first.EvidenceID) || !strings.Contains(string(body), "pii-inventory-2026-11-20.json") {
			t.Errorf("evidence: %d %s", resp.StatusCode, body)
		}
		resp, body = w.api("GET", "/api/v1/evidence/"+first.EvidenceID+"/content", owner, "")
		if resp.StatusCode != 200 || !bytes.Equal(body, report) {
			t.Errorf("evidence content: %d, differs from the report sent", resp.StatusCode)
		}

		// Reads: list, latest, one; auditors read, viewers do not.
		resp, body = w.api("GET", "/api/v1/privacy/inventories", w.tokens[attest.RoleAuditor], "")
		list := decode[struct{ Items []privacy.Inventory }](t, body)
		if resp.StatusCode != 200 || len(list.Items) != 2 || list.Items[0].ID != second.ID {
			t.Errorf("list: %d %s", resp.StatusCode, body)
		}
		resp, body = w.api("GET", "/api/v1/privacy/inventories/latest", owner, "")
		latest := decode[privacy.Inventory](t, body)
		if resp.StatusCode != 200 || latest.ID != second.ID || latest.Report.ByType[pii.Email] != 6 || latest.Report.Locations[0].Path != "exports/users.csv" {
			t.Errorf("latest: %d %s", resp.StatusCode, body)
		}
		if resp, _ := w.api("GET", "/api/v1/privacy/inventories/"+first.ID, owner, ""); resp.StatusCode != 200 {
			t.Errorf("one: %d", resp.StatusCode)
		}
		if resp, _ := w.api("GET", "/api/v1/privacy/inventories", w.tokens[attest.RoleViewer], ""); resp.StatusCode != 403 {
			t.Errorf("viewer list: %d", resp.StatusCode)
		}

		// Another org sees none of it: the id answers like an unknown one.
		if resp, _ := w.api("GET", "/api/v1/privacy/inventories/"+first.ID, w.otherTok, ""); resp.StatusCode != 404 {
			t.Errorf("other org reads an inventory: %d", resp.StatusCode)
		}
		if resp, _ := w.api("GET", "/api/v1/privacy/inventories/latest", w.otherTok, ""); resp.StatusCode != 404 {
			t.Errorf("other org's latest: %d", resp.StatusCode)
		}
		resp, body = w.api("GET", "/api/v1/privacy/inventories", w.otherTok, "")
		if resp.StatusCode != 200 || len(decode[struct{ Items []privacy.Inventory }](t, body).Items) != 0 {
			t.Errorf("other org's list: %d %s", resp.StatusCode, body)
		}

		// Each recording is in the audit log.
		var n int
		must(t, db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE org_id = $1 AND action = 'privacy.inventory.record'`, w.org).Scan(&n))
		if n != 2 {
			t.Errorf("audit entries %d, want 2", n)
		}

		// The page shows the latest inventory: chart, locations, who and when.
		resp2, err := w.browser(attest.RoleAuditor).Get(w.url + "/privacy")
		must(t, err)
		page, _ := io.ReadAll(resp2.Body)
		resp2.Body.Close()
		for _, hook := range []string{"inventory-latest", "inventory-chart", "location-row", "inventory-control", "inventory-history", "nav-privacy"} {
			if !strings.Contains(string(page), `data-test-id="`+hook+`"`) {
				t.Errorf("page: %d, no %s hook", resp2.StatusCode, hook)
			}
		}
		for _, want := range []string{"exports/users.csv", "public.customers.contact", "email 4", "2026-11-20 08:30", w.users[attest.RoleOwner].Email, ctl.Code, "<svg"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("page lacks %q", want)
			}
		}
		resp2, err = w.browser(attest.RoleViewer).Get(w.url + "/privacy")
		must(t, err)
		resp2.Body.Close()
		if resp2.StatusCode != 403 {
			t.Errorf("viewer page: %d", resp2.StatusCode)
		}
	})
}

func TestPrivacyPageEmpty(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		resp, err := w.browser(attest.RoleOwner).Get(w.url + "/privacy")
		must(t, err)
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), `data-test-id="inventory-empty"`) {
			t.Errorf("empty page: %d\n%s", resp.StatusCode, page)
		}
	})
}
