package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/detect"
	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/ingest"
	"github.com/attest-hq/attest/store"
)

// MaxRecord is the largest single record (line or JSON object) an upload
// may hold; longer ones are counted as malformed. Real audit records are
// far smaller (CloudTrail caps an event at 256 KB).
const MaxRecord = 1 << 20

// IngestInput is one upload of log events.
type IngestInput struct {
	// Format of the events; event.SourceUnknown sniffs it from the content.
	Format event.Source
	// Body is read once, as a stream; gzip is detected. Read errors that
	// are *attest.Error (such as a size cap) are reported with their kind.
	Body io.Reader
	// AlertLink returns the address of an alert's page, for the text of
	// deliveries; nil leaves links out.
	AlertLink func(id string) string
}

// IngestSummary is what an upload did.
type IngestSummary struct {
	Format           string             `json:"format"`
	Events           int64              `json:"events"`
	Malformed        int64              `json:"malformed"`
	MalformedSamples []ingest.Malformed `json:"malformed_samples"` // the first few, with line numbers and reasons
	Matches          int64              `json:"matches"`           // rule matches, before grouping
	Alerts           int64              `json:"alerts"`            // new alerts raised
	AlertIDs         []string           `json:"alert_ids"`         // the new alerts (at most 100)
	Grouped          int64              `json:"grouped"`           // groups folded into an alert already open
	Duplicates       int64              `json:"duplicates"`        // groups already recorded (the same events sent again)
	Suppressed       int64              `json:"suppressed"`        // matches silenced by suppressions
	ClockSkewed      int64              `json:"clock_skewed"`      // events dated more than a day ahead of the server's clock: matched, but they do not move the engine's clock
	Deliveries       int                `json:"deliveries_queued"` // notifications queued for new alerts
	Baseline         struct {
		Enabled  bool `json:"enabled"`
		Entities int  `json:"entities"` // actors profiled after this upload
	} `json:"baseline"`
	ElapsedMS       int64   `json:"elapsed_ms"`
	EventsPerSecond float64 `json:"events_per_second"`
}

// Ingest runs one upload of events through the org's engine: the
// built-in rules and the org's baseline (restored from the database and
// saved back), with its settings and active suppressions. Alerts are
// persisted as they close; new ones at or above the org's threshold are
// queued for delivery. Malformed records are counted and skipped. Ingests
// of one org run one at a time (across instances too).
//
// Errors: Invalid naming format (content of an unknown format) or body (a
// broken gzip stream, cut short: the events before the break are kept and
// the message says how many); errors of the body reader keep their kind
// (e.g. TooLarge); Conflict when another ingest of the org holds it too
// long.
func (m *Monitor) Ingest(ctx context.Context, actor attest.Actor, in IngestInput) (IngestSummary, error) {
	start := time.Now()
	org := actor.OrgID
	sum := IngestSummary{MalformedSamples: []ingest.Malformed{}, AlertIDs: []string{}}
	unlock, err := m.lockOrg(ctx, org)
	if err != nil {
		return sum, err
	}
	defer unlock()
	bs, err := m.acquireLease(ctx, org)
	if err != nil {
		return sum, err
	}
	defer func() {
		if err := bs.release(context.WithoutCancel(ctx)); err != nil {
			m.log.Warn("release the ingest lease", "org", org, "err", err)
		}
	}()
	now := m.db.Now()
	settings, err := GetSettings(ctx, m.db.Q(), org)
	if err != nil {
		return sum, err
	}
	sups, err := ListSuppressions(ctx, m.db.Q(), org, true, now)
	if err != nil {
		return sum, err
	}
	supIDs := make([]string, len(sups))
	dsups := make([]detect.Suppression, len(sups))
	for i, s := range sups {
		supIDs[i] = s.ID
		dsups[i] = detect.Suppression{ID: s.ID, Rule: s.Rule, Actor: s.Actor, Network: s.Network, Reason: s.Reason}
		if s.Until != nil {
			dsups[i].Until = *s.Until
		}
	}
	window := time.Duration(settings.GroupWindowMinutes) * time.Minute
	w := &alertWriter{m: m, actor: actor, window: window, settings: settings, link: in.AlertLink, sum: &sum}
	eng, err := detect.New(detect.Config{
		Rules: m.rules, Baseline: settings.Baseline.config(), DisableBaselines: !settings.Baseline.Enabled,
		GroupWindow: window, Sink: w, Suppressions: dsups, SampleEvents: MaxSamples, SampleBytes: 8 << 10,
		// Events arrive as they happen: the server's clock is the newest
		// sane time.
		Now: m.db.Now,
	})
	if err != nil {
		return sum, fmt.Errorf("build the detection engine: %w", err)
	}
	sum.Baseline.Enabled = eng.Baseline() != nil
	if b := eng.Baseline(); b != nil {
		st, err := bs.Load(ctx)
		if err != nil {
			return sum, err
		}
		if st != nil {
			if err := b.Restore(st); err != nil {
				// A state this binary cannot read (a newer version):
				// refuse rather than overwrite what was learned.
				return sum, fmt.Errorf("restore the baseline of org %s: %w", org, err)
			}
		}
	}

	rd, err := ingest.NewReader(in.Body, ingest.Options{Format: in.Format, MaxRecord: MaxRecord})
	if err != nil {
		return sum, openError(err)
	}
	defer rd.Close()
	sum.Format = rd.Format().String()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(m.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				if err := bs.renew(runCtx); err != nil {
					cancel(err)
					return
				}
			}
		}
	}()
	runErr := detect.Run(runCtx, rd, eng)
	cause := context.Cause(runCtx)
	cancel(nil)
	<-renewDone
	if errors.Is(cause, errLeaseLost) {
		return sum, errLeaseLost
	}
	if runErr != nil && ctx.Err() == nil {
		return sum, fmt.Errorf("detect: %w", runErr)
	}
	// What was read is kept even when the client went away mid-stream or
	// the stream broke: its alerts and what the baseline learned belong
	// together.
	fin, stop := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer stop()
	if err := eng.Flush(fin); err != nil {
		return sum, err
	}
	if err := w.flush(fin); err != nil {
		return sum, err
	}
	st := rd.Stats()
	sum.Events, sum.Malformed = st.Events, st.Malformed
	sum.MalformedSamples = append(sum.MalformedSamples, st.Samples...)
	for i := range sum.MalformedSamples {
		sum.MalformedSamples[i].Reason = clean(sum.MalformedSamples[i].Reason, 300)
	}
	es := eng.Stats()
	sum.Matches, sum.Suppressed, sum.ClockSkewed = es.Matches, es.Suppressed, es.ClockSkewed
	if b := eng.Baseline(); b != nil {
		if err := bs.save(fin, b.Snapshot(), st.Events); err != nil {
			return sum, err
		}
		sum.Baseline.Entities = b.Entities()
	}
	if es.Suppressed > 0 {
		if err := m.db.InTx(fin, attest.System(org), func(tx *store.Tx) error {
			return countMatches(fin, tx, org, supIDs, eng.SuppressedBy())
		}); err != nil {
			return sum, err
		}
	}
	elapsed := time.Since(start)
	sum.ElapsedMS = elapsed.Milliseconds()
	if elapsed > 0 {
		sum.EventsPerSecond = float64(sum.Events) / elapsed.Seconds()
	}
	if ctx.Err() != nil {
		return sum, ctx.Err()
	}
	if err := rd.Err(); err != nil {
		return sum, streamError(err, sum.Events)
	}
	return sum, nil
}

