package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/attest-hq/attest/detect/baseline"
	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/sigma"
)

// Config wires an Engine. Rules is required; the rest have defaults.
type Config struct {
	Rules *sigma.RuleSet
	// Baseline thresholds; DisableBaselines turns baselines off entirely.
	Baseline         baseline.Config
	DisableBaselines bool
	// GroupWindow: alerts of one rule and actor within this span (event
	// time) are one alert. Default one hour.
	GroupWindow time.Duration
	// MaxOpenGroups bounds the alerts held open for grouping; beyond it the
	// oldest is sent early. Default 10,000.
	MaxOpenGroups int
	Sink          AlertSink
	// Suppressions silence matching alerts; a suppression whose Network
	// does not parse is an error of New.
	Suppressions []Suppression
	// SampleEvents keeps the raw records of up to this many events of each
	// alert in Alert.Samples (0: none); SampleBytes cuts each (default 8 KiB).
	SampleEvents int
	SampleBytes  int
	// MaxSkew is how far ahead of the newest sane time an event may be
	// dated before it counts as clock-skewed (Stats.ClockSkewed): it is
	// still matched against the rules and alerts keep its own time, but it
	// does not move the engine's clock (so it cannot close alert groups
	// early) and baselines see it at the engine's time. Default 24 hours;
	// negative turns the check off.
	MaxSkew time.Duration
	// Now, when set, is the wall clock that is the newest sane time: the
	// server, which receives events as they happen, sets it to time.Now.
	// Without it (replaying files) the reference is the stream's own: the
	// later of the engine's clock and the median time of its recent events,
	// so one stray date cannot move it while a real jump (a later file) is
	// followed after a few dozen events; and nothing may be dated beyond
	// the machine's clock plus MaxSkew.
	Now func() time.Time
}

// DefaultMaxSkew is Config.MaxSkew's default.
const DefaultMaxSkew = 24 * time.Hour

// Stats counts what an Engine did.
type Stats struct {
	Events     int64 `json:"events"`
	Matches    int64 `json:"matches"`
	Alerts     int64 `json:"alerts"`
	Suppressed int64 `json:"suppressed"`
	// ClockSkewed counts events dated more than Config.MaxSkew ahead of
	// the newest sane time.
	ClockSkewed int64 `json:"clock_skewed"`
}

// Engine turns events into alerts. Process must be called from one
// goroutine in event order; Match is the stateless half and may run on many
// goroutines (see Run).
type Engine struct {
	cfg        Config
	matcher    *sigma.Matcher
	correlator *sigma.Correlator
	base       *baseline.Baseline
	open       map[string]*group
	stats      Stats
	lastTime   time.Time
	findings   []baseline.Finding
	firings    []sigma.Firing
	sinceSweep int
	keyBuf     []byte
	sups       []compiledSuppression
	supCounts  []int64
	recent     recentTimes
	wall       time.Time // the machine's clock, read at start and at each sweep
}

type group struct {
	alert Alert
	// offClock marks a group of events outside the engine's clock (dated
	// far ahead of it, or behind it by more than a group window): such a
	// group never takes in on-time events and closes at the next sweep.
	offClock bool
}

// New builds an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Rules == nil {
		return nil, errors.New("detect: no rules")
	}
	if cfg.GroupWindow <= 0 {
		cfg.GroupWindow = time.Hour
	}
	if cfg.MaxOpenGroups <= 0 {
		cfg.MaxOpenGroups = 10_000
	}
	if cfg.Sink == nil {
		cfg.Sink = &Collect{}
	}
	if cfg.SampleBytes <= 0 {
		cfg.SampleBytes = 8 << 10
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	sups := make([]compiledSuppression, len(cfg.Suppressions))
	for i, s := range cfg.Suppressions {
		sups[i].s = s
		if s.Network != "" {
			p, err := ParseNetwork(s.Network)
			if err != nil {
				return nil, fmt.Errorf("detect: suppression %d: network %q is not an address or CIDR prefix", i, s.Network)
			}
			sups[i].network = p
		}
	}
	e := &Engine{
		cfg:        cfg,
		matcher:    cfg.Rules.NewMatcher(),
		correlator: sigma.NewCorrelator(),
		open:       map[string]*group{},
		sups:       sups,
		supCounts:  make([]int64, len(sups)),
		wall:       time.Now(),
	}
	if !cfg.DisableBaselines {
		e.base = baseline.New(cfg.Baseline)
	}
	return e, nil
}

