package rules

import (
	"strings"
	"testing"

	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/sigma"
)

func TestBuiltinLoads(t *testing.T) {
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) < 30 || len(rs.Correlations) != 2 {
		t.Fatalf("rules %d correlations %d", len(rs.Rules), len(rs.Correlations))
	}
	for _, r := range rs.Rules {
		if len(r.Criteria) == 0 || !strings.HasPrefix(r.Criteria[0], "CC") && !strings.HasPrefix(r.Criteria[0], "C") {
			t.Errorf("%s: criteria %v", r.Key(), r.Criteria)
		}
		if r.Name == "" || r.Level == "" || r.Description == "" {
			t.Errorf("%s: missing name, level or description", r.Path)
		}
	}
}

func ev(src event.Source, raw string, kv ...string) *event.Event {
	e := &event.Event{Source: src, Raw: []byte(raw)}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], []byte(kv[i+1]))
	}
	return e
}

func TestBuiltinMatches(t *testing.T) {
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m := rs.NewMatcher()
	ct := event.SourceCloudTrail
	cases := []struct {
		e    *event.Event
		want string // rule name, "" for none
	}{
		{ev(ct, "", "eventSource", "cloudtrail.amazonaws.com", "eventName", "StopLogging"), "attest_aws_cloudtrail_stopped"},
		{ev(ct, "", "eventSource", "cloudtrail.amazonaws.com", "eventName", "StartLogging"), ""},
		{ev(ct, "", "eventSource", "ec2.amazonaws.com", "eventName", "AuthorizeSecurityGroupIngress", "requestParameters", `{"ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`), "attest_aws_security_group_open_world"},
		{ev(ct, "", "eventSource", "ec2.amazonaws.com", "eventName", "AuthorizeSecurityGroupIngress", "requestParameters", `{"cidrIp":"10.0.0.0/8"}`), ""},
		{ev(ct, "", "eventSource", "iam.amazonaws.com", "eventName", "CreateAccessKey", "userIdentity.type", "IAMUser", "userIdentity.userName", "alice", "requestParameters.userName", "alice"), ""},
		{ev(ct, "", "eventSource", "iam.amazonaws.com", "eventName", "CreateAccessKey", "userIdentity.type", "IAMUser", "userIdentity.userName", "alice", "requestParameters.userName", "admin"), "attest_aws_access_key_privileged"},
		{ev(ct, "", "eventName", "ConsoleLogin", "userIdentity.type", "Root"), "attest_aws_root_login"},
		{ev(ct, "", "eventSource", "guardduty.amazonaws.com", "eventName", "UpdateDetector", "requestParameters.enable", "false"), "attest_aws_guardduty_disabled"},
		{ev(event.SourceGitHub, "", "action", "repo.access", "visibility", "public"), "attest_github_repo_made_public"},
		{ev(event.SourceGitHub, "", "action", "repo.access", "visibility", "private"), ""},
		{ev(event.SourceAuthLog, "", "program", "sudo", "target_user", "root", "command", "/bin/bash", "message", "alice : TTY=pts/0 ; USER=root ; COMMAND=/bin/bash"), "attest_linux_sudo_root"},
		{ev(event.SourceAuthLog, "", "program", "sshd", "subsystem", "sftp"), "attest_linux_sftp_session"},
		{ev(event.SourceAuditd, "", "type", "EXECVE", "a0", "/usr/bin/rsync"), "attest_linux_file_copy_tool"},
		{ev(event.SourceGWorkspace, "", "id.applicationName", "admin", "eventName", "ASSIGN_ROLE"), "attest_gworkspace_admin_role_assigned"},
		{ev(event.SourceGWorkspace, "", "id.applicationName", "login", "eventName", "ASSIGN_ROLE"), ""},
	}
	for _, c := range cases {
		var got []string
		for _, r := range m.Match(c.e) {
			got = append(got, r.Key())
		}
		want := []string(nil)
		if c.want != "" {
			want = []string{c.want}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%v: matched %v, want %v", fields(c.e), got, want)
		}
	}
	_ = sigma.Problem{}
}

func fields(e *event.Event) string {
	return string(e.Raw) + e.Source.String()
}