// openError explains why an upload could not even start.
func openError(err error) error {
	var ae *attest.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ingest.ErrUnknownFormat):
		return attest.Invalid("format", "cannot tell the log format from the content; pass format="+strings.Join(ingest.Formats[1:], ", "))
	case strings.HasPrefix(err.Error(), "open gzip"):
		return attest.Invalid("body", "is not a readable gzip stream")
	}
	return attest.Invalid("body", "could not be read: "+clean(err.Error(), 200))
}

// streamError explains a stream that broke after n good events.
func streamError(err error, n int64) error {
	var ae *attest.Error
	if errors.As(err, &ae) {
		e := *ae
		e.Message = fmt.Sprintf("%s; the %d events before it were read and kept", e.Message, n)
		return &e
	}
	what := "ended early or is corrupt"
	if errors.Is(err, io.ErrUnexpectedEOF) {
		what = "is cut short (unexpected end of the gzip stream)"
	}
	return attest.Invalid("body", fmt.Sprintf("%s; the %d events before the break were read and kept, send the rest again", what, n))
}

// alertWriter is the engine's AlertSink: it persists alerts in batches,
// each batch one transaction.
type alertWriter struct {
	m        *Monitor
	actor    attest.Actor
	window   time.Duration
	settings Settings
	link     func(string) string
	pending  []detect.Alert
	sum      *IngestSummary
}

// Send implements detect.AlertSink.
func (w *alertWriter) Send(ctx context.Context, a detect.Alert) error {
	w.pending = append(w.pending, a)
	if len(w.pending) >= 200 {
		return w.flush(ctx)
	}
	return nil
}