// Baseline returns the engine's baseline (nil when disabled), to save or
// restore its state.
func (e *Engine) Baseline() *baseline.Baseline { return e.base }

// Stats returns the counts so far.
func (e *Engine) Stats() Stats { return e.stats }

// SuppressedBy returns how many alerts each suppression of Config
// silenced, by position.
func (e *Engine) SuppressedBy() []int64 { return append([]int64(nil), e.supCounts...) }

// NewMatcher returns a matcher for Run's parallel stage.
func (e *Engine) NewMatcher() *sigma.Matcher { return e.cfg.Rules.NewMatcher() }

// Process matches ev and applies the result.
func (e *Engine) Process(ctx context.Context, ev *event.Event) error {
	return e.Apply(ctx, ev, e.matcher.Match(ev))
}

// Apply is the stateful half of Process: it takes the rules that matched ev
// (from a sigma.Matcher, possibly on another goroutine) and updates
// correlations, baselines and alert groups.
func (e *Engine) Apply(ctx context.Context, ev *event.Event, matched []*sigma.Rule) error {
	e.stats.Events++
	// Events without a usable time take the latest time seen, so windows
	// stay sane.
	if ev.Time.IsZero() {
		ev.Time = e.lastTime
	}
	skewed := false
	if ev.Time.After(e.lastTime) {
		if e.skewed(ev.Time) {
			skewed = true
			e.stats.ClockSkewed++
		} else {
			e.lastTime = ev.Time
		}
	}
	if e.cfg.Now == nil && e.cfg.MaxSkew > 0 {
		e.recent.add(ev.Time)
	}
	if e.base != nil {
		// Baselines keep their own windows by event time: a skewed event
		// is observed at the engine's time so it cannot age them out.
		t := ev.Time
		if skewed {
			ev.Time = e.lastTime
		}
		e.findings = e.base.Observe(ev, e.findings[:0])
		e.findings = e.base.Rate(ev, e.findings)
		ev.Time = t
	}
	for _, r := range matched {
		e.stats.Matches++
		if !r.OnlyCorrelated {
			if err := e.raise(ctx, ev, KindRule, r.Key(), r.Title, level(r.Level), r.Criteria, func() string { return e.ruleReason(ev, r) }); err != nil {
				return err
			}
		}
		e.firings = e.correlator.Observe(r, ev, e.firings[:0])
		for _, f := range e.firings {
			m := f.Correlation.Meta
			reason := fmt.Sprintf("%d events matching %s within %s (%s), from %s to %s: correlation rule %q reached its threshold (%s %d); last: %s",
				f.Count, ruleList(f.Correlation), f.Correlation.Timespan, groupText(f.Group), f.First.Format(time.RFC3339), f.Last.Format(time.RFC3339),
				m.Title, f.Correlation.Op, f.Correlation.Value, describeEvent(ev))
			if err := e.raise(ctx, ev, KindCorrelation, m.Key(), m.Title, level(m.Level), m.Criteria, func() string { return reason }); err != nil {
				return err
			}
		}
	}
	for _, f := range e.findings {
		reason := f.Reason + " [baseline " + f.Kind + "]"
		if err := e.raise(ctx, ev, KindBaseline, "baseline."+f.Kind, f.Title, f.Severity, []string{"CC7.2"}, func() string { return reason }); err != nil {
			return err
		}
	}
	e.sinceSweep++
	if e.sinceSweep >= 4096 {
		e.sinceSweep = 0
		e.wall = time.Now()
		return e.sweep(ctx, false)
	}
	return nil
}

// skewed reports whether t, which is after the engine's clock, is too far
// ahead of the newest sane time to be believed.
func (e *Engine) skewed(t time.Time) bool {
	if e.cfg.MaxSkew < 0 {
		return false
	}
	if e.cfg.Now != nil {
		return t.Sub(e.cfg.Now()) > e.cfg.MaxSkew
	}
	// Replayed logs come from the past: nothing may be dated beyond the
	// machine's clock (this also catches a stream that starts skewed).
	if t.Sub(e.wall) > e.cfg.MaxSkew {
		return true
	}
	ref, ok := e.recent.median()
	if !ok {
		return false
	}
	if e.lastTime.After(ref) {
		ref = e.lastTime
	}
	return t.Sub(ref) > e.cfg.MaxSkew
}

