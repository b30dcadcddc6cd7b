package web_test

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/monitor"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/web"
)

var detectT0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// ctLine is one CloudTrail record as a JSON line.
func ctLine(at time.Time, user, source, name, ip string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","userName":"%s"},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"aws-cli/2","requestParameters":{"name":"trail-1"}}`,
		user, user, at.UTC().Format(time.RFC3339), source, name, ip) + "\n"
}

func stopLogging(at time.Time, user, ip string) string {
	return ctLine(at, user, "cloudtrail.amazonaws.com", "StopLogging", ip)
}

// ingest posts events with the token, with extra headers given as
// name, value pairs.
func (w *world) ingest(tok, query string, body io.Reader, headers ...string) (*http.Response, []byte) {
	w.t.Helper()
	req, err := http.NewRequest("POST", w.url+"/api/v1/events"+query, body)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return w.do(req)
}

func (w *world) ingestOK(tok, query, body string) monitor.IngestSummary {
	w.t.Helper()
	resp, b := w.ingest(tok, query, strings.NewReader(body))
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("ingest: %d %s", resp.StatusCode, b)
	}
	return decode[monitor.IngestSummary](w.t, b)
}

// problemOf checks status and field of an error answer.
func problemOf(t *testing.T, resp *http.Response, b []byte, status int, field string) problem {
	t.Helper()
	p := decode[problem](t, b)
	if resp.StatusCode != status || p.Field != field || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("%d field %q (%s), want %d naming %q", resp.StatusCode, p.Field, p.Detail, status, field)
	}
	return p
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type alertView struct {
	monitor.Alert
	SuppressionOffer *monitor.SuppressionInput `json:"suppression_offer"`
}

