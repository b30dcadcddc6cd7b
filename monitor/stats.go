package monitor

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/store"
)

// Stats are an org's alert counts and triage times over a period: the
// record that monitoring runs and that someone answers it.
type Stats struct {
	From           time.Time      `json:"from"` // inclusive
	To             time.Time      `json:"to"`   // exclusive
	Total          int            `json:"total"`
	BySeverity     map[string]int `json:"by_severity"`
	ByStatus       map[string]int `json:"by_status"`
	Days           []DayCount     `json:"days"` // every day of the period, oldest first
	Acknowledge    Durations      `json:"time_to_acknowledge"`
	Resolve        Durations      `json:"time_to_resolve"`
	FalsePositives int            `json:"false_positives"`
	TopRules       []RuleCount    `json:"top_rules"` // at most 10
	// Suppressed is how many alerts the org's suppressions have silenced
	// in all (suppressions count matches since they were made).
	Suppressed int64 `json:"suppressed"`
}

// DayCount is the alerts raised on one UTC day, by severity.
type DayCount struct {
	Day        string         `json:"day"` // YYYY-MM-DD
	Total      int            `json:"total"`
	BySeverity map[string]int `json:"by_severity"`
}

// Durations summarises triage times in seconds (nearest-rank
// percentiles over the alerts that reached the step).
type Durations struct {
	Count         int    `json:"count"`
	MedianSeconds *int64 `json:"median_seconds"`
	P90Seconds    *int64 `json:"p90_seconds"`
}

// RuleCount is how often one rule alerted.
type RuleCount struct {
	Rule  string `json:"rule"`
	Title string `json:"title"`
	Count int    `json:"count"`
}

// MaxStatsDays bounds the period of ComputeStats.
const MaxStatsDays = 400

// ComputeStats counts the alerts raised in [from, to) (UTC days).
func ComputeStats(ctx context.Context, q store.Querier, org attest.OrgID, from, to time.Time) (Stats, error) {
	from, to = from.UTC().Truncate(24*time.Hour), to.UTC()
	if !to.After(from) {
		return Stats{}, attest.Invalid("to", "must be after from")
	}
	if to.Sub(from) > MaxStatsDays*24*time.Hour {
		return Stats{}, attest.Invalid("days", fmt.Sprintf("the period may span at most %d days", MaxStatsDays))
	}
	st := Stats{From: from, To: to, BySeverity: map[string]int{}, ByStatus: map[string]int{}, TopRules: []RuleCount{}}
	for _, s := range severities {
		st.BySeverity[s] = 0
	}
	for _, s := range Statuses {
		st.ByStatus[s] = 0
	}
	index := map[string]int{}
	for d := from; d.Before(to); d = d.Add(24 * time.Hour) {
		index[d.Format("2006-01-02")] = len(st.Days)
		st.Days = append(st.Days, DayCount{Day: d.Format("2006-01-02"), BySeverity: map[string]int{}})
	}
	rows, err := q.QueryContext(ctx, `SELECT day, severity, status, rule, title, created_at, acknowledged_at, resolved_at FROM alerts
		WHERE org_id = $1 AND created_at >= $2 AND created_at < $3`, org, from, to)
	if err != nil {
		return Stats{}, fmt.Errorf("alert statistics: %w", err)
	}
	defer rows.Close()
	var ack, res []int64
	rules := map[string]*RuleCount{}
	for rows.Next() {
		var day, sev, status, rule, title string
		var created time.Time
		var acked, resolved sql.NullTime
		if err := rows.Scan(&day, &sev, &status, &rule, &title, &created, &acked, &resolved); err != nil {
			return Stats{}, fmt.Errorf("alert statistics: %w", err)
		}
		st.Total++
		st.BySeverity[sev]++
		st.ByStatus[status]++
		if status == StatusFalsePositive {
			st.FalsePositives++
		}
		if i, ok := index[day]; ok {
			st.Days[i].Total++
			st.Days[i].BySeverity[sev]++
		}
		if acked.Valid {
			ack = append(ack, int64(acked.Time.Sub(created)/time.Second))
		}
		if resolved.Valid {
			res = append(res, int64(resolved.Time.Sub(created)/time.Second))
		}
		rc := rules[rule]
		if rc == nil {
			rc = &RuleCount{Rule: rule, Title: title}
			rules[rule] = rc
		}
		rc.Count++
	}
	if err := rows.Err(); err != nil {
		return Stats{}, fmt.Errorf("alert statistics: %w", err)
	}
	st.Acknowledge, st.Resolve = summarise(ack), summarise(res)
	for _, rc := range rules {
		st.TopRules = append(st.TopRules, *rc)
	}
	slices.SortFunc(st.TopRules, func(a, b RuleCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Rule, b.Rule)
	})
	if len(st.TopRules) > 10 {
		st.TopRules = st.TopRules[:10]
	}
	var supp sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT CAST(COALESCE(SUM(matched), 0) AS BIGINT) FROM alert_suppressions WHERE org_id = $1", org).Scan(&supp); err != nil {
		return Stats{}, fmt.Errorf("alert statistics: %w", err)
	}
	st.Suppressed = supp.Int64
	return st, nil
}

