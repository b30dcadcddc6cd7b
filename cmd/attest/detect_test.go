package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// detectCLI runs the CLI in-process with stdin and returns stdout, stderr
// and the exit code.
func detectCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errb)
	code := exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func detectTestdata(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "detect", "testdata"}, parts...)...)
}

type cliAlert struct {
	Rule     string   `json:"rule"`
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	Criteria []string `json:"criteria"`
	Time     string   `json:"time"`
	Actor    string   `json:"actor"`
	Reason   string   `json:"reason"`
	Events   int      `json:"events"`
}

func parseAlerts(t *testing.T, out string) []cliAlert {
	t.Helper()
	var alerts []cliAlert
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var a cliAlert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("stdout line is not an alert: %q: %v", line, err)
		}
		if a.Rule == "" || a.Title == "" || a.Severity == "" || len(a.Criteria) == 0 || a.Time == "" || a.Reason == "" || a.Events < 1 {
			t.Errorf("alert misses contract fields: %q", line)
		}
		alerts = append(alerts, a)
	}
	return alerts
}

func TestDetectBuiltinOnDirectory(t *testing.T) {
	stdout, stderr, code := detectCLI(t, "", "detect", detectTestdata())
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	alerts := parseAlerts(t, stdout)
	rules := map[string]bool{}
	for _, a := range alerts {
		rules[a.Rule] = true
	}
	for _, want := range []string{"attest_github_repo_made_public", "attest_okta_mfa_removed", "attest_k8s_pod_exec", "attest_linux_sudo_root", "attest_gworkspace_admin_role_assigned"} {
		if !rules[want] {
			t.Errorf("no %s alert; got %v", want, rules)
		}
	}
	if !strings.Contains(stderr, "README.md: skipped") {
		t.Errorf("stray file in a directory not reported as skipped: %s", stderr)
	}
	if !strings.Contains(stderr, "events read") || !strings.Contains(stderr, "malformed") || !strings.Contains(stderr, "alerts") || !strings.Contains(stderr, "events/s") {
		t.Errorf("summary missing: %s", stderr)
	}
}

