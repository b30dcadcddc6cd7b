package detect

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attest-hq/attest/detect/baseline"
	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/ingest"
	"github.com/attest-hq/attest/detect/rules"
)

func runFile(t *testing.T, e *Engine, data []byte) *ingest.Reader {
	t.Helper()
	r, err := ingest.NewReader(bytes.NewReader(data), ingest.Options{Now: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), r, e); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEngineOnSamples(t *testing.T) {
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"github/audit.json":        {"attest_github_repo_made_public", "attest_github_branch_protection_removed", "attest_github_archive_download", "attest_github_2fa_requirement_disabled"},
		"okta/systemlog.json":      {"attest_okta_mfa_removed", "attest_okta_admin_granted"},
		"gworkspace/admin.json":    {"attest_gworkspace_admin_role_assigned"},
		"k8s/audit.jsonl":          {"attest_k8s_pod_exec", "attest_k8s_cluster_role_binding"},
		"authlog/beats-test.log":   {"attest_linux_sudo_root", "attest_linux_user_added"},
		"auditd/beats-useradd.log": {"attest_linux_user_added"},
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			sink := &Collect{}
			e, err := New(Config{Rules: rs, Sink: sink})
			if err != nil {
				t.Fatal(err)
			}
			runFile(t, e, data)
			got := map[string]Alert{}
			for _, a := range sink.Alerts {
				got[a.Rule] = a
			}
			for _, w := range want {
				a, ok := got[w]
				if !ok {
					t.Errorf("no alert %s; got %v", w, keysOf(got))
					continue
				}
				if a.Reason == "" || a.Severity == "" || len(a.Criteria) == 0 || a.Events < 1 || a.Time.IsZero() {
					t.Errorf("incomplete alert %+v", a)
				}
			}
		})
	}
}

func keysOf(m map[string]Alert) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// ctLine makes one CloudTrail JSON line.
func ctLine(t time.Time, user, source, name, ip, extra string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/%s","userName":"%s"},"eventTime":"%s","eventSource":"%s","eventName":"%s","sourceIPAddress":"%s","userAgent":"aws-cli/2","requestParameters":{"bucketName":"data","key":"k"}%s,"recipientAccountId":"111122223333"}`,
		user, user, t.UTC().Format(time.RFC3339), source, name, ip, extra)
}

func TestGroupingCorrelationAndBaseline(t *testing.T) {
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	// Ten days of routine: alice writes objects from one network.
	for h := 0; h < 24*10; h++ {
		b.WriteString(ctLine(t0.Add(time.Duration(h)*time.Hour), "alice", "s3.amazonaws.com", "PutObject", "203.0.113.5", "") + "\n")
	}
	at := t0.Add(10 * 24 * time.Hour)
	// Then: StopLogging three times in a minute (one grouped alert), from a new network,
	// and a bulk download of 600 objects.
	for i := 0; i < 3; i++ {
		b.WriteString(ctLine(at.Add(time.Duration(i)*time.Second), "alice", "cloudtrail.amazonaws.com", "StopLogging", "198.51.100.7", "") + "\n")
	}
	for i := 0; i < 600; i++ {
		b.WriteString(ctLine(at.Add(time.Minute+time.Duration(i)*100*time.Millisecond), "alice", "s3.amazonaws.com", "GetObject", "203.0.113.5", "") + "\n")
	}
	sink := &Collect{}
	e, err := New(Config{Rules: rs, Sink: sink, Baseline: baseline.Config{RateMinCount: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	r := runFile(t, e, []byte(b.String()))
	if st := r.Stats(); st.Events != 24*10+603 || st.Malformed != 0 {
		t.Fatalf("reader stats %+v", st)
	}
	byRule := map[string][]Alert{}
	for _, a := range sink.Alerts {
		byRule[a.Rule] = append(byRule[a.Rule], a)
	}
	stop := byRule["attest_aws_cloudtrail_stopped"]
	if len(stop) != 1 || stop[0].Events != 3 || stop[0].Severity != "critical" {
		t.Fatalf("StopLogging alerts = %+v", stop)
	}
	if !strings.Contains(stop[0].Reason, "never did this before") || !strings.Contains(stop[0].Reason, "s3:PutObject") {
		t.Errorf("reason does not say what is typical: %s", stop[0].Reason)
	}
	if bulk := byRule["attest_aws_s3_bulk_download"]; len(bulk) != 1 || !strings.Contains(bulk[0].Reason, "500 events") {
		t.Errorf("bulk download alerts = %+v", bulk)
	}
	if len(byRule["attest_aws_s3_get_object"]) != 0 {
		t.Errorf("correlation-only rule alerted on its own")
	}
	if len(byRule["baseline.first_seen_action"]) == 0 || len(byRule["baseline.first_seen_network"]) == 0 {
		t.Errorf("baseline alerts missing: %v", keysOf(map[string]Alert{}))
		for k := range byRule {
			t.Log(k)
		}
	}
	// Suppression silences a rule.
	sink2 := &Collect{}
	e2, _ := New(Config{Rules: rs, Sink: sink2, DisableBaselines: true, Suppressions: []Suppression{{Rule: "attest_aws_cloudtrail_*", Reason: "test"}}})
	runFile(t, e2, []byte(b.String()))
	for _, a := range sink2.Alerts {
		if strings.HasPrefix(a.Rule, "attest_aws_cloudtrail_") {
			t.Errorf("suppressed alert sent: %+v", a)
		}
	}
	if e2.Stats().Suppressed != 3 {
		t.Errorf("suppressed = %d", e2.Stats().Suppressed)
	}
}

func TestSequentialEqualsParallel(t *testing.T) {
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "authlog", "beats-test.log"))
	if err != nil {
		t.Fatal(err)
	}
	par := &Collect{}
	e1, _ := New(Config{Rules: rs, Sink: par})
	runFile(t, e1, data)
	seq := &Collect{}
	e2, _ := New(Config{Rules: rs, Sink: seq})
	r, _ := ingest.NewReader(bytes.NewReader(data), ingest.Options{Now: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)})
	var ev event.Event
	for r.Next(&ev) {
		if err := e2.Process(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	}
	e2.Flush(context.Background())
	if fmt.Sprint(par.Alerts) != fmt.Sprint(seq.Alerts) {
		t.Errorf("parallel and sequential runs differ:\n%v\n%v", par.Alerts, seq.Alerts)
	}
}
