package baseline

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attest-hq/attest/detect/event"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func ev(at time.Duration, actor, action, ip, target string) *event.Event {
	return &event.Event{Source: event.SourceCloudTrail, Time: t0.Add(at), Actor: actor, Action: action, SourceIP: ip, Target: target, Outcome: event.OutcomeSuccess}
}

func kinds(fs []Finding) string {
	var k []string
	for _, f := range fs {
		k = append(k, f.Kind)
	}
	return strings.Join(k, ",")
}

// train feeds alice a week and a bit of routine work.
func train(b *Baseline) {
	for h := 0; h < 24*8; h++ {
		b.Observe(ev(time.Duration(h)*time.Hour, "alice", "s3:PutObject", "203.0.113.5", "reports/x"), nil)
		b.Rate(ev(time.Duration(h)*time.Hour, "alice", "s3:PutObject", "203.0.113.5", "reports/x"), nil)
	}
}

func TestLearningThenFindings(t *testing.T) {
	b := New(Config{RareRatio: 0.01})
	// During learning nothing is reported.
	if f := b.Observe(ev(0, "alice", "iam:CreateUser", "203.0.113.5", "bob"), nil); len(f) != 0 {
		t.Fatalf("finding during learning: %v", f)
	}
	train(b)
	at := 9 * 24 * time.Hour
	cases := []struct {
		e    *event.Event
		want string
	}{
		{ev(at, "alice", "s3:PutObject", "203.0.113.9", "reports/y"), ""},                          // same /24, same bucket
		{ev(at, "alice", "cloudtrail:StopLogging", "203.0.113.9", "reports"), "first_seen_action"}, // new action
		{ev(at, "alice", "s3:PutObject", "198.51.100.1", "reports/z"), "first_seen_network"},       // new network
		{ev(at, "alice", "s3:PutObject", "203.0.113.9", "payroll/z"), "first_seen_resource"},       // new bucket
		{ev(at, "mallory", "s3:PutObject", "203.0.113.9", "payroll/z"), "first_seen_actor"},        // new actor
	}
	for _, c := range cases {
		got := kinds(b.Observe(c.e, nil))
		if got != c.want {
			t.Errorf("%s %s %s: findings %q, want %q", c.e.Actor, c.e.Action, c.e.SourceIP, got, c.want)
		}
	}
	// The action seen once is now rare, not first-seen.
	if got := kinds(b.Observe(ev(at+time.Hour, "alice", "cloudtrail:StopLogging", "203.0.113.9", "reports"), nil)); got != "rare_action" {
		t.Errorf("second StopLogging: %q", got)
	}
	f := b.Observe(ev(at+2*time.Hour, "alice", "iam:DeleteUser", "203.0.113.9", "bob"), nil)
	if len(f) != 1 || !strings.Contains(f[0].Reason, "s3:PutObject (") || !strings.Contains(f[0].Reason, "first time") {
		t.Errorf("reason does not explain what is typical: %+v", f)
	}
}

func TestRateSpike(t *testing.T) {
	b := New(Config{RateMinCount: 50})
	train(b)
	base := 10 * 24 * time.Hour
	var found []Finding
	for i := 0; i < 300; i++ {
		e := ev(base+time.Duration(i)*time.Second, "alice", "s3:GetObject", "203.0.113.5", "reports/x")
		b.Observe(e, nil)
		found = b.Rate(e, found)
	}
	if len(found) != 1 || found[0].Kind != RateSpike || !strings.Contains(found[0].Reason, "moving average") {
		t.Fatalf("findings = %+v", found)
	}
}

func TestStateRoundTrip(t *testing.T) {
	b := New(Config{})
	train(b)
	path := filepath.Join(t.TempDir(), "state.json")
	store := FileStore{Path: path}
	if s, err := store.Load(context.Background()); err != nil || s != nil {
		t.Fatalf("empty store: %v %v", s, err)
	}
	if err := store.Save(context.Background(), b.Snapshot()); err != nil {
		t.Fatal(err)
	}
	s, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b2 := New(Config{})
	if err := b2.Restore(s); err != nil {
		t.Fatal(err)
	}
	at := 9 * 24 * time.Hour
	if got := kinds(b2.Observe(ev(at, "alice", "s3:PutObject", "203.0.113.9", "reports/y"), nil)); got != "" {
		t.Errorf("restored baseline forgot alice's routine: %q", got)
	}
	if got := kinds(b2.Observe(ev(at, "alice", "cloudtrail:StopLogging", "203.0.113.9", "reports"), nil)); got != "first_seen_action" {
		t.Errorf("restored baseline: %q", got)
	}
}

func TestBoundedMemory(t *testing.T) {
	b := New(Config{MaxEntities: 100, MaxActions: 10})
	for i := 0; i < 10_000; i++ {
		e := ev(time.Duration(i)*time.Second, "user"+string(rune('a'+i%26))+strings.Repeat("x", i%500), "act"+string(rune('a'+i%20)), "10.0.0.1", "r")
		b.Observe(e, nil)
	}
	if b.Entities() > 100 {
		t.Errorf("entities = %d, cap 100", b.Entities())
	}
	for _, p := range b.entities {
		if len(p.actions) > 10 {
			t.Errorf("actions = %d, cap 10", len(p.actions))
		}
	}
}

func TestNetworkKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":     "203.0.113.0/24",
		"2001:db8:1:2::1":  "2001:db8:1::/48",
		"s3.amazonaws.com": "s3.amazonaws.com",
		"::ffff:10.1.2.3":  "10.1.2.0/24",
		"":                 "",
	} {
		if got := NetworkKey(in); got != want {
			t.Errorf("NetworkKey(%q) = %q, want %q", in, got, want)
		}
	}
}