// recentTimes keeps the times of the last events of a replayed stream; its
// median is the stream's own idea of "now", which one stray date cannot
// move. The median is recomputed every few events: a stream moves slowly
// compared with the skew allowed.
type recentTimes struct {
	ring   [64]int64
	n      int // events added
	med    int64
	medAt  int
	sorted [64]int64
}

func (r *recentTimes) add(t time.Time) {
	r.ring[r.n%len(r.ring)] = t.UnixNano()
	r.n++
}

func (r *recentTimes) median() (time.Time, bool) {
	if r.n == 0 {
		return time.Time{}, false
	}
	if r.medAt == 0 || r.n-r.medAt >= 16 || r.n < len(r.ring) {
		k := min(r.n, len(r.ring))
		s := r.sorted[:k]
		copy(s, r.ring[:k])
		slices.Sort(s)
		r.med, r.medAt = s[k/2], r.n
	}
	return time.Unix(0, r.med).UTC(), true
}

func level(l string) string {
	switch l {
	case SeverityInformational, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return l
	}
	return SeverityMedium
}

func ruleList(c *sigma.Correlation) string {
	names := make([]string, len(c.Rules))
	for i, r := range c.Rules {
		names[i] = fmt.Sprintf("%q", r.Title)
	}
	return strings.Join(names, " or ")
}

func groupText(g string) string {
	if g == "" {
		return "all events"
	}
	return "same " + g
}

// describeEvent says what happened in one line.
func describeEvent(ev *event.Event) string {
	var b strings.Builder
	actor := ev.Actor
	if actor == "" {
		actor = "an unknown actor"
	}
	b.WriteString(actor)
	if ev.Outcome == event.OutcomeFailure {
		b.WriteString(" tried ")
	} else {
		b.WriteString(" did ")
	}
	b.WriteString(ev.Action)
	if ev.Target != "" {
		b.WriteString(" on ")
		b.WriteString(ev.Target)
	}
	if ev.SourceIP != "" {
		b.WriteString(" from ")
		b.WriteString(ev.SourceIP)
	}
	if ev.Outcome == event.OutcomeFailure {
		b.WriteString(" (failed)")
	}
	b.WriteString(" at ")
	b.WriteString(ev.Time.Format(time.RFC3339))
	return b.String()
}

func (e *Engine) ruleReason(ev *event.Event, r *sigma.Rule) string {
	reason := describeEvent(ev) + fmt.Sprintf("; matched Sigma rule %q (%s)", r.Title, r.Key())
	if e.base != nil && ev.Actor != "" {
		reason += "; typical for this actor: " + e.base.Describe(ev)
	}
	return reason
}

func (e *Engine) suppressed(rule string, ev *event.Event) bool {
	for i, s := range e.sups {
		if s.matches(rule, ev.Actor, ev.SourceIP, ev.Time) {
			e.supCounts[i]++
			return true
		}
	}
	return false
}

// sample copies ev's raw record for Alert.Samples, cut to SampleBytes.
func (e *Engine) sample(ev *event.Event) string {
	raw := ev.Raw
	if len(raw) > e.cfg.SampleBytes {
		raw = raw[:e.cfg.SampleBytes]
	}
	return string(raw)
}