func (w *alertWriter) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	counts := *w.sum
	err := w.m.db.InTx(ctx, w.actor, func(tx *store.Tx) error {
		for _, a := range w.pending {
			if err := w.store(ctx, tx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		*w.sum = counts
		return fmt.Errorf("persist alerts: %w", err)
	}
	w.pending = w.pending[:0]
	return nil
}

func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// store folds one engine group into the alerts: skipped when already
// recorded, added to an open alert of the same rule and actor within the
// group window, or opened as a new alert.
func (w *alertWriter) store(ctx context.Context, tx *store.Tx, a detect.Alert) error {
	org := w.actor.OrgID
	key := a.ID
	var seen string
	err := tx.QueryRowContext(ctx, "SELECT alert_id FROM alert_groups WHERE org_id = $1 AND group_key = $2", org, key).Scan(&seen)
	switch {
	case err == nil:
		w.sum.Duplicates++
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("look up alert group: %w", err)
	}
	rule, actor := clean(a.Rule, 200), clean(a.Actor, 500)
	first, last := ts(a.Time), ts(a.LastTime)
	if last.Before(first) {
		last = first
	}
	samples := make([]string, 0, len(a.Samples))
	for _, s := range a.Samples {
		samples = append(samples, clean(s, 8<<10))
	}

	var id, oldSamples string
	var events int64
	var oFirst, oLast time.Time
	err = tx.QueryRowContext(ctx, `SELECT id, events, first_time, last_time, samples FROM alerts
		WHERE org_id = $1 AND rule = $2 AND actor = $3 AND status IN ('open', 'acknowledged') AND last_time >= $4 AND first_time <= $5
		ORDER BY last_time DESC, id LIMIT 1`, org, rule, actor, first.Add(-w.window), last.Add(w.window)).
		Scan(&id, &events, &oFirst, &oLast, &oldSamples)
	switch {
	case err == nil:
		var kept []string
		if err := json.Unmarshal([]byte(oldSamples), &kept); err != nil {
			return fmt.Errorf("alert %s: bad samples: %w", id, err)
		}
		for _, s := range samples {
			if len(kept) < MaxSamples {
				kept = append(kept, s)
			}
		}
		sj, _ := json.Marshal(kept)
		nFirst, nLast := oFirst.UTC(), oLast.UTC()
		if first.Before(nFirst) {
			nFirst = first
		}
		if last.After(nLast) {
			nLast = last
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET events = events + $1, first_time = $2, last_time = $3, samples = $4, updated_at = $5
			WHERE org_id = $6 AND id = $7`, int64(a.Events), nFirst, nLast, string(sj), tx.Now(), org, id); err != nil {
			return fmt.Errorf("group into alert %s: %w", id, err)
		}
		if err := w.remember(ctx, tx, key, id); err != nil {
			return err
		}
		w.sum.Grouped++
		return tx.Record(ctx, "alert.grouped", "alert", id, map[string]any{"events": events, "last_time": oLast.UTC()},
			map[string]any{"events": events + int64(a.Events), "last_time": nLast})
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("look up open alert: %w", err)
	}

	now := tx.Now()
	al := Alert{
		ID: attest.NewID("alr"), Rule: rule, Kind: a.Kind, Title: clean(a.Title, 300), Severity: a.Severity,
		Criteria: a.Criteria, Actor: actor, Source: a.Source, Action: clean(a.Action, 300), Target: clean(a.Target, 1000),
		SourceIP: clean(a.SourceIP, 100), Reason: clean(a.Reason, 8000), FirstTime: first, LastTime: last, Events: int64(a.Events),
		Status: StatusOpen, CreatedAt: now, UpdatedAt: now,
	}
	if al.Criteria == nil {
		al.Criteria = []string{}
	}
	if SeverityRank(al.Severity) < 0 {
		al.Severity = detect.SeverityMedium
	}
	cj, _ := json.Marshal(al.Criteria)
	sj, _ := json.Marshal(samples)
	if _, err := tx.ExecContext(ctx, `INSERT INTO alerts (id, org_id, rule, kind, title, severity, severity_rank, criteria, actor, source,
		action, target, source_ip, reason, first_time, last_time, events, samples, status, day, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)`,
		al.ID, org, al.Rule, al.Kind, al.Title, al.Severity, SeverityRank(al.Severity), string(cj), al.Actor, al.Source,
		al.Action, al.Target, al.SourceIP, al.Reason, al.FirstTime, al.LastTime, al.Events, string(sj), al.Status,
		now.Format("2006-01-02"), now); err != nil {
		return fmt.Errorf("open alert: %w", err)
	}
	if err := w.remember(ctx, tx, key, al.ID); err != nil {
		return err
	}
	w.sum.Alerts++
	if len(w.sum.AlertIDs) < 100 {
		w.sum.AlertIDs = append(w.sum.AlertIDs, al.ID)
	}
	if err := tx.Record(ctx, "alert.open", "alert", al.ID, nil, map[string]any{
		"rule": al.Rule, "title": al.Title, "severity": al.Severity, "actor": al.Actor, "events": al.Events,
		"first_time": al.FirstTime, "criteria": al.Criteria,
	}); err != nil {
		return err
	}
	if SeverityRank(al.Severity) >= SeverityRank(w.settings.NotifyMinSeverity) {
		n, err := queueDeliveries(ctx, tx, org, w.settings, al, w.link)
		if err != nil {
			return err
		}
		w.sum.Deliveries += n
	}
	return nil
}

func (w *alertWriter) remember(ctx context.Context, tx *store.Tx, key, id string) error {
	if _, err := tx.ExecContext(ctx, "INSERT INTO alert_groups (org_id, group_key, alert_id) VALUES ($1, $2, $3)", w.actor.OrgID, key, id); err != nil {
		return fmt.Errorf("record alert group: %w", err)
	}
	return nil
}