func TestDetectStdinFormatAndMalformed(t *testing.T) {
	input := `{"eventVersion":"1.08","eventTime":"2024-05-01T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/eve"},"sourceIPAddress":"198.51.100.9"}
this line is garbage
{"eventVersion":"1.08","eventTime":"2024-05-01T10:01:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"DeleteTrail","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/eve"},"sourceIPAddress":"198.51.100.9"}
`
	stdout, stderr, code := detectCLI(t, input, "detect", "--format", "cloudtrail", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	alerts := parseAlerts(t, stdout)
	if len(alerts) != 1 || alerts[0].Rule != "attest_aws_cloudtrail_stopped" || alerts[0].Events != 2 || alerts[0].Actor != "arn:aws:iam::1:user/eve" {
		t.Fatalf("alerts = %+v", alerts)
	}
	if !strings.Contains(stderr, "2 events read, 1 malformed, 1 alerts") || !strings.Contains(stderr, "-:2: skipped") {
		t.Errorf("stderr = %s", stderr)
	}
}

func TestDetectCustomRulesAndState(t *testing.T) {
	dir := t.TempDir()
	rule := `title: Any sudo
name: any_sudo
logsource:
    product: linux
    service: sudo
detection:
    selection:
        program: sudo
    condition: selection
level: low
`
	if err := os.WriteFile(filepath.Join(dir, "sudo.yml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.yml"), []byte("title: bad\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    a|nope: 1\n  condition: s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "baseline.json")
	stdout, stderr, code := detectCLI(t, "", "detect", "--rules", dir, "--state", state, detectTestdata("authlog", "beats-test.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, a := range parseAlerts(t, stdout) {
		if a.Rule != "any_sudo" {
			t.Errorf("unexpected rule %s with --rules", a.Rule)
		}
	}
	if !strings.Contains(stderr, "1 rule(s) cannot run") {
		t.Errorf("unsupported rule not reported: %s", stderr)
	}
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatalf("state not written: %v", err)
	}
	if !strings.Contains(string(data), `"actor":"vagrant"`) {
		t.Errorf("state lacks what was learned: %.200s", data)
	}
	// A second run starts from the saved state.
	if _, stderr, code := detectCLI(t, "", "detect", "--rules", dir, "--state", state, detectTestdata("authlog", "beats-test.log")); code != 0 {
		t.Fatalf("second run exit %d: %s", code, stderr)
	}
	data2, _ := os.ReadFile(state)
	// vagrant has 4 events in the sample: 8 after two runs.
	if !strings.Contains(string(data2), `"total":8`) {
		t.Errorf("second run did not add to the restored state: %.300s", data2)
	}
}

func TestDetectBadInvocations(t *testing.T) {
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"detect"}, 2, "needs a FILE"},
		{[]string{"detect", "--format", "evtx", "x"}, 2, "unknown format"},
		{[]string{"detect", "/does/not/exist"}, 2, "input /does/not/exist"},
		{[]string{"rules", "check"}, 2, "needs a DIR"},
	}
	for _, c := range cases {
		_, stderr, code := detectCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	// Unreadable content named explicitly: reported, exit 1.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x.bin"), []byte("\x00\x01 definitely not a log"), 0o644)
	_, stderr, code := detectCLI(t, "", "detect", filepath.Join(dir, "x.bin"))
	if code != 1 || !strings.Contains(stderr, "cannot tell the log format") {
		t.Errorf("unknown content: exit %d, %s", code, stderr)
	}
}

func TestDetectRulesCheck(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.yml"), []byte("title: good\nlogsource: {product: okta, service: okta}\ndetection:\n  s:\n    eventType: x\n  condition: s\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yml"), []byte("title: bad one\nlogsource: {product: windows}\ndetection:\n  s:\n    a: 1\n  condition: s\n"), 0o644)
	stdout, _, code := detectCLI(t, "", "rules", "check", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1 when a rule cannot run", code)
	}
	if !strings.Contains(stdout, "ok") || !strings.Contains(stdout, "cannot run") || !strings.Contains(stdout, "bad one") || !strings.Contains(stdout, "no reader") || !strings.Contains(stdout, "2 rules: 1 ok, 1 cannot run") {
		t.Errorf("stdout = %s", stdout)
	}
	os.Remove(filepath.Join(dir, "bad.yml"))
	if _, _, code := detectCLI(t, "", "rules", "check", dir); code != 0 {
		t.Errorf("all-good exit %d", code)
	}
}

func TestDetectPublicSigmaRules(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "sigma", "rules")
	if _, err := os.Stat(root); err != nil {
		t.Skip("public SigmaHQ rules not found at ../shared/sigma/rules beside the repository")
	}
	stdout, _, code := detectCLI(t, "", "rules", "check", root)
	if !strings.Contains(stdout, "rules:") {
		t.Fatalf("no summary: %s", stdout)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	t.Logf("rules check (exit %d): %s", code, lines[len(lines)-1])
	// The public rules run over the samples.
	out, stderr, code := detectCLI(t, "", "detect", "--rules", root, "--no-baselines", detectTestdata())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	alerts := parseAlerts(t, out)
	found := map[string]bool{}
	for _, a := range alerts {
		found[a.Title] = true
	}
	if len(alerts) == 0 {
		t.Errorf("no public rule fired on the samples")
	}
	t.Logf("public rules fired: %v", found)
}

// TestDetectClockSkewed: an event dated years ahead is still matched (its
// alert keeps its own time), counted as clock-skewed in the summary, and
// does not close the group of the on-time events around it.
func TestDetectClockSkewed(t *testing.T) {
	line := func(ts string) string {
		return `{"eventVersion":"1.08","eventTime":"` + ts + `","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/eve"},"sourceIPAddress":"198.51.100.9"}` + "\n"
	}
	input := line("2024-05-01T10:00:00Z") + line("2099-01-01T00:00:00Z") + line("2024-05-01T10:05:00Z")
	stdout, stderr, code := detectCLI(t, input, "detect", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	alerts := parseAlerts(t, stdout)
	if len(alerts) != 2 || alerts[0].Events != 2 || alerts[1].Events != 1 || !strings.HasPrefix(alerts[1].Time, "2099-01-01") {
		t.Fatalf("alerts = %+v", alerts)
	}
	if !strings.Contains(stderr, "3 events read, 0 malformed, 2 alerts") || !strings.Contains(stderr, "1 clock-skewed") {
		t.Errorf("stderr = %s", stderr)
	}
}
