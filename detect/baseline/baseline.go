// Package baseline learns what is typical for each actor and reports what
// is not: the first time an actor performs an action, works from a network
// or touches a resource; actions rare for the actor; and bursts far above the
// actor's own moving average. Nothing is reported while an actor is still in
// its learning period.
//
// State is bounded (least-recently-seen actors and values are forgotten
// beyond the configured caps) and serializable, so restarts keep what was
// learned: see State and Store.
package baseline

import (
	"container/list"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/attest-hq/attest/detect/event"
)

// Config holds the thresholds; zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// LearningPeriod: an actor is only judged once it has been seen for
	// this long (event time) ...
	LearningPeriod time.Duration `json:"learning_period"`
	// ... and has at least this many events.
	MinEvents int64 `json:"min_events"`
	// RareRatio and RareMaxCount: an action seen before is rare for an
	// actor when it is at most RareMaxCount times and below RareRatio of the
	// actor's events.
	RareRatio    float64 `json:"rare_ratio"`
	RareMaxCount int64   `json:"rare_max_count"`
	// RateWindow, RateFactor, RateMinCount: a window's count is a burst
	// when it exceeds both RateMinCount and RateFactor times the actor's
	// moving average over past windows (RateMinWindows of them at least).
	RateWindow     time.Duration `json:"rate_window"`
	RateFactor     float64       `json:"rate_factor"`
	RateMinCount   int64         `json:"rate_min_count"`
	RateMinWindows int           `json:"rate_min_windows"`
	// Memory caps.
	MaxEntities  int `json:"max_entities"`
	MaxActions   int `json:"max_actions"`
	MaxNetworks  int `json:"max_networks"`
	MaxResources int `json:"max_resources"`
	// Checks to run (all on by default; set Disable to turn off by kind).
	Disable []string `json:"disable,omitempty"`
}

