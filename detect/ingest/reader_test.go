package ingest

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attest-hq/attest/detect/event"
)

func readAll(t *testing.T, data []byte, format event.Source) ([]event.Event, *Reader) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), Options{Format: format, Now: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var out []event.Event
	var ev event.Event
	for r.Next(&ev) {
		cp := ev
		cp.Fields = append([]event.Field(nil), ev.Fields...)
		out = append(out, cp)
		ev = event.Event{} // keep the copies' memory
	}
	return out, r
}

func TestSampleFiles(t *testing.T) {
	cases := []struct {
		file      string
		format    event.Source
		events    int
		malformed int64
		check     func(t *testing.T, evs []event.Event)
	}{
		{"cloudtrail/aws-docs-examples.json", event.SourceCloudTrail, 5, 0, func(t *testing.T, evs []event.Event) {
			e := evs[0]
			if e.Action != "ec2:StartInstances" || e.Actor != "arn:aws:iam::123456789012:user/Alice" || e.SourceIP != "205.251.233.176" || e.ActorType != "IAMUser" {
				t.Errorf("normalized = %+v", e)
			}
			if e.Target != "i-ebeaf9e2" {
				t.Errorf("target = %q", e.Target)
			}
			if !e.Time.Equal(time.Date(2014, 3, 6, 21, 22, 54, 0, time.UTC)) {
				t.Errorf("time = %v", e.Time)
			}
			if evs[4].Outcome != event.OutcomeFailure || evs[4].Org != "123456789012" {
				t.Errorf("error event = %+v", evs[4])
			}
			if got := evs[1].String("responseElements.keyMaterial"); got != "<sensitiveDataRemoved>" {
				t.Errorf("unescaped = %q", got)
			}
		}},
		{"cloudtrail/aws-docs-examples.json.gz", event.SourceCloudTrail, 5, 0, nil},
		{"authlog/beats-test.log", event.SourceAuthLog, 10, 0, func(t *testing.T, evs []event.Event) {
			if e := evs[0]; e.Action != "ssh.login" || e.Actor != "vagrant" || e.SourceIP != "10.0.2.2" || e.Outcome != event.OutcomeSuccess {
				t.Errorf("sshd accepted = %+v", e)
			}
			if e := evs[3]; e.Outcome != event.OutcomeFailure || e.Actor != "root" {
				t.Errorf("sshd failed = %+v", e)
			}
			if e := evs[4]; e.Action != "sudo" || e.Target != "root@localhost" || e.String("command") != "/bin/ls" {
				t.Errorf("sudo = %+v", e)
			}
			if e := evs[7]; e.Outcome != event.OutcomeFailure || e.Actor != "tsg" {
				t.Errorf("sudo denied = %+v", e)
			}
			if e := evs[9]; e.Action != "useradd" || e.Target != "apache" {
				t.Errorf("useradd = %+v", e)
			}
			if y := evs[0].Time.Year(); y != 2024 {
				t.Errorf("year = %d", y)
			}
		}},
		{"auditd/beats-test.log", event.SourceAuditd, 10, 0, func(t *testing.T, evs []event.Event) {
			if got := evs[1].String("SYSCALL"); got != "sendto" {
				t.Errorf("SYSCALL = %q", got)
			}
			if e := evs[7]; e.Action != "EXECVE" || e.Target != "top" {
				t.Errorf("execve = %+v", e)
			}
			if got := evs[3].String("addr"); got != "96.241.146.97" {
				t.Errorf("nested msg addr = %q", got)
			}
		}},
		{"auditd/beats-useradd.log", event.SourceAuditd, 5, 0, func(t *testing.T, evs []event.Event) {
			if got := evs[4].String("a2"); got != `echo \"arg hex encoded\"` {
				t.Errorf("hex arg = %q", got)
			}
			if e := evs[2]; e.Actor != "charlie" || e.Outcome != event.OutcomeSuccess {
				t.Errorf("acct = %+v", e)
			}
		}},
		{"github/audit.json", event.SourceGitHub, 5, 0, func(t *testing.T, evs []event.Event) {
			if e := evs[1]; e.Action != "repo.access" || e.Actor != "octocat" || e.Target != "example-org/secret-sauce" || e.Org != "example-org" {
				t.Errorf("github = %+v", e)
			}
		}},
		{"okta/systemlog.json", event.SourceOkta, 3, 0, func(t *testing.T, evs []event.Event) {
			if e := evs[1]; e.Action != "user.mfa.factor.deactivate" || e.Actor != "admin@example.com" || e.Target != "alice@example.com" {
				t.Errorf("okta = %+v", e)
			}
		}},
		{"gworkspace/admin.json", event.SourceGWorkspace, 3, 0, func(t *testing.T, evs []event.Event) {
			e := evs[0]
			if e.Action != "admin:CHANGE_APPLICATION_SETTING" || e.String("eventService") != "admin.googleapis.com" || e.String("setting_name") != "ContextAwareAccess Level" {
				t.Errorf("gworkspace = %+v", e)
			}
			if evs[2].Outcome != event.OutcomeFailure {
				t.Errorf("login failure outcome = %v", evs[2].Outcome)
			}
		}},
		{"k8s/audit.jsonl", event.SourceK8s, 3, 0, func(t *testing.T, evs []event.Event) {
			if e := evs[0]; e.Action != "create pods/exec" || e.Target != "default/web-1" || e.SourceIP != "203.0.113.60" {
				t.Errorf("k8s = %+v", e)
			}
			if evs[1].ActorType != "serviceaccount" || evs[2].Outcome != event.OutcomeFailure {
				t.Errorf("k8s types = %+v / %+v", evs[1], evs[2])
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, format := range []event.Source{c.format, event.SourceUnknown} {
				evs, r := readAll(t, data, format)
				if r.Format() != c.format {
					t.Fatalf("format = %v, want %v", r.Format(), c.format)
				}
				if len(evs) != c.events || r.Stats().Malformed != c.malformed {
					t.Fatalf("events %d malformed %d (%v), want %d, %d", len(evs), r.Stats().Malformed, r.Stats().Samples, c.events, c.malformed)
				}
				if c.check != nil && format == c.format {
					c.check(t, evs)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	good := `{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"IAMUser","arn":"a"}}`
	long := `{"eventVersion":"1.08","eventName":"x","pad":"` + strings.Repeat("a", 10<<20) + `"}`
	cases := []struct {
		name      string
		input     string
		events    int
		malformed int64
	}{
		{"json lines with garbage", good + "\nnot json at all\n" + good + "\n{\"eventName\": \n" + good + "\n", 3, 2},
		{"10 MB line is processed", long + "\n" + good + "\n", 2, 0},
		{"invalid utf-8", strings.Replace(good, `"a"`, "\"\xff\xfe\"", 1) + "\n", 1, 0},
		{"truncated last record", good + "\n" + good[:40], 1, 1},
		{"records file", `{"Records":[` + good + "," + good + `]}`, 2, 0},
		{"wrapper with trailing members", `{"Records":[` + good + `],"x":{"y":[1,2]}}` + "\n" + good, 2, 0},
		{"array", "[" + good + ",\n" + good + "]", 2, 0},
		{"deeply nested", `{"eventName":"x","a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}\n" + good, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, r := readAll(t, []byte(c.input), event.SourceCloudTrail)
			if len(evs) != c.events || r.Stats().Malformed != c.malformed {
				t.Fatalf("events %d malformed %d (%v), want %d, %d", len(evs), r.Stats().Malformed, r.Stats().Samples, c.events, c.malformed)
			}
		})
	}
	t.Run("too long", func(t *testing.T) {
		r, err := NewReader(strings.NewReader(long+"\n"+good+"\n"), Options{Format: event.SourceCloudTrail, MaxRecord: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		n := 0
		for r.Next(&ev) {
			n++
		}
		if n != 1 || r.Stats().Malformed != 1 {
			t.Fatalf("events %d malformed %d %v", n, r.Stats().Malformed, r.Stats().Samples)
		}
	})
	t.Run("truncated gzip", func(t *testing.T) {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		for i := 0; i < 2000; i++ {
			zw.Write([]byte(good + "\n"))
		}
		zw.Close()
		data := buf.Bytes()[:buf.Len()/2]
		r, err := NewReader(bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ev event.Event
		n := 0
		for r.Next(&ev) {
			n++
		}
		if n == 0 || r.Err() == nil {
			t.Fatalf("events %d err %v", n, r.Err())
		}
	})
}
