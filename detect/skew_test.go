package detect

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/rules"
)

// TestClockSkew feeds CloudTrail StopLogging events (a built-in rule fires
// on each) with stray dates and checks what is counted as clock-skewed, that
// the stray events still raise alerts with their own time, and that the
// on-time group of the same rule and actor is neither closed early nor
// joined by events far from it.
func TestClockSkew(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	live := func() time.Time { return t0.Add(time.Hour) } // the server's clock
	const rule = "attest_aws_cloudtrail_stopped"
	type alert struct {
		time   time.Time
		events int
	}
	cases := []struct {
		name    string
		now     func() time.Time // nil: replaying a file
		maxSkew time.Duration
		times   []time.Time
		skewed  int64
		alerts  []alert // alerts of the rule, in the order sent
	}{
		{
			name:   "in order",
			times:  []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute)},
			alerts: []alert{{t0, 3}},
		},
		{
			name: "replay: one event a year ahead does not close the group",
			times: []time.Time{t0, t0.Add(time.Minute), t0.AddDate(1, 0, 0), t0.Add(2 * time.Minute),
				t0.Add(3 * time.Minute)},
			skewed: 1,
			alerts: []alert{{t0, 4}, {t0.AddDate(1, 0, 0), 1}},
		},
		{
			name:   "replay: a stream that starts beyond the machine's clock",
			times:  []time.Time{time.Now().AddDate(5, 0, 0), t0, t0.Add(time.Minute)},
			skewed: 1,
			alerts: []alert{{t0, 2}, {time.Now().AddDate(5, 0, 0).Truncate(time.Second), 1}},
		},
		{
			name:    "replay: within the allowed skew is not skewed",
			maxSkew: 48 * time.Hour,
			times:   []time.Time{t0, t0.Add(30 * time.Hour), t0.Add(30*time.Hour + time.Minute)},
			alerts:  []alert{{t0, 1}, {t0.Add(30 * time.Hour), 2}},
		},
		{
			name:    "replay: check turned off",
			maxSkew: -1,
			times:   []time.Time{t0, t0.AddDate(1, 0, 0)},
			alerts:  []alert{{t0, 1}, {t0.AddDate(1, 0, 0), 1}},
		},
		{
			name:   "live: ahead of the server's clock by more than a day",
			now:    live,
			times:  []time.Time{t0, t0.Add(26 * time.Hour), t0.Add(time.Minute)},
			skewed: 1,
			alerts: []alert{{t0, 2}, {t0.Add(26 * time.Hour), 1}},
		},
		{
			name:   "live: a few hours ahead is believed",
			now:    live,
			times:  []time.Time{t0, t0.Add(5 * time.Hour)},
			alerts: []alert{{t0, 1}, {t0.Add(5 * time.Hour), 1}},
		},
		{
			name: "late events are grouped apart, not into the open group",
			times: []time.Time{t0, t0.Add(time.Minute), t0.AddDate(0, 0, -3), t0.AddDate(0, 0, -3).Add(time.Minute),
				t0.Add(2 * time.Minute)},
			alerts: []alert{{t0.AddDate(0, 0, -3), 2}, {t0, 3}},
		},
	}
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			for _, tm := range c.times {
				b.WriteString(ctLine(tm, "alice", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5", "") + "\n")
			}
			sink := &Collect{}
			e, err := New(Config{Rules: rs, Sink: sink, DisableBaselines: true, Now: c.now, MaxSkew: c.maxSkew})
			if err != nil {
				t.Fatal(err)
			}
			runFile(t, e, []byte(b.String()))
			if got := e.Stats().ClockSkewed; got != c.skewed {
				t.Errorf("clock_skewed = %d, want %d", got, c.skewed)
			}
			var got []alert
			for _, a := range sink.Alerts {
				if a.Rule == rule {
					got = append(got, alert{a.Time.UTC(), a.Events})
				}
			}
			if len(got) != len(c.alerts) {
				t.Fatalf("alerts %v, want %v", got, c.alerts)
			}
			for i := range got {
				if !got[i].time.Equal(c.alerts[i].time.UTC()) || got[i].events != c.alerts[i].events {
					t.Errorf("alert %d = %v, want %v", i, got[i], c.alerts[i])
				}
			}
		})
	}
}

// TestClockSkewFollowsARealJump: when a replayed stream really moves on
// (a later file), the stream's reference follows after a few dozen events
// and later events are not counted as skewed for ever.
func TestClockSkewFollowsARealJump(t *testing.T) {
	rs, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Rules: rs, DisableBaselines: true})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	later := t0.AddDate(0, 0, 10)
	var ev event.Event
	for i := 0; i < 100; i++ {
		ev = event.Event{Source: event.SourceCloudTrail, Time: t0.Add(time.Duration(i) * time.Second), Actor: "a", Action: "s3:PutObject"}
		if err := e.Process(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 200; i++ {
		ev = event.Event{Source: event.SourceCloudTrail, Time: later.Add(time.Duration(i) * time.Second), Actor: "a", Action: "s3:PutObject"}
		if err := e.Process(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	}
	sk := e.Stats().ClockSkewed
	if sk == 0 || sk > 64 {
		t.Errorf("clock_skewed = %d after a real jump; want a few dozen at most", sk)
	}
	if !e.lastTime.After(later) {
		t.Errorf("engine clock %s did not follow the stream to %s", e.lastTime, later)
	}
}