// TestDetectionJourney: a CloudTrail delivery file goes in with a bearer
// token; its alerts appear for the team; the on-call member acknowledges
// one, marks another a false positive (a reason is required), and an admin
// turns the offered suppression on so it does not page twice. Each step is
// in the audit log; the month's statistics become evidence.
func TestDetectionJourney(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		owner, admin, member, auditor := w.tokens[attest.RoleOwner], w.tokens[attest.RoleAdmin], w.tokens[attest.RoleMember], w.tokens[attest.RoleAuditor]
		sample, err := os.ReadFile("../detect/testdata/cloudtrail/aws-docs-examples.json")
		if err != nil {
			t.Fatal(err)
		}
		sum := w.ingestOK(owner, "?format=cloudtrail", string(sample))
		if sum.Format != "cloudtrail" || sum.Events != 5 || sum.Malformed != 0 || sum.Alerts < 1 || len(sum.AlertIDs) != int(sum.Alerts) {
			t.Fatalf("summary: %+v", sum)
		}
		// The gzip delivery file, sniffed, and the same with Content-Encoding.
		gzSample, err := os.ReadFile("../detect/testdata/cloudtrail/aws-docs-examples.json.gz")
		if err != nil {
			t.Fatal(err)
		}
		for _, hdr := range [][]string{nil, {"Content-Encoding", "gzip"}} {
			body := gzSample
			if hdr != nil {
				body = gz(t, sample)
			}
			resp, b := w.ingest(admin, "", bytes.NewReader(body), hdr...)
			if resp.StatusCode != 200 {
				t.Fatalf("gzip %v: %d %s", hdr, resp.StatusCode, b)
			}
			if s := decode[monitor.IngestSummary](t, b); s.Events != 5 || s.Alerts != 0 || s.Duplicates == 0 {
				t.Errorf("gzip %v, the same records again: %+v, want 5 events and only duplicates", hdr, s)
			}
		}

		list := decode[web.List[monitor.Alert]](t, w.taskCall("GET", "/api/v1/alerts", auditor, "", 200))
		if len(list.Items) != int(sum.Alerts) {
			t.Fatalf("alerts listed: %d, want %d", len(list.Items), sum.Alerts)
		}
		ruleID := ""
		for _, a := range list.Items {
			if a.Kind == "rule" {
				ruleID = a.ID
			}
		}
		a := decode[alertView](t, w.taskCall("GET", "/api/v1/alerts/"+ruleID, auditor, "", 200))
		if a.Rule != "attest_aws_cloudtrail_policy_changed" || !strings.Contains(a.Reason, "UpdateTrail") || len(a.Samples) != 1 ||
			len(a.Criteria) == 0 || a.Status != "open" {
			t.Fatalf("alert: %+v", a)
		}
		if got := decode[web.List[monitor.Alert]](t, w.taskCall("GET", "/api/v1/alerts?severity=medium&status=open", member, "", 200)); len(got.Items) != 1 {
			t.Errorf("medium open alerts: %d", len(got.Items))
		}
		w.taskBadInput("GET", "/api/v1/alerts?status=closed", member, "", "status")
		w.taskBadInput("GET", "/api/v1/alerts?since=yesterday", member, "", "since")
		w.taskBadInput("GET", "/api/v1/alerts?cursor=nope", member, "", "cursor")

		// Triage: acknowledge, then resolve; both in the audit log.
		acked := decode[alertView](t, w.taskCall("PATCH", "/api/v1/alerts/"+ruleID, member, `{"status":"acknowledged"}`, 200))
		if acked.Status != "acknowledged" || acked.AcknowledgedBy != "member@acme.example" || acked.TimeToAcknowledge == nil {
			t.Fatalf("acknowledged: %+v", acked)
		}
		w.taskCall("PATCH", "/api/v1/alerts/"+ruleID, member, `{"status":"acknowledged"}`, 409)
		w.taskBadInput("PATCH", "/api/v1/alerts/"+ruleID, member, `{"status":"false_positive"}`, "reason")
		w.taskBadInput("PATCH", "/api/v1/alerts/"+ruleID, member, `{"status":"gone"}`, "status")
		w.taskBadInput("PATCH", "/api/v1/alerts/"+ruleID, member, `{"status":"resolved","note":"x"}`, "note")
		fp := decode[alertView](t, w.taskCall("PATCH", "/api/v1/alerts/"+ruleID, member, `{"status":"false_positive","reason":"Alice rotates trails every quarter"}`, 200))
		if fp.Status != "false_positive" || fp.ResolvedBy != "member@acme.example" || fp.SuppressionOffer == nil ||
			fp.SuppressionOffer.Rule != fp.Rule || fp.SuppressionOffer.Actor != fp.Actor {
			t.Fatalf("false positive: %+v", fp)
		}
		log := decode[web.List[map[string]any]](t, w.taskCall("GET", "/api/v1/audit-log", owner, "", 200))
		found := map[string]string{}
		for _, e := range log.Items {
			if e["target_id"] == ruleID {
				found[fmt.Sprint(e["action"])] = fmt.Sprint(e["actor"])
			}
		}
		if found["alert.acknowledged"] != "member@acme.example" || found["alert.false_positive"] != "member@acme.example" || found["alert.open"] == "" {
			t.Errorf("audit entries of the alert: %v", found)
		}

		// The offered suppression, as an admin (a member may not).
		offer, _ := jsonOf(fp.SuppressionOffer)
		w.taskCall("POST", "/api/v1/suppressions", member, offer, 403)
		sup := decode[monitor.Suppression](t, w.taskCall("POST", "/api/v1/suppressions", admin, offer, 201))
		if sup.AlertID != ruleID || sup.Reason != "Alice rotates trails every quarter" {
			t.Errorf("suppression: %+v", sup)
		}
		// The same activity an hour later is counted, not alerted.
		again := strings.Replace(string(sample), "2016-07-14T19:15:45Z", "2016-07-14T21:15:45Z", 1)
		s2 := w.ingestOK(owner, "?format=cloudtrail", again)
		if s2.Suppressed != 1 || s2.Alerts != 0 {
			t.Errorf("after the suppression: %+v", s2)
		}
		if got := decode[monitor.Suppression](t, w.taskCall("GET", "/api/v1/suppressions/"+sup.ID, auditor, "", 200)); got.Matched != 1 {
			t.Errorf("suppression matches: %d", got.Matched)
		}

		st := decode[monitor.Stats](t, w.taskCall("GET", "/api/v1/alerts/stats?days=7", auditor, "", 200))
		if st.Total != int(sum.Alerts) || st.Acknowledge.Count != 1 || st.Resolve.Count != 1 || st.FalsePositives != 1 || st.Suppressed != 1 || len(st.Days) != 7 {
			t.Errorf("stats: %+v", st)
		}
		w.taskBadInput("GET", "/api/v1/alerts/stats?days=0", auditor, "", "days")
		month := time.Now().UTC().Format("2006-01")
		filed := decode[map[string]any](t, w.taskCall("POST", "/api/v1/alerts/stats/evidence", member, `{"month":"`+month+`"}`, 201))
		if items, _ := filed["evidence"].([]any); len(items) != 2 {
			t.Errorf("filed: %v", filed)
		}
		w.taskCall("POST", "/api/v1/alerts/stats/evidence", member, `{"month":"`+month+`"}`, 409)
		w.taskBadInput("POST", "/api/v1/alerts/stats/evidence", member, `{"month":"March"}`, "month")
	})
}

