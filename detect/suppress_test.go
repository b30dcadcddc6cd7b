package detect

import (
	"context"
	"testing"
	"time"

	"github.com/attest-hq/attest/detect/baseline"
	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/sigma"
)

func TestSuppressionNetwork(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		s    Suppression
		ip   string
		want bool
	}{
		{Suppression{Network: "203.0.113.0/24"}, "203.0.113.7", true},
		{Suppression{Network: "203.0.113.0/24"}, "198.51.100.7", false},
		{Suppression{Network: "203.0.113.7"}, "203.0.113.7", true},
		{Suppression{Network: "203.0.113.7"}, "::ffff:203.0.113.7", true},
		{Suppression{Network: "2001:db8::/32"}, "2001:db8::1", true},
		{Suppression{Network: "203.0.113.0/24"}, "s3.amazonaws.com", false},
		{Suppression{Network: "203.0.113.0/24", Actor: "alice"}, "203.0.113.7", false}, // actor differs
		{Suppression{Network: "203.0.113.0/24", Until: at.Add(-time.Second)}, "203.0.113.7", false},
		{Suppression{Network: "not a network"}, "203.0.113.7", false},
	}
	for _, c := range cases {
		if got := c.s.MatchesFrom("r", "bob", c.ip, at); got != c.want {
			t.Errorf("%+v from %s: %v, want %v", c.s, c.ip, got, c.want)
		}
	}
	if (Suppression{Network: "203.0.113.0/24"}).Matches("r", "bob", at) {
		t.Error("Matches without an address matched a network suppression")
	}
	if _, err := New(Config{Rules: sigma.NewRuleSet(), Suppressions: []Suppression{{Network: "300.1.1.1"}}}); err == nil {
		t.Error("New accepted a bad suppression network")
	}
}

func TestSuppressedByAndSamples(t *testing.T) {
	rs := sigma.NewRuleSet()
	rs.Compile()
	sink := &Collect{}
	e, err := New(Config{Rules: rs, Sink: sink, SampleEvents: 2, SampleBytes: 4,
		Baseline: baselineNow(), Suppressions: []Suppression{{Actor: "quiet", Network: "203.0.113.0/24"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Baseline findings give alerts without rules: a new actor after the
	// learning period has passed.
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	evs := []event.Event{
		{Actor: "first", Action: "a", Time: at, Raw: []byte("first record")},
		{Actor: "quiet", Action: "a", SourceIP: "203.0.113.9", Time: at.Add(2 * time.Hour), Raw: []byte("q")},
		{Actor: "loud", Action: "a", SourceIP: "198.51.100.1", Time: at.Add(2 * time.Hour), Raw: []byte("loud-1")},
	}
	for i := range evs {
		if err := e.Process(ctx, &evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.SuppressedBy(); len(got) != 1 || got[0] != 1 {
		t.Errorf("SuppressedBy = %v, want [1]", got)
	}
	if len(sink.Alerts) != 1 || sink.Alerts[0].Actor != "loud" {
		t.Fatalf("alerts = %+v", sink.Alerts)
	}
	if s := sink.Alerts[0].Samples; len(s) != 1 || s[0] != "loud" {
		t.Errorf("samples = %q, want the first record cut to 4 bytes", s)
	}
}

// baselineNow judges new actors after an hour of watching.
func baselineNow() baseline.Config {
	return baseline.Config{LearningPeriod: time.Hour, MinEvents: 1}
}
