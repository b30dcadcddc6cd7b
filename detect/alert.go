// Package detect is Attest's security monitoring engine: it reads audit
// logs (detect/ingest), matches Sigma rules (detect/sigma), learns what is
// typical for each actor (detect/baseline) and raises grouped, explained
// alerts. It runs without a server or a database: the server plugs in an
// AlertSink, a baseline.Store and Suppressions.
package detect

import (
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Severity levels, in Sigma's words.
const (
	SeverityInformational = "informational"
	SeverityLow           = "low"
	SeverityMedium        = "medium"
	SeverityHigh          = "high"
	SeverityCritical      = "critical"
)

// Alert kinds: what raised it.
const (
	KindRule        = "rule"
	KindCorrelation = "correlation"
	KindBaseline    = "baseline"
)

// Alert is one group of events that a rule, correlation or baseline found:
// the same rule and actor within the engine's group window make one alert
// with an event count.
type Alert struct {
	// ID is stable for the group: rule, actor and first event time.
	ID       string    `json:"id"`
	Rule     string    `json:"rule"`
	Title    string    `json:"title"`
	Severity string    `json:"severity"`
	Criteria []string  `json:"criteria"`
	Time     time.Time `json:"time"`
	LastTime time.Time `json:"last_time"`
	Actor    string    `json:"actor"`
	Reason   string    `json:"reason"`
	Events   int       `json:"events"`
	Kind     string    `json:"kind"`
	Source   string    `json:"source"`
	Action   string    `json:"action,omitempty"`
	Target   string    `json:"target,omitempty"`
	SourceIP string    `json:"source_ip,omitempty"`
	Org      string    `json:"org,omitempty"`
	// Samples are the raw records of the group's first events, at most
	// Config.SampleEvents of them (none by default), each cut to
	// Config.SampleBytes.
	Samples []string `json:"samples,omitempty"`
}

// AlertSink receives alerts when their group closes. The engine calls Send
// from one goroutine, in order; an error stops Engine.Process with it. The
// CLI writes JSON lines; the server will persist, triage and deliver.
type AlertSink interface {
	Send(ctx context.Context, a Alert) error
}

// SinkFunc adapts a function to AlertSink.
type SinkFunc func(ctx context.Context, a Alert) error

// Send implements AlertSink.
func (f SinkFunc) Send(ctx context.Context, a Alert) error { return f(ctx, a) }

// JSONLines writes each alert as one line of JSON.
type JSONLines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSONLines returns a sink writing to w.
func NewJSONLines(w io.Writer) *JSONLines {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONLines{enc: enc}
}

// Send implements AlertSink.
func (j *JSONLines) Send(_ context.Context, a Alert) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.enc.Encode(a)
}

// Collect keeps alerts in memory (tests and small tools).
type Collect struct {
	mu     sync.Mutex
	Alerts []Alert
}

// Send implements AlertSink.
func (c *Collect) Send(_ context.Context, a Alert) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Alerts = append(c.Alerts, a)
	return nil
}

// Suppression silences alerts an organisation has decided it does not want,
// e.g. after triaging one as a false positive. Empty fields match anything;
// Rule and Actor match exactly, or as a prefix when they end in '*';
// Network is an address or CIDR prefix the event's source IP must fall in.
type Suppression struct {
	ID      string    `json:"id,omitempty"` // the caller's name for it; Engine.SuppressedBy counts by position
	Rule    string    `json:"rule,omitempty"`
	Actor   string    `json:"actor,omitempty"`
	Network string    `json:"network,omitempty"`
	Until   time.Time `json:"until,omitempty"` // zero: no expiry
	Reason  string    `json:"reason"`
}

// ParseNetwork reads a suppression network: an IP address (a single-host
// prefix) or a CIDR prefix.
func ParseNetwork(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// inNetwork reports whether ip falls in prefix; an invalid prefix (no
// network set) matches anything, an unparsable ip nothing.
func inNetwork(prefix netip.Prefix, ip string) bool {
	if !prefix.IsValid() {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	return prefix.Contains(a.Unmap())
}

func matchPattern(pat, s string) bool {
	if pat == "" {
		return true
	}
	if p, ok := strings.CutSuffix(pat, "*"); ok {
		return strings.HasPrefix(s, p)
	}
	return pat == s
}

// Matches reports whether s silences an alert for rule and actor at t. A
// suppression with a Network never matches here, since no address is
// given; see MatchesFrom.
func (s Suppression) Matches(rule, actor string, t time.Time) bool {
	if s.Network != "" {
		return false
	}
	return s.MatchesFrom(rule, actor, "", t)
}

// MatchesFrom reports whether s silences an alert for rule and actor, from
// source address ip, at t.
func (s Suppression) MatchesFrom(rule, actor, ip string, t time.Time) bool {
	var prefix netip.Prefix
	if s.Network != "" {
		p, err := ParseNetwork(s.Network)
		if err != nil {
			return false
		}
		prefix = p
	}
	return compiledSuppression{s: s, network: prefix}.matches(rule, actor, ip, t)
}

// compiledSuppression is a Suppression with its network parsed once.
type compiledSuppression struct {
	s       Suppression
	network netip.Prefix
}

func (c compiledSuppression) matches(rule, actor, ip string, t time.Time) bool {
	if !c.s.Until.IsZero() && t.After(c.s.Until) {
		return false
	}
	return matchPattern(c.s.Rule, rule) && matchPattern(c.s.Actor, actor) && inNetwork(c.network, ip)
}