func jsonOf(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func TestSuppressionStopsReAlertThroughAPI(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		first := w.ingestOK(admin, "?format=cloudtrail", stopLogging(detectT0, "bob", "203.0.113.5"))
		if first.Alerts != 1 {
			t.Fatalf("first: %+v", first)
		}
		w.taskBadInput("POST", "/api/v1/suppressions", admin, `{"reason":"x"}`, "rule")
		w.taskBadInput("POST", "/api/v1/suppressions", admin, `{"actor":"bob"}`, "reason")
		w.taskBadInput("POST", "/api/v1/suppressions", admin, `{"actor":"bob","network":"nope","reason":"x"}`, "network")
		w.taskBadInput("POST", "/api/v1/suppressions", admin, `{"actor":"bob","until":"2000-01-01","reason":"x"}`, "until")
		sup := decode[monitor.Suppression](t, w.taskCall("POST", "/api/v1/suppressions", admin,
			`{"rule":"attest_aws_cloudtrail_stopped","network":"203.0.113.0/24","reason":"the trail rotation job runs from the build network"}`, 201))
		// Three hours later (past the group window): from the build network
		// it is silenced; from elsewhere it alerts.
		s := w.ingestOK(admin, "?format=cloudtrail", stopLogging(detectT0.Add(3*time.Hour), "bob", "203.0.113.9")+
			stopLogging(detectT0.Add(3*time.Hour), "carol", "198.51.100.7"))
		if s.Suppressed != 1 || s.Alerts != 1 {
			t.Errorf("with the suppression: %+v", s)
		}
		list := decode[web.List[monitor.Suppression]](t, w.taskCall("GET", "/api/v1/suppressions?active=true", w.tokens[attest.RoleAuditor], "", 200))
		if len(list.Items) != 1 || list.Items[0].Matched != 1 {
			t.Errorf("suppressions: %+v", list.Items)
		}
		w.taskCall("DELETE", "/api/v1/suppressions/"+sup.ID, admin, "", 204)
		w.taskCall("GET", "/api/v1/suppressions/"+sup.ID, admin, "", 404)
		if s := w.ingestOK(admin, "?format=cloudtrail", stopLogging(detectT0.Add(9*time.Hour), "bob", "203.0.113.9")); s.Alerts != 1 {
			t.Errorf("after removing it: %+v", s)
		}
	})
}

// TestAlertOrgIsolation: another org can neither see nor triage acme's
// alerts or suppressions; its own uploads stay its own.
func TestAlertOrgIsolation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		owner := w.tokens[attest.RoleOwner]
		s := w.ingestOK(owner, "?format=cloudtrail", stopLogging(detectT0, "bob", "203.0.113.5"))
		id := s.AlertIDs[0]
		sup := decode[monitor.Suppression](t, w.taskCall("POST", "/api/v1/suppressions", owner, `{"actor":"x","reason":"y"}`, 201))
		w.taskCall("GET", "/api/v1/alerts/"+id, w.otherTok, "", 404)
		w.taskCall("PATCH", "/api/v1/alerts/"+id, w.otherTok, `{"status":"acknowledged"}`, 404)
		w.taskCall("GET", "/api/v1/suppressions/"+sup.ID, w.otherTok, "", 404)
		w.taskCall("DELETE", "/api/v1/suppressions/"+sup.ID, w.otherTok, "", 404)
		w.taskCall("POST", "/api/v1/suppressions", w.otherTok, `{"actor":"x","reason":"y","alert_id":"`+id+`"}`, 400)
		if l := decode[web.List[monitor.Alert]](t, w.taskCall("GET", "/api/v1/alerts", w.otherTok, "", 200)); len(l.Items) != 0 {
			t.Errorf("other org lists %d alerts", len(l.Items))
		}
		if l := decode[web.List[monitor.Suppression]](t, w.taskCall("GET", "/api/v1/suppressions", w.otherTok, "", 200)); len(l.Items) != 0 {
			t.Errorf("other org lists %d suppressions", len(l.Items))
		}
		// The same events sent by the other org are its own alert.
		if os := w.ingestOK(w.otherTok, "?format=cloudtrail", stopLogging(detectT0, "bob", "203.0.113.5")); os.Alerts != 1 || os.Duplicates != 0 {
			t.Errorf("other org's upload: %+v", os)
		}
		if a := decode[alertView](t, w.taskCall("GET", "/api/v1/alerts/"+id, owner, "", 200)); a.Status != "open" || a.Events != 1 {
			t.Errorf("acme's alert after the other org's triage attempt: %+v", a)
		}
	})
}

