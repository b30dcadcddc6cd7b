// Package monitor runs detection inside the server: it feeds log events an
// organisation sends through the detect engine (built-in rule pack plus
// baselines whose learned state lives in the database), persists the
// alerts it raises (grouped and de-duplicated), carries them through triage
// (open, acknowledged, resolved, false positive) with every step in the
// audit log, applies suppression rules, queues deliveries of new alerts to
// email and webhooks, and files monthly alert statistics as evidence of
// the monitoring controls.
//
// The detect packages stay free of the database; this package is the seam
// that plugs an AlertSink, a baseline.Store and Suppressions into them.
package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/detect"
	"github.com/attest-hq/attest/detect/rules"
	"github.com/attest-hq/attest/detect/sigma"
	"github.com/attest-hq/attest/store"
)

// Config wires a Monitor.
type Config struct {
	DB *store.DB
	// Rules is the rule set every org runs; nil loads the built-in pack.
	Rules *sigma.RuleSet
	Log   *slog.Logger
	// LeaseWait is how long an ingest waits while another ingest of the
	// same org runs (on this or another instance). Default two minutes.
	LeaseWait time.Duration
	// Lease is how long an ingest's hold on its org lasts without renewal;
	// it is renewed every third of it. Default two minutes.
	Lease time.Duration
}

// Monitor is detection for every org of one database. It is safe for
// concurrent use; ingests of one org run one at a time.
type Monitor struct {
	db        *store.DB
	rules     *sigma.RuleSet
	log       *slog.Logger
	leaseWait time.Duration
	lease     time.Duration

	mu    sync.Mutex
	locks map[attest.OrgID]chan struct{}
}

// New builds a Monitor.
func New(cfg Config) (*Monitor, error) {
	if cfg.DB == nil {
		return nil, fmt.Errorf("monitor: no database")
	}
	m := &Monitor{db: cfg.DB, rules: cfg.Rules, log: cfg.Log, leaseWait: cfg.LeaseWait, lease: cfg.Lease,
		locks: map[attest.OrgID]chan struct{}{}}
	if m.rules == nil {
		rs, err := rules.Builtin()
		if err != nil {
			return nil, fmt.Errorf("monitor: load the built-in rules: %w", err)
		}
		m.rules = rs
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.leaseWait <= 0 {
		m.leaseWait = 2 * time.Minute
	}
	if m.lease <= 0 {
		m.lease = 2 * time.Minute
	}
	return m, nil
}

// lockOrg serialises ingests of one org inside this process; the lease in
// detect_baselines does the same across processes.
func (m *Monitor) lockOrg(ctx context.Context, org attest.OrgID) (func(), error) {
	m.mu.Lock()
	ch := m.locks[org]
	if ch == nil {
		ch = make(chan struct{}, 1)
		m.locks[org] = ch
	}
	m.mu.Unlock()
	timer := time.NewTimer(m.leaseWait)
	defer timer.Stop()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-timer.C:
		return nil, errBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

var errBusy = attest.Conflict("another upload of events for this organisation is still being processed; retry when it is done")

// Severity ranks, lowest first.
var severities = []string{detect.SeverityInformational, detect.SeverityLow, detect.SeverityMedium, detect.SeverityHigh, detect.SeverityCritical}

// SeverityRank orders severities: informational 0 to critical 4, -1 for
// anything else.
func SeverityRank(s string) int {
	for i, v := range severities {
		if v == s {
			return i
		}
	}
	return -1
}

// Severities lists the severity words, lowest first.
func Severities() []string { return append([]string(nil), severities...) }

// clean makes text from logs storable on both databases: valid UTF-8, no
// NUL bytes (PostgreSQL refuses both in TEXT), at most max bytes.
func clean(s string, max int) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