// raise adds ev to the open alert of (rule, actor), or opens one. The
// reason is built only for the first event of a group: most matches join
// an open group, and words cost more than matching.
func (e *Engine) raise(ctx context.Context, ev *event.Event, kind, rule, title, severity string, criteria []string, reason func() string) error {
	if e.suppressed(rule, ev) {
		e.stats.Suppressed++
		return nil
	}
	e.keyBuf = append(append(append(e.keyBuf[:0], rule...), 0), ev.Actor...)
	// An event far ahead of the engine's clock (clock-skewed) or behind it
	// by more than a window (late) is grouped apart, with others of its
	// rule and actor in the same window-sized slice of time, so it neither
	// closes the on-time group early nor joins one it is far from.
	offClock := ev.Time.After(e.lastTime) || ev.Time.Before(e.lastTime.Add(-e.cfg.GroupWindow))
	if offClock {
		bucket := ev.Time.UnixNano() / int64(e.cfg.GroupWindow)
		e.keyBuf = strconv.AppendInt(append(e.keyBuf, 0, 1), bucket, 10)
	}
	if g := e.open[string(e.keyBuf)]; g != nil {
		if ev.Time.Sub(g.alert.Time) <= e.cfg.GroupWindow {
			g.alert.Events++
			if ev.Time.After(g.alert.LastTime) {
				g.alert.LastTime = ev.Time
			}
			if len(g.alert.Samples) < e.cfg.SampleEvents {
				g.alert.Samples = append(g.alert.Samples, e.sample(ev))
			}
			return nil
		}
		delete(e.open, string(e.keyBuf))
		if err := e.send(ctx, g); err != nil {
			return err
		}
	}
	if len(e.open) >= e.cfg.MaxOpenGroups {
		if err := e.sweep(ctx, true); err != nil {
			return err
		}
	}
	key := string(e.keyBuf)
	sum := sha256.Sum256([]byte(key + "\x00" + ev.Time.UTC().Format(time.RFC3339Nano)))
	e.open[key] = &group{offClock: offClock, alert: Alert{
		ID: hex.EncodeToString(sum[:8]), Rule: rule, Title: title, Severity: severity, Criteria: criteria,
		Time: ev.Time, LastTime: ev.Time, Actor: ev.Actor, Reason: reason(), Events: 1, Kind: kind,
		Source: ev.Source.String(), Action: ev.Action, Target: ev.Target, SourceIP: ev.SourceIP, Org: ev.Org,
	}}
	if e.cfg.SampleEvents > 0 {
		e.open[key].alert.Samples = []string{e.sample(ev)}
	}
	return nil
}

func (e *Engine) send(ctx context.Context, g *group) error {
	if g.alert.Events > 1 {
		g.alert.Reason += fmt.Sprintf(" (and %d more like it until %s)", g.alert.Events-1, g.alert.LastTime.Format(time.RFC3339))
	}
	e.stats.Alerts++
	if err := e.cfg.Sink.Send(ctx, g.alert); err != nil {
		return fmt.Errorf("send alert %s: %w", g.alert.Rule, err)
	}
	return nil
}

// sweep sends the groups whose window has passed (event time); when
// forced, it also sends the oldest half to make room.
func (e *Engine) sweep(ctx context.Context, force bool) error {
	var closed []string
	for k, g := range e.open {
		if g.offClock || e.lastTime.Sub(g.alert.Time) > e.cfg.GroupWindow {
			closed = append(closed, k)
		}
	}
	if force && len(closed) == 0 {
		var oldest time.Time
		for _, g := range e.open {
			if oldest.IsZero() || g.alert.Time.Before(oldest) {
				oldest = g.alert.Time
			}
		}
		mid := oldest.Add(e.lastTime.Sub(oldest) / 2)
		for k, g := range e.open {
			if !g.alert.Time.After(mid) {
				closed = append(closed, k)
			}
		}
	}
	return e.closeGroups(ctx, closed)
}

func (e *Engine) closeGroups(ctx context.Context, keys []string) error {
	// Send in time order so output is stable.
	gs := make([]*group, 0, len(keys))
	for _, k := range keys {
		gs = append(gs, e.open[k])
		delete(e.open, k)
	}
	sortGroups(gs)
	for _, g := range gs {
		if err := e.send(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

func sortGroups(gs []*group) {
	sort.Slice(gs, func(i, j int) bool { return less(gs[i], gs[j]) })
}

func less(a, b *group) bool {
	if !a.alert.Time.Equal(b.alert.Time) {
		return a.alert.Time.Before(b.alert.Time)
	}
	if a.alert.Rule != b.alert.Rule {
		return a.alert.Rule < b.alert.Rule
	}
	return a.alert.Actor < b.alert.Actor
}

// Flush sends every open alert; call it at the end of input.
func (e *Engine) Flush(ctx context.Context) error {
	keys := make([]string, 0, len(e.open))
	for k := range e.open {
		keys = append(keys, k)
	}
	return e.closeGroups(ctx, keys)
}