// endless yields lines until n bytes have been produced.
type endless struct {
	line []byte
	left int64
	pos  int
}

func (e *endless) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && e.left > 0 {
		c := copy(p[n:], e.line[e.pos:])
		if int64(c) > e.left {
			c = int(e.left)
		}
		n += c
		e.left -= int64(c)
		e.pos = (e.pos + c) % len(e.line)
	}
	return n, nil
}

func TestIngestBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		owner := w.tokens[attest.RoleOwner]
		good := stopLogging(detectT0, "bob", "203.0.113.5")

		resp, b := w.ingest(owner, "?format=syslog", strings.NewReader(good))
		problemOf(t, resp, b, 400, "format")
		resp, b = w.ingest(owner, "", strings.NewReader("hello, this is not a log\n"))
		problemOf(t, resp, b, 400, "format")
		resp, b = w.ingest(owner, "", strings.NewReader(good), "Content-Encoding", "br")
		problemOf(t, resp, b, 400, "Content-Encoding")
		resp, b = w.ingest(owner, "", strings.NewReader(good), "Content-Encoding", "gzip")
		problemOf(t, resp, b, 400, "body")

		// A truncated gzip stream: what came before the break is kept and
		// said; the answer names the body.
		var many strings.Builder
		for i := 0; i < 2000; i++ {
			many.WriteString(ctLine(detectT0.Add(time.Duration(i)*time.Second), fmt.Sprintf("u%d", i%7), "ec2.amazonaws.com", "DescribeInstances", "198.51.100.1"))
		}
		full := gz(t, []byte(many.String()))
		resp, b = w.ingest(owner, "?format=cloudtrail", bytes.NewReader(full[:len(full)*2/3]))
		p := problemOf(t, resp, b, 400, "body")
		if !strings.Contains(p.Detail, "cut short") {
			t.Errorf("truncated gzip: %s", p.Detail)
		}
		resp, b = w.ingest(owner, "?format=cloudtrail", bytes.NewReader(full[:len(full)*2/3]), "Content-Encoding", "gzip")
		problemOf(t, resp, b, 400, "body")

		// Invalid UTF-8: a line that is not JSON is counted; one whose
		// user name holds bad bytes still alerts, with the bytes replaced.
		bad := "\xff\xfe{\"not\": json}\n" + stopLogging(detectT0, "b\xffob", "203.0.113.5")
		s := w.ingestOK(owner, "?format=cloudtrail", bad)
		if s.Malformed != 1 || s.Events != 1 || s.Alerts != 1 || len(s.MalformedSamples) != 1 || s.MalformedSamples[0].Line != 1 {
			t.Errorf("invalid UTF-8: %+v", s)
		}
		a := decode[alertView](t, w.taskCall("GET", "/api/v1/alerts/"+s.AlertIDs[0], owner, "", 200))
		if !strings.Contains(a.Actor, "b\uFFFDob") {
			t.Errorf("actor with bad bytes stored as %q", a.Actor)
		}

		// A 10 MB single line between two good ones: counted as malformed.
		huge := good + strings.Repeat("A", 10<<20) + "\n" + stopLogging(detectT0.Add(time.Minute), "dave", "203.0.113.5")
		s = w.ingestOK(owner, "", huge)
		if s.Malformed != 1 || s.Events != 2 || s.MalformedSamples[0].Line != 2 {
			t.Errorf("10 MB line: %+v", s)
		}

		// Empty body: nothing read, nothing wrong.
		if s := w.ingestOK(owner, "?format=auto", ""); s.Events != 0 || s.Malformed != 0 {
			t.Errorf("empty body: %+v", s)
		}

		// Over the cap: refused from Content-Length before reading ...
		req, _ := http.NewRequest("POST", w.url+"/api/v1/events?format=cloudtrail", &endless{line: []byte(good), left: 300 << 20})
		req.ContentLength = 300 << 20
		req.Header.Set("Authorization", "Bearer "+owner)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("oversize with Content-Length: %v", err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		problemOf(t, resp, b, 413, "body")
		// ... and when streamed without a length, at the cap (10 MB lines,
		// each skipped quickly as malformed).
		line := []byte(strings.Repeat("x", 10<<20) + "\n")
		resp, b = w.ingest(owner, "?format=authlog", io.MultiReader(strings.NewReader("Mar  2 09:00:00 host sshd[1]: Accepted password for bob from 203.0.113.5 port 22 ssh2\n"),
			&endless{line: line, left: 270 << 20}))
		p = problemOf(t, resp, b, 413, "body")
		if !strings.Contains(p.Detail, "256 MiB") {
			t.Errorf("streamed oversize: %s", p.Detail)
		}
		// The server is fine afterwards.
		w.taskCall("GET", "/api/v1/alerts", owner, "", 200)
	})
}