// summarise gives the nearest-rank median and 90th percentile.
func summarise(d []int64) Durations {
	out := Durations{Count: len(d)}
	if len(d) == 0 {
		return out
	}
	slices.Sort(d)
	rank := func(p float64) *int64 {
		i := int(float64(len(d))*p+0.999999999) - 1 // ceil(p*n) - 1
		i = max(0, min(i, len(d)-1))
		v := d[i]
		return &v
	}
	out.MedianSeconds, out.P90Seconds = rank(0.5), rank(0.9)
	return out
}

// MonitoringControls are the library controls a monthly summary is filed
// on: OP-08 "Security alerts routed and triaged" (CC7.2, CC7.3) and OP-09
// "Periodic log review" (CC7.2).
var MonitoringControls = []string{"OP-08", "OP-09"}

// RecordMonth files the alert statistics of one calendar month (UTC) as an
// evidence note on each monitoring control the org has, once per month.
// It returns the evidence items added. Errors: Invalid for a month that
// has not begun; Conflict when the month is already filed or the org has
// none of the monitoring controls.
func RecordMonth(ctx context.Context, tx *store.Tx, org attest.OrgID, month time.Time) ([]evidence.Item, error) {
	start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	now := tx.Now()
	if start.After(now) {
		return nil, attest.Invalid("month", "has not begun yet")
	}
	label := start.Format("2006-01")
	var done string
	err := tx.QueryRowContext(ctx, "SELECT month FROM detect_evidence WHERE org_id = $1 AND month = $2", org, label).Scan(&done)
	if err == nil {
		return nil, attest.Conflict("the monitoring summary of " + label + " is already filed as evidence")
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("look up monitoring evidence: %w", err)
	}
	cs, err := control.List(ctx, tx, org, control.Filter{})
	if err != nil {
		return nil, err
	}
	var targets []control.Control
	for _, c := range cs {
		if slices.Contains(MonitoringControls, c.Code) {
			targets = append(targets, c)
		}
	}
	if len(targets) == 0 {
		return nil, attest.Conflict("the organisation has none of the monitoring controls (" + strings.Join(MonitoringControls, ", ") + ") to file the summary on")
	}
	st, err := ComputeStats(ctx, tx, org, start, end)
	if err != nil {
		return nil, err
	}
	effective, partial := end.Add(-time.Second), false
	if effective.After(now) {
		effective, partial = now, true
	}
	title := "Security monitoring summary, " + label
	if partial {
		title += " (month to date)"
	}
	note := summaryNote(st, label, partial)
	var items []evidence.Item
	for _, c := range targets {
		it, err := evidence.AddNote(ctx, tx, org, c.ID, evidence.Meta{Title: title, Note: note, EffectiveAt: effective})
		if err != nil {
			return nil, fmt.Errorf("file monitoring summary on %s: %w", c.Code, err)
		}
		items = append(items, it)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	idj, _ := json.Marshal(ids)
	if _, err := tx.ExecContext(ctx, "INSERT INTO detect_evidence (org_id, month, evidence_ids, recorded_at) VALUES ($1, $2, $3, $4)",
		org, label, string(idj), now); err != nil {
		return nil, fmt.Errorf("record monitoring evidence: %w", err)
	}
	return items, tx.Record(ctx, "alert.stats_filed", "detection", label, nil, map[string]any{"month": label, "evidence": ids, "alerts": st.Total})
}

func seconds(p *int64) string {
	if p == nil {
		return "n/a"
	}
	return (time.Duration(*p) * time.Second).String()
}

// summaryNote writes the month's statistics for an auditor.
func summaryNote(st Stats, label string, partial bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Alerts raised by Attest's log monitoring in %s", label)
	if partial {
		fmt.Fprintf(&b, " (up to %s)", st.To.Format("2006-01-02"))
	}
	fmt.Fprintf(&b, ": %d.\n", st.Total)
	var sev []string
	for i := len(severities) - 1; i >= 0; i-- {
		sev = append(sev, fmt.Sprintf("%s %d", severities[i], st.BySeverity[severities[i]]))
	}
	fmt.Fprintf(&b, "By severity: %s.\n", strings.Join(sev, ", "))
	fmt.Fprintf(&b, "Status now: open %d, acknowledged %d, resolved %d, false positive %d.\n",
		st.ByStatus[StatusOpen], st.ByStatus[StatusAcknowledged], st.ByStatus[StatusResolved], st.ByStatus[StatusFalsePositive])
	fmt.Fprintf(&b, "Time to acknowledge (first response), over %d alerts: median %s, 90th percentile %s.\n",
		st.Acknowledge.Count, seconds(st.Acknowledge.MedianSeconds), seconds(st.Acknowledge.P90Seconds))
	fmt.Fprintf(&b, "Time to resolve, over %d alerts: median %s, 90th percentile %s.\n",
		st.Resolve.Count, seconds(st.Resolve.MedianSeconds), seconds(st.Resolve.P90Seconds))
	fmt.Fprintf(&b, "Alerts silenced by suppression rules (all time): %d.\n", st.Suppressed)
	if len(st.TopRules) > 0 {
		b.WriteString("\nRules and baselines that alerted most:\n")
		for _, r := range st.TopRules {
			fmt.Fprintf(&b, "  %d  %s (%s)\n", r.Count, r.Title, r.Rule)
		}
	}
	b.WriteString("\nAlerts per day:\n")
	for _, d := range st.Days {
		if d.Total > 0 {
			fmt.Fprintf(&b, "  %s  %d\n", d.Day, d.Total)
		}
	}
	b.WriteString("\nEvery triage step (who, when, reason) is in the audit log; the alerts themselves are at GET /api/v1/alerts.\n")
	return b.String()
}

// EvidenceJob is the periodic job that files last month's monitoring
// summary for every org that sends events.
const EvidenceJob = "monitor.monthly_summary"

// RecordLastMonth is the handler of EvidenceJob: for each org that has
// ingested events, it files the summary of the previous calendar month
// unless already filed. It goes on past an org that fails and reports all
// failures at the end.
func (m *Monitor) RecordLastMonth(ctx context.Context, _ jobs.Job) error {
	rows, err := m.db.Q().QueryContext(ctx, "SELECT org_id FROM detect_baselines ORDER BY org_id")
	if err != nil {
		return fmt.Errorf("list monitored orgs: %w", err)
	}
	var orgs []attest.OrgID
	for rows.Next() {
		var o attest.OrgID
		if err := rows.Scan(&o); err != nil {
			rows.Close()
			return fmt.Errorf("list monitored orgs: %w", err)
		}
		orgs = append(orgs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list monitored orgs: %w", err)
	}
	now := m.db.Now()
	last := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	var errs []error
	for _, org := range orgs {
		err := m.db.InTx(ctx, attest.System(org), func(tx *store.Tx) error {
			_, err := RecordMonth(ctx, tx, org, last)
			return err
		})
		if err != nil && attest.KindOf(err) != attest.KindConflict {
			errs = append(errs, fmt.Errorf("org %s: %w", org, err))
		}
	}
	return errors.Join(errs...)
}
