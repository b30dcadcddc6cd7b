package detect

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/ingest"
	"github.com/attest-hq/attest/detect/rules"
	"github.com/attest-hq/attest/detect/sigma"
)

// normalized is what a reader must make of one record of a public sample.
type normalized struct {
	time     string // RFC 3339, UTC
	actor    string
	action   string
	sourceIP string
	outcome  event.Outcome
}

// TestPublicSamplesNormalize reads the samples copied from public
// repositories (see testdata/README.md) through the readers, with the
// format sniffed as `attest detect` does, and checks every record is read
// and normalized.
func TestPublicSamplesNormalize(t *testing.T) {
	cases := []struct {
		file   string
		format event.Source
		want   []normalized
	}{
		{"k8s/falco-trace-files.jsonl", event.SourceK8s, []normalized{
			{"2018-10-26T13:38:34.902914Z", "minikube-user", "create pods/exec", "192.168.99.1", event.OutcomeSuccess},
			{"2018-10-26T14:26:34.242498Z", "minikube-user", "create clusterrolebindings", "192.168.99.1", event.OutcomeSuccess},
			{"2018-10-25T13:58:49.736141Z", "system:anonymous", "create namespaces", "192.168.99.1", event.OutcomeSuccess},
			{"2020-04-21T17:58:49.696309Z", "minikube-user", "delete secrets", "192.168.64.1", event.OutcomeSuccess},
		}},
		{"github/rest-api-description-audit-log.json", event.SourceGitHub, []normalized{
			// GitHub's published examples carry no actor_ip.
			{"2020-12-02T17:24:34.512Z", "octocat", "team.add_member", "", event.OutcomeSuccess},
			{"2020-11-27T19:58:37.008Z", "octocat", "org.create", "", event.OutcomeSuccess},
			{"2020-11-18T17:05:48.837Z", "monalisa", "repo.destroy", "", event.OutcomeSuccess},
		}},
		{"okta/demisto-okta-v2.json", event.SourceOkta, []normalized{
			{"2021-12-13T01:47:08.556Z", "example", "group.user_membership.remove", "8.8.8.8", event.OutcomeSuccess},
			{"2019-09-19T08:35:38.353Z", "goo@test.com", "user.session.start", "127.0.0.1", event.OutcomeFailure},
		}},
		{"gworkspace/demisto-gsuite-auditor.json", event.SourceGWorkspace, []normalized{
			// A system job (callerType KEY) has no email: its key is the actor.
			{"2021-07-27T02:47:20.894Z", "SYSTEM", "admin:USER_LICENSE_REVOKE", "", event.OutcomeSuccess},
			// The API reported a blank address; it is not an address.
			{"2021-07-27T01:47:40.585Z", "admin@email.com", "admin:DELETE_USER", "", event.OutcomeSuccess},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := ingest.NewReader(bytes.NewReader(data), ingest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != c.format {
				t.Fatalf("sniffed %s, want %s", r.Format(), c.format)
			}
			var got []normalized
			var ev event.Event
			for r.Next(&ev) {
				if ev.Time.IsZero() {
					t.Errorf("record %d: no time", len(got)+1)
				}
				got = append(got, normalized{ev.Time.UTC().Format(time.RFC3339Nano), ev.Actor, ev.Action, ev.SourceIP, ev.Outcome})
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if st := r.Stats(); st.Malformed != 0 {
				t.Fatalf("%d malformed records: %+v", st.Malformed, st.Samples)
			}
			if len(got) != len(c.want) {
				t.Fatalf("read %d events, want %d: %+v", len(got), len(c.want), got)
			}
			for i := range c.want {
				if got[i] != c.want[i] {
					t.Errorf("record %d:\n got %+v\nwant %+v", i+1, got[i], c.want[i])
				}
			}
		})
	}
}

// TestPublicSamplesRules runs the built-in pack, and the public SigmaHQ
// rules where they are present beside the repository, over the public
// samples: each rule that should fire does, and nothing fires on records
// that no rule describes.
func TestPublicSamplesRules(t *testing.T) {
	builtin, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	public := publicSigma(t)
	cases := []struct {
		file    string
		builtin []string // rule keys of the built-in pack expected to fire
		sigma   []string // SigmaHQ rule files expected to fire (relative to rules/)
	}{
		{"k8s/falco-trace-files.jsonl",
			[]string{"attest_k8s_pod_exec", "attest_k8s_cluster_role_binding"},
			[]string{"application/kubernetes/audit/kubernetes_audit_exec_into_container.yml",
				"application/kubernetes/audit/kubernetes_audit_secrets_modified_or_deleted.yml"}},
		{"github/rest-api-description-audit-log.json",
			nil,
			[]string{"application/github/audit/github_delete_action_invoked.yml"}},
		// No built-in or public rule describes these records: the test
		// checks nothing fires.
		{"okta/demisto-okta-v2.json", nil, nil},
		{"gworkspace/demisto-gsuite-auditor.json", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			check := func(rs *sigma.RuleSet, want []string) {
				t.Helper()
				sink := &Collect{}
				e, err := New(Config{Rules: rs, Sink: sink, DisableBaselines: true})
				if err != nil {
					t.Fatal(err)
				}
				runFile(t, e, data)
				got := map[string]bool{}
				for _, a := range sink.Alerts {
					got[a.Rule] = true
					if a.Reason == "" || a.Time.IsZero() || a.Actor == "" {
						t.Errorf("incomplete alert %+v", a)
					}
				}
				for _, w := range want {
					if !got[w] {
						t.Errorf("rule %s did not fire; fired: %v", w, got)
					}
				}
				if len(got) != len(want) {
					t.Errorf("fired %v, want exactly %v", got, want)
				}
			}
			check(builtin, c.builtin)
			if public == "" {
				return
			}
			rs := sigma.NewRuleSet()
			if err := rs.LoadFS(os.DirFS(public), "."); err != nil {
				t.Fatal(err)
			}
			rs.Compile()
			var keys []string
			for _, rel := range c.sigma {
				key := ""
				for _, l := range rs.Loaded {
					if filepath.ToSlash(l.Path) == rel && l.Problem == nil && l.Rule != nil {
						key = l.Rule.Key()
					}
				}
				if key == "" {
					t.Fatalf("public rule %s not loaded", rel)
				}
				keys = append(keys, key)
			}
			checkSubset(t, rs, data, keys)
		})
	}
}

// checkSubset runs every public rule and checks the wanted ones fire. Other
// public rules may fire too (the public set is broad); the test names only
// those it expects.
func checkSubset(t *testing.T, rs *sigma.RuleSet, data []byte, want []string) {
	t.Helper()
	sink := &Collect{}
	e, err := New(Config{Rules: rs, Sink: sink, DisableBaselines: true})
	if err != nil {
		t.Fatal(err)
	}
	runFile(t, e, data)
	got := map[string]bool{}
	for _, a := range sink.Alerts {
		got[a.Rule] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("public rule %s did not fire; fired: %v", w, got)
		}
	}
}

// publicSigma returns ../shared/sigma/rules beside the repository, or ""
// (with a log line) when it is absent.
func publicSigma(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "sigma", "rules")
			if _, err := os.Stat(p); err == nil {
				return p
			}
			t.Log("public SigmaHQ rules not found at ../shared/sigma/rules; checking the built-in pack only")
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