// restart opens a second server on the same database, as a restart would.
func (w *world) restart() *world {
	w.t.Helper()
	master := make([]byte, keyring.KeySize)
	rand.Read(master)
	kr, err := keyring.FromBytes(master)
	if err != nil {
		w.t.Fatal(err)
	}
	blobs, err := blob.NewDisk(w.t.TempDir(), kr)
	if err != nil {
		w.t.Fatal(err)
	}
	srv, err := web.New(web.Config{DB: w.db, Sealer: kr, Blobs: blobs})
	if err != nil {
		w.t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	w.t.Cleanup(hs.Close)
	w2 := *w
	w2.srv, w2.url = srv, hs.URL
	return &w2
}

func TestRestartKeepsBaselines(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		w.taskBadInput("PATCH", "/api/v1/detection/settings", admin, `{"baseline":{"rare_ratio":2}}`, "baseline.rare_ratio")
		w.taskBadInput("PATCH", "/api/v1/detection/settings", admin, `{"notify_min_severity":"urgent"}`, "notify_min_severity")
		w.taskBadInput("PATCH", "/api/v1/detection/settings", admin, `{"notify_channels":["chn_nope"]}`, "notify_channels")
		w.taskBadInput("PATCH", "/api/v1/detection/settings", admin, `{"baseline":{"disabled":["everything"]}}`, "baseline.disabled")
		set := decode[monitor.Settings](t, w.taskCall("PATCH", "/api/v1/detection/settings", admin,
			`{"baseline":{"learning_period_hours":1,"min_events":3},"group_window_minutes":30}`, 200))
		if set.Baseline.LearningPeriodHours != 1 || set.Baseline.MinEvents != 3 || set.GroupWindowMinutes != 30 || set.Baseline.RateFactor != 10 {
			t.Fatalf("settings: %+v", set)
		}
		var learn strings.Builder
		for i := 0; i < 12; i++ {
			learn.WriteString(ctLine(detectT0.Add(time.Duration(i)*15*time.Minute), "alice", "ec2.amazonaws.com", "StartInstances", "198.51.100.10"))
		}
		w.ingestOK(admin, "?format=cloudtrail", learn.String())

		w2 := w.restart()
		info := decode[monitor.BaselineInfo](t, w2.taskCall("GET", "/api/v1/detection/baseline", w.tokens[attest.RoleAuditor], "", 200))
		if info.Entities != 1 || info.Events != 12 || len(info.Actors) != 1 || info.Actors[0].Events != 12 || info.SavedAt == nil {
			t.Fatalf("baseline after restart: %+v", info)
		}
		s := w2.ingestOK(admin, "?format=cloudtrail", ctLine(detectT0.Add(4*time.Hour), "alice", "iam.amazonaws.com", "CreateAccessKey", "198.51.100.10"))
		found := false
		for _, id := range s.AlertIDs {
			a := decode[alertView](t, w2.taskCall("GET", "/api/v1/alerts/"+id, admin, "", 200))
			if a.Rule == "baseline.first_seen_action" && strings.Contains(a.Reason, "StartInstances") {
				found = true
			}
		}
		if !found {
			t.Errorf("no first-seen alert after the restart: %+v", s)
		}
		got := decode[monitor.Settings](t, w2.taskCall("GET", "/api/v1/detection/settings", admin, "", 200))
		if got.Baseline.LearningPeriodHours != 1 || got.UpdatedAt == nil {
			t.Errorf("settings after restart: %+v", got)
		}
	})
}