// DefaultConfig returns the defaults: a week of learning and 50 events per
// actor, rare below 0.1% and at most 2 times, bursts 10x the hourly
// average and at least 200 events, 10,000 actors.
func DefaultConfig() Config {
	return Config{
		LearningPeriod: 7 * 24 * time.Hour,
		MinEvents:      50,
		RareRatio:      0.001,
		RareMaxCount:   2,
		RateWindow:     time.Hour,
		RateFactor:     10,
		RateMinCount:   200,
		RateMinWindows: 3,
		MaxEntities:    10_000,
		MaxActions:     512,
		MaxNetworks:    64,
		MaxResources:   256,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.LearningPeriod == 0 {
		c.LearningPeriod = d.LearningPeriod
	}
	if c.MinEvents == 0 {
		c.MinEvents = d.MinEvents
	}
	if c.RareRatio == 0 {
		c.RareRatio = d.RareRatio
	}
	if c.RareMaxCount == 0 {
		c.RareMaxCount = d.RareMaxCount
	}
	if c.RateWindow == 0 {
		c.RateWindow = d.RateWindow
	}
	if c.RateFactor == 0 {
		c.RateFactor = d.RateFactor
	}
	if c.RateMinCount == 0 {
		c.RateMinCount = d.RateMinCount
	}
	if c.RateMinWindows == 0 {
		c.RateMinWindows = d.RateMinWindows
	}
	if c.MaxEntities == 0 {
		c.MaxEntities = d.MaxEntities
	}
	if c.MaxActions == 0 {
		c.MaxActions = d.MaxActions
	}
	if c.MaxNetworks == 0 {
		c.MaxNetworks = d.MaxNetworks
	}
	if c.MaxResources == 0 {
		c.MaxResources = d.MaxResources
	}
	return c
}

// Finding kinds.
const (
	FirstSeenActor    = "first_seen_actor"
	FirstSeenAction   = "first_seen_action"
	FirstSeenNetwork  = "first_seen_network"
	FirstSeenResource = "first_seen_resource"
	RareAction        = "rare_action"
	RateSpike         = "rate_spike"
)

// Kinds lists the finding kinds, for configuration and documentation.
var Kinds = []string{FirstSeenActor, FirstSeenAction, FirstSeenNetwork, FirstSeenResource, RareAction, RateSpike}

// Finding is one departure from an actor's baseline.
type Finding struct {
	Kind     string
	Title    string
	Severity string
	Actor    string
	Value    string // the action, network, resource or count concerned
	// Reason says, in words, what happened and what is typical.
	Reason string
}

// Counter counts one value for one actor.
type Counter struct {
	Count int64     `json:"n"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
}

type profile struct {
	key       string // source|org|actor
	actor     string
	first     time.Time
	last      time.Time
	total     int64
	actions   map[string]*Counter
	networks  map[string]*Counter
	resources map[string]*Counter
	// rate
	winStart   time.Time
	winCount   int64
	avg        float64
	windows    int
	winAlerted bool
	elem       *list.Element
}

// Baseline is the learned state of every actor. It is not safe for
// concurrent use.
type Baseline struct {
	cfg      Config
	disabled map[string]bool
	entities map[string]*profile
	lru      *list.List // front = most recently seen
	start    time.Time
	keyBuf   []byte
	// nets caches NetworkKey by /24 prefix so the per-event lookup does
	// not build a string.
	nets map[string]string
}

// New returns an empty baseline.
func New(cfg Config) *Baseline {
	cfg = cfg.withDefaults()
	b := &Baseline{cfg: cfg, entities: map[string]*profile{}, lru: list.New(), disabled: map[string]bool{}, nets: map[string]string{}}
	for _, d := range cfg.Disable {
		b.disabled[d] = true
	}
	return b
}

// Config returns the effective configuration.
func (b *Baseline) Config() Config { return b.cfg }

// Entities is the number of actors tracked.
func (b *Baseline) Entities() int { return len(b.entities) }

func (b *Baseline) entityKey(ev *event.Event) []byte {
	b.keyBuf = append(b.keyBuf[:0], ev.Source.String()...)
	b.keyBuf = append(b.keyBuf, '|')
	b.keyBuf = append(b.keyBuf, ev.Org...)
	b.keyBuf = append(b.keyBuf, '|')
	b.keyBuf = append(b.keyBuf, ev.Actor...)
	return b.keyBuf
}

// NetworkKey is the network an address belongs to for first-seen checks:
// the /24 of an IPv4 address, the /48 of an IPv6 one, and the value itself
// for non-addresses (AWS writes service names such as s3.amazonaws.com).
func NetworkKey(ip string) string {
	if ip == "" {
		return ""
	}
	if strings.Count(ip, ".") == 3 && strings.IndexByte(ip, ':') < 0 {
		if i := strings.LastIndexByte(ip, '.'); i > 0 {
			if _, err := netip.ParseAddr(ip); err == nil {
				return ip[:i] + ".0/24"
			}
		}
		return ip
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		if a.Is4In6() {
			return NetworkKey(a.Unmap().String())
		}
		p, _ := a.Prefix(48)
		return p.String()
	}
	return ip
}

// network is NetworkKey with a cache for IPv4 addresses.
func (b *Baseline) network(ip string) string {
	if i := strings.LastIndexByte(ip, '.'); i > 0 && isDottedQuad(ip) {
		if n, ok := b.nets[ip[:i]]; ok {
			return n
		}
		if len(b.nets) > 100_000 {
			clear(b.nets)
		}
		n := ip[:i] + ".0/24"
		b.nets[strings.Clone(ip[:i])] = n
		return n
	}
	return NetworkKey(ip)
}

func isDottedQuad(s string) bool {
	dots, digits := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if digits == 0 || digits > 3 {
				return false
			}
			dots, digits = dots+1, 0
		case '0' <= c && c <= '9':
			digits++
		default:
			return false
		}
	}
	return dots == 3 && digits > 0 && digits <= 3
}

// resourceKey is what first-seen-resource compares: S3 objects count by
// bucket, or every new object key would be news.
func resourceKey(ev *event.Event) string {
	if ev.Source == event.SourceCloudTrail && strings.HasPrefix(ev.Action, "s3:") {
		if i := strings.IndexByte(ev.Target, '/'); i >= 0 {
			return ev.Target[:i]
		}
	}
	return ev.Target
}

// learned reports whether p has been watched long enough to judge.
func (b *Baseline) learned(p *profile, t time.Time) bool {
	return p.total >= b.cfg.MinEvents && t.Sub(p.first) >= b.cfg.LearningPeriod
}

// Observe learns from ev and appends what is unusual about it to out.
// Events without an actor are ignored.
func (b *Baseline) Observe(ev *event.Event, out []Finding) []Finding {
	if ev.Actor == "" {
		return out
	}
	t := ev.Time
	if b.start.IsZero() || t.Before(b.start) {
		b.start = t
	}
	key := b.entityKey(ev)
	p := b.entities[string(key)]
	if p == nil {
		if t.Sub(b.start) >= b.cfg.LearningPeriod && !b.disabled[FirstSeenActor] && ev.ActorType != "AWSService" {
			out = append(out, Finding{
				Kind: FirstSeenActor, Title: "New actor", Severity: "low", Actor: ev.Actor, Value: ev.Actor,
				Reason: fmt.Sprintf("%s appeared for the first time (%s %s), after %s of watching %s logs in which it was never seen",
					ev.Actor, verb(ev), ev.Action, days(t.Sub(b.start)), ev.Source),
			})
		}
		p = b.newProfile(string(key), ev)
	} else {
		b.lru.MoveToFront(p.elem)
	}
	learned := b.learned(p, t)
	// Judge before learning from this event.
	if learned {
		out = b.judge(p, ev, out)
	}
	b.learn(p, ev)
	return out
}

func (b *Baseline) newProfile(key string, ev *event.Event) *profile {
	if len(b.entities) >= b.cfg.MaxEntities {
		oldest := b.lru.Back()
		if oldest != nil {
			op := oldest.Value.(*profile)
			delete(b.entities, op.key)
			b.lru.Remove(oldest)
		}
	}
	p := &profile{
		key: key, actor: strings.Clone(ev.Actor), first: ev.Time,
		actions: map[string]*Counter{}, networks: map[string]*Counter{}, resources: map[string]*Counter{},
	}
	p.elem = b.lru.PushFront(p)
	b.entities[key] = p
	return p
}

func verb(ev *event.Event) string {
	if ev.Outcome == event.OutcomeFailure {
		return "tried"
	}
	return "did"
}

func days(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}

// typicalActions names an actor's most frequent actions, for reasons.
func typicalActions(p *profile, n int) string {
	type kv struct {
		k string
		c int64
	}
	top := make([]kv, 0, n+1)
	for k, c := range p.actions {
		top = append(top, kv{k, c.Count})
		// Ties break by name so reasons are reproducible.
		for i := len(top) - 1; i > 0 && (top[i].c > top[i-1].c || top[i].c == top[i-1].c && top[i].k < top[i-1].k); i-- {
			top[i], top[i-1] = top[i-1], top[i]
		}
		if len(top) > n {
			top = top[:n]
		}
	}
	parts := make([]string, len(top))
	for i, t := range top {
		parts[i] = fmt.Sprintf("%s (%d)", t.k, t.c)
	}
	return strings.Join(parts, ", ")
}

// keys names up to n values of m, most used first.
func keys(m map[string]*Counter, n int) string {
	all := make([]string, 0, len(m))
	for k := range m {
		all = append(all, k)
	}
	sort.Slice(all, func(i, j int) bool {
		if m[all[i]].Count != m[all[j]].Count {
			return m[all[i]].Count > m[all[j]].Count
		}
		return all[i] < all[j]
	})
	if len(all) > n {
		all = append(all[:n], "...")
	}
	return strings.Join(all, ", ")
}

func (b *Baseline) judge(p *profile, ev *event.Event, out []Finding) []Finding {
	since := p.first.Format("2006-01-02")
	c := p.actions[ev.Action]
	if !ev.ReadOnly && ev.Action != "" {
		switch {
		case c == nil && !b.disabled[FirstSeenAction]:
			out = append(out, Finding{
				Kind: FirstSeenAction, Title: "First time this actor performs this action", Severity: "medium",
				Actor: p.actor, Value: ev.Action,
				Reason: fmt.Sprintf("%s %s %s on %q for the first time; in %d events since %s it typically did %s",
					p.actor, verb(ev), ev.Action, ev.Target, p.total, since, typicalActions(p, 3)),
			})
		case c != nil && !b.disabled[RareAction] && c.Count <= b.cfg.RareMaxCount && float64(c.Count)/float64(p.total) < b.cfg.RareRatio:
			out = append(out, Finding{
				Kind: RareAction, Title: "Action rare for this actor", Severity: "low",
				Actor: p.actor, Value: ev.Action,
				Reason: fmt.Sprintf("%s %s %s, which it did only %d time(s) in %d events since %s (last %s); it typically does %s",
					p.actor, verb(ev), ev.Action, c.Count, p.total, since, c.Last.Format(time.RFC3339), typicalActions(p, 3)),
			})
		}
	}
	if net := b.network(ev.SourceIP); net != "" && p.networks[net] == nil && !b.disabled[FirstSeenNetwork] && len(p.networks) > 0 {
		out = append(out, Finding{
			Kind: FirstSeenNetwork, Title: "Actor active from a new network", Severity: "medium",
			Actor: p.actor, Value: net,
			Reason: fmt.Sprintf("%s %s %s from %s (network %s) for the first time; since %s it used only %s",
				p.actor, verb(ev), ev.Action, ev.SourceIP, net, since, keys(p.networks, 5)),
		})
	}
	if res := resourceKey(ev); res != "" && !ev.ReadOnly && p.resources[res] == nil && !b.disabled[FirstSeenResource] && len(p.resources) > 0 {
		out = append(out, Finding{
			Kind: FirstSeenResource, Title: "Actor changed a resource it never touched", Severity: "low",
			Actor: p.actor, Value: res,
			Reason: fmt.Sprintf("%s %s %s on %s for the first time; since %s it worked on %d other resource(s) such as %s",
				p.actor, verb(ev), ev.Action, res, since, len(p.resources), keys(p.resources, 3)),
		})
	}
	return out
}

func (b *Baseline) learn(p *profile, ev *event.Event) {
	t := ev.Time
	p.total++
	if t.After(p.last) {
		p.last = t
	}
	if ev.Action != "" {
		bump(p.actions, ev.Action, t, b.cfg.MaxActions)
	}
	if net := b.network(ev.SourceIP); net != "" {
		bump(p.networks, net, t, b.cfg.MaxNetworks)
	}
	if res := resourceKey(ev); res != "" && !ev.ReadOnly {
		bump(p.resources, res, t, b.cfg.MaxResources)
	}
}

// bump counts value v, forgetting the least recently seen value when the
// map is at its cap.
func bump(m map[string]*Counter, v string, t time.Time, max int) {
	if c := m[v]; c != nil {
		c.Count++
		if t.After(c.Last) {
			c.Last = t
		}
		return
	}
	if len(m) >= max {
		var oldK string
		var oldT time.Time
		for k, c := range m {
			if oldK == "" || c.Last.Before(oldT) {
				oldK, oldT = k, c.Last
			}
		}
		delete(m, oldK)
	}
	m[strings.Clone(v)] = &Counter{Count: 1, First: t, Last: t}
}

// Rate checks ev's actor for a burst. It is separate from Observe so the
// engine can run it on every event while Observe's first-seen checks run
// on the events that matter; it returns at most one finding per window.
func (b *Baseline) Rate(ev *event.Event, out []Finding) []Finding {
	if ev.Actor == "" || b.disabled[RateSpike] {
		return out
	}
	p := b.entities[string(b.entityKey(ev))]
	if p == nil {
		return out
	}
	w := ev.Time.Truncate(b.cfg.RateWindow)
	switch {
	case p.winStart.IsZero():
		p.winStart = w
	case w.After(p.winStart):
		// Close the window (and the empty ones after it) into the average.
		const alpha = 0.2
		p.avg = alpha*float64(p.winCount) + (1-alpha)*p.avg
		p.windows++
		gap := int(w.Sub(p.winStart)/b.cfg.RateWindow) - 1
		for i := 0; i < gap && i < 64; i++ {
			p.avg *= 1 - alpha
			p.windows++
		}
		p.winStart, p.winCount, p.winAlerted = w, 0, false
	}
	p.winCount++
	if p.winAlerted || p.windows < b.cfg.RateMinWindows || p.winCount < b.cfg.RateMinCount {
		return out
	}
	if float64(p.winCount) > b.cfg.RateFactor*p.avg {
		p.winAlerted = true
		out = append(out, Finding{
			Kind: RateSpike, Title: "Burst of activity far above this actor's average", Severity: "medium",
			Actor: p.actor, Value: fmt.Sprint(p.winCount),
			Reason: fmt.Sprintf("%s made %d requests in the %s window starting %s; its moving average is %.1f per window over %d windows (threshold %.0fx and at least %d)",
				p.actor, p.winCount, b.cfg.RateWindow, p.winStart.Format(time.RFC3339), p.avg, p.windows, b.cfg.RateFactor, b.cfg.RateMinCount),
		})
	}
	return out
}

// Describe says what is typical for ev's actor, for the reason of a rule
// alert: how often it did this action before, and how long it was watched.
func (b *Baseline) Describe(ev *event.Event) string {
	p := b.entities[string(b.entityKey(ev))]
	if p == nil || p.total == 0 {
		return fmt.Sprintf("%s had not been seen before", ev.Actor)
	}
	c := p.actions[ev.Action]
	var did string
	if c == nil || c.Count <= 1 {
		did = "never did this before"
	} else {
		did = fmt.Sprintf("did this %d time(s) before, first %s", c.Count-1, c.First.Format("2006-01-02"))
	}
	status := ""
	if !b.learned(p, ev.Time) {
		status = " (still learning)"
	}
	return fmt.Sprintf("%s %s; %d events seen since %s%s, typically %s", ev.Actor, did, p.total, p.first.Format("2006-01-02"), status, typicalActions(p, 3))
}