// TestAlertDelivery: new alerts at or above the threshold are queued to
// the org's alert recipients and channels, in words, with a link.
func TestAlertDelivery(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		ch := decode[notify.Channel](t, w.taskCall("POST", "/api/v1/notification-channels", admin,
			`{"kind":"slack","name":"#security","url":"https://hooks.example.com/T000/B000","events":["digest"]}`, 201))
		w.taskCall("PATCH", "/api/v1/detection/settings", admin,
			`{"notify_min_severity":"high","notify_emails":["OnCall@acme.example"],"notify_channels":["`+ch.ID+`"]}`, 200)
		// A medium alert stays quiet; a critical one goes out twice.
		sample, _ := os.ReadFile("../detect/testdata/cloudtrail/aws-docs-examples.json")
		if s := w.ingestOK(admin, "?format=cloudtrail", string(sample)); s.Deliveries != 0 {
			t.Errorf("medium and low alerts delivered: %+v", s)
		}
		// (bob is also new after the sample's two years of history: a low
		// "new actor" alert, below the threshold.)
		s := w.ingestOK(admin, "?format=cloudtrail", stopLogging(detectT0, "bob", "203.0.113.5"))
		crit := decode[web.List[monitor.Alert]](t, w.taskCall("GET", "/api/v1/alerts?severity=critical", admin, "", 200))
		if s.Deliveries != 2 || len(crit.Items) != 1 {
			t.Fatalf("critical alert: %+v", s)
		}
		ds := decode[web.List[notify.Delivery]](t, w.taskCall("GET", "/api/v1/deliveries", admin, "", 200))
		n := 0
		for _, d := range ds.Items {
			if d.Event != monitor.EventAlert {
				continue
			}
			n++
			for _, want := range []string{"What happened: arn:aws:iam::111122223333:user/bob did cloudtrail:StopLogging", "Sigma rule attest_aws_cloudtrail_stopped",
				"CC7.2 (Anomaly monitoring)", "/alerts/" + crit.Items[0].ID} {
				if !strings.Contains(d.Body, want) {
					t.Errorf("%s delivery lacks %q:\n%s", d.Channel, want, d.Body)
				}
			}
			if !strings.Contains(d.Subject, "[CRITICAL]") {
				t.Errorf("subject %q", d.Subject)
			}
		}
		if n != 2 {
			t.Errorf("alert deliveries: %d, want email and slack", n)
		}
		// More events of the same group do not page again.
		if s := w.ingestOK(admin, "?format=cloudtrail", stopLogging(detectT0.Add(time.Minute), "bob", "203.0.113.5")); s.Grouped != 1 || s.Deliveries != 0 {
			t.Errorf("grouped event: %+v", s)
		}
	})
}

func TestAlertPages(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.passwordsChosen()
		owner := w.tokens[attest.RoleOwner]
		s := w.ingestOK(owner, "?format=cloudtrail", stopLogging(detectT0, "bob", "203.0.113.5")+stopLogging(detectT0, "carol", "203.0.113.6"))
		if s.Alerts != 2 {
			t.Fatalf("%+v", s)
		}
		id, id2 := s.AlertIDs[0], s.AlertIDs[1]
		has := func(role attest.Role, method, path string, form url.Values, status int, hooks ...string) string {
			t.Helper()
			resp, body := w.page(role, method, path, form)
			if resp.StatusCode != status {
				t.Fatalf("%s %s as %s: %d, want %d: %s", method, path, role, resp.StatusCode, status, trim(body))
			}
			for _, h := range hooks {
				if !strings.Contains(string(body), `data-test-id="`+h+`"`) {
					t.Errorf("%s %s as %s lacks data-test-id=%q", method, path, role, h)
				}
			}
			return string(body)
		}
		has(attest.RoleAuditor, "GET", "/alerts", nil, 200, "alert-chart", "alert-summary", "alert-filters", "alert-table", "alert-row", "alert-severity", "alert-status", "nav-alerts")
		has(attest.RoleMember, "GET", "/alerts?severity=critical&status=open", nil, 200, "alert-row")
		has(attest.RoleMember, "GET", "/alerts?severity=urgent", nil, 400, "form-error")
		page := has(attest.RoleMember, "GET", "/alerts/"+id, nil, 200, "alert-title", "alert-reason", "alert-rule", "alert-criteria", "alert-ack-form", "alert-resolve-form", "alert-fp-form", "alert-sample")
		if strings.Contains(page, "alert-suppress-form") {
			t.Error("the suppression offer shows before a false positive")
		}
		if body := has(attest.RoleAuditor, "GET", "/alerts/"+id, nil, 200, "alert-reason"); strings.Contains(body, "alert-ack-form") {
			t.Error("an auditor sees the triage forms")
		}
		has(attest.RoleMember, "GET", "/alerts/alr_unknown", nil, 404)
		// One click to acknowledge; a false positive needs a reason.
		has(attest.RoleMember, "POST", "/alerts/"+id+"/triage", url.Values{"status": {"acknowledged"}}, 303)
		has(attest.RoleMember, "POST", "/alerts/"+id+"/triage", url.Values{"status": {"false_positive"}}, 400, "form-error")
		has(attest.RoleMember, "POST", "/alerts/"+id+"/triage", url.Values{"status": {"false_positive"}, "reason": {"scheduled maintenance"}}, 303)
		body := has(attest.RoleMember, "GET", "/alerts/"+id, nil, 200, "alert-status-reason")
		if strings.Contains(body, "alert-suppress-form") {
			t.Error("a member sees the suppression form")
		}
		has(attest.RoleAdmin, "GET", "/alerts/"+id, nil, 200, "alert-suppress-form", "suppress-reason")
		has(attest.RoleAdmin, "POST", "/alerts/"+id+"/suppress", url.Values{"reason": {"scheduled maintenance"}, "network": {"203.0.113.5"}}, 303)
		has(attest.RoleMember, "POST", "/alerts/"+id2+"/triage", url.Values{"status": {"resolved"}}, 303)
		list := has(attest.RoleAuditor, "GET", "/alerts/suppressions", nil, 200, "suppression-table", "suppression-row", "suppression-matched")
		if strings.Contains(list, "suppression-form") {
			t.Error("an auditor sees the suppression form")
		}
		has(attest.RoleAdmin, "GET", "/alerts/suppressions", nil, 200, "suppression-form", "suppression-delete")
		has(attest.RoleAdmin, "POST", "/alerts/suppressions", url.Values{"reason": {"x"}}, 400, "form-error")
		has(attest.RoleAdmin, "POST", "/alerts/suppressions", url.Values{"actor": {"deploy-bot"}, "reason": {"the deploy robot"}}, 303)
		sups := decode[web.List[monitor.Suppression]](t, w.taskCall("GET", "/api/v1/suppressions", owner, "", 200))
		if len(sups.Items) != 2 || sups.Items[1].Network != "203.0.113.5" {
			t.Fatalf("suppressions: %+v", sups.Items)
		}
		has(attest.RoleAdmin, "POST", "/alerts/suppressions/"+sups.Items[0].ID+"/delete", url.Values{}, 303)
		has(attest.RoleMember, "POST", "/alerts/suppressions/"+sups.Items[1].ID+"/delete", url.Values{}, 403)
		if a := decode[alertView](t, w.taskCall("GET", "/api/v1/alerts/"+id, owner, "", 200)); a.Status != "false_positive" || a.StatusReason != "scheduled maintenance" {
			t.Errorf("after the pages: %+v", a)
		}
	})
}

// TestIngestClockSkewed: an event dated more than a day ahead of the
// server's clock is still matched, with its own time in the alert, and is
// counted in the summary; the on-time events around it stay one alert.
func TestIngestClockSkewed(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		owner := w.tokens[attest.RoleOwner]
		future := db.Now().AddDate(3, 0, 0)
		body := stopLogging(detectT0, "skew", "203.0.113.5") + stopLogging(future, "skew", "203.0.113.5") +
			stopLogging(detectT0.Add(time.Minute), "skew", "203.0.113.5")
		s := w.ingestOK(owner, "?format=cloudtrail", body)
		if s.Events != 3 || s.ClockSkewed != 1 || s.Alerts != 2 {
			t.Fatalf("summary %+v", s)
		}
		var times []time.Time
		for _, id := range s.AlertIDs {
			a := decode[alertView](t, w.taskCall("GET", "/api/v1/alerts/"+id, owner, "", 200))
			times = append(times, a.FirstTime)
		}
		var sawFuture bool
		for _, tm := range times {
			if tm.Year() == future.Year() {
				sawFuture = true
			}
		}
		if !sawFuture {
			t.Errorf("no alert keeps the skewed event's own time: %v", times)
		}
	})
}
