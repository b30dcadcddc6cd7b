package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Alert statuses.
const (
	StatusOpen          = "open"
	StatusAcknowledged  = "acknowledged"
	StatusResolved      = "resolved"
	StatusFalsePositive = "false_positive"
)

// Statuses lists the alert statuses in workflow order.
var Statuses = []string{StatusOpen, StatusAcknowledged, StatusResolved, StatusFalsePositive}

// MaxSamples is how many raw events an alert keeps.
const MaxSamples = 5

// Alert is a persisted alert: one group of events of one rule (or
// baseline check) and actor, with its triage.
type Alert struct {
	ID       string   `json:"id"`
	Rule     string   `json:"rule"`
	Kind     string   `json:"kind"` // rule, correlation or baseline
	Title    string   `json:"title"`
	Severity string   `json:"severity"`
	Criteria []string `json:"criteria"`
	Actor    string   `json:"actor"`
	Source   string   `json:"source"`
	Action   string   `json:"action"`
	Target   string   `json:"target"`
	SourceIP string   `json:"source_ip"`
	// Reason says in words what happened, what is typical for the actor
	// and which rule or baseline fired.
	Reason    string    `json:"reason"`
	FirstTime time.Time `json:"first_time"` // event time of the first event
	LastTime  time.Time `json:"last_time"`
	Events    int64     `json:"events"`
	// Samples are raw records of the first events (detail only).
	Samples        []string   `json:"samples,omitempty"`
	Status         string     `json:"status"`
	StatusReason   string     `json:"status_reason"` // why it was marked a false positive, or a triage note
	CreatedAt      time.Time  `json:"created_at"`    // when Attest raised it
	UpdatedAt      time.Time  `json:"updated_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"` // first response: acknowledged, or closed at once
	AcknowledgedBy string     `json:"acknowledged_by"`
	ResolvedAt     *time.Time `json:"resolved_at"` // closed: resolved or marked a false positive
	ResolvedBy     string     `json:"resolved_by"`
	// Seconds from being raised to the first response and to closing.
	TimeToAcknowledge *int64 `json:"time_to_acknowledge_seconds"`
	TimeToResolve     *int64 `json:"time_to_resolve_seconds"`
}

const alertColumns = `id, rule, kind, title, severity, criteria, actor, source, action, target, source_ip, reason, first_time,
	last_time, events, status, status_reason, created_at, updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by`

func scanAlert(row interface{ Scan(...any) error }, extra ...any) (Alert, error) {
	var a Alert
	var criteria string
	var ack, res sql.NullTime
	dst := []any{&a.ID, &a.Rule, &a.Kind, &a.Title, &a.Severity, &criteria, &a.Actor, &a.Source, &a.Action, &a.Target,
		&a.SourceIP, &a.Reason, &a.FirstTime, &a.LastTime, &a.Events, &a.Status, &a.StatusReason, &a.CreatedAt, &a.UpdatedAt,
		&ack, &a.AcknowledgedBy, &res, &a.ResolvedBy}
	if err := row.Scan(append(dst, extra...)...); err != nil {
		return Alert{}, err
	}
	if err := json.Unmarshal([]byte(criteria), &a.Criteria); err != nil {
		return Alert{}, fmt.Errorf("alert %s: bad criteria: %w", a.ID, err)
	}
	if ack.Valid {
		t := ack.Time.UTC()
		a.AcknowledgedAt = &t
		d := int64(t.Sub(a.CreatedAt) / time.Second)
		a.TimeToAcknowledge = &d
	}
	if res.Valid {
		t := res.Time.UTC()
		a.ResolvedAt = &t
		d := int64(t.Sub(a.CreatedAt) / time.Second)
		a.TimeToResolve = &d
	}
	return a, nil
}

// GetAlert loads one alert of the org, with its samples. An id of another
// org is not found, like an unknown one.
func GetAlert(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Alert, error) {
	var samples string
	a, err := scanAlert(q.QueryRowContext(ctx, "SELECT "+alertColumns+", samples FROM alerts WHERE org_id = $1 AND id = $2", org, id), &samples)
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Alert{}, attest.NotFound("alert " + clean(id, 80))
		}
		return Alert{}, fmt.Errorf("load alert %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(samples), &a.Samples); err != nil {
		return Alert{}, fmt.Errorf("alert %s: bad samples: %w", id, err)
	}
	return a, nil
}

// Filter narrows an alert listing; zero values match everything.
type Filter struct {
	Status   string
	Severity string // one severity, or several separated by commas
	Rule     string
	Actor    string
	Since    time.Time // alerts with events at or after this time
	Limit    int       // default 50, at most 200
	Cursor   string    // next_cursor of the previous page
}

// ParseFilter validates a listing filter from query parameters.
func ParseFilter(status, severity, rule, since, limit, cursor string) (Filter, error) {
	f := Filter{Rule: strings.TrimSpace(rule), Cursor: cursor}
	if status != "" {
		if !slices.Contains(Statuses, status) {
			return f, attest.Invalid("status", "must be one of "+strings.Join(Statuses, ", "))
		}
		f.Status = status
	}
	if severity != "" {
		for _, s := range strings.Split(severity, ",") {
			if SeverityRank(strings.TrimSpace(s)) < 0 {
				return f, attest.Invalid("severity", "must be one or more of "+strings.Join(severities, ", ")+", separated by commas")
			}
		}
		f.Severity = severity
	}
	if since != "" {
		t, err := parseTime(since)
		if err != nil {
			return f, attest.Invalid("since", "must be a date like 2026-03-31 or an RFC 3339 time")
		}
		f.Since = t
	}
	if limit != "" {
		var n int
		if _, err := fmt.Sscan(limit, &n); err != nil || n < 1 || n > 200 {
			return f, attest.Invalid("limit", "must be a number from 1 to 200")
		}
		f.Limit = n
	}
	if cursor != "" {
		if _, _, err := store.DecodeTimeCursor(cursor); err != nil {
			return f, err
		}
	}
	return f, nil
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err
}

// ListAlerts returns the org's alerts, newest first (without samples), and
// the cursor of the next page ("" at the end).
func ListAlerts(ctx context.Context, q store.Querier, org attest.OrgID, f Filter) ([]Alert, string, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	query := "SELECT " + alertColumns + " FROM alerts WHERE org_id = $1"
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.Severity != "" {
		var ph []string
		for _, s := range strings.Split(f.Severity, ",") {
			args = append(args, strings.TrimSpace(s))
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		query += " AND severity IN (" + strings.Join(ph, ", ") + ")"
	}
	if f.Rule != "" {
		add("rule = $%d", f.Rule)
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if !f.Since.IsZero() {
		add("last_time >= $%d", f.Since)
	}
	if f.Cursor != "" {
		at, id, err := store.DecodeTimeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		args = append(args, at, id)
		query += fmt.Sprintf(" AND (created_at < $%d OR (created_at = $%d AND id < $%d))", len(args)-1, len(args)-1, len(args))
	}
	args = append(args, f.Limit+1)
	query += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT $%d", len(args))
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	out, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (Alert, error) { return scanAlert(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	out, next := store.Trim(out, f.Limit, func(a Alert) string { return store.TimeCursor(a.CreatedAt, a.ID) })
	return out, next, nil
}

// Triage is a step of the workflow: acknowledge, resolve, or mark a false
// positive (which needs a reason).
type Triage struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// maxReason caps triage and suppression reasons.
const maxReason = 2000

// TriageAlert moves an alert along its workflow: open -> acknowledged ->
// resolved, or to false_positive (with a reason) from open or acknowledged.
// The step, who took it and when are recorded in the audit log. Errors:
// NotFound for an unknown alert (or one of another org), Invalid naming
// status or reason, Conflict for a step the alert's status does not allow.
func TriageAlert(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, in Triage) (Alert, error) {
	before, err := GetAlert(ctx, tx, org, id)
	if err != nil {
		return Alert{}, err
	}
	reason := strings.TrimSpace(in.Reason)
	switch {
	case in.Status == "":
		return Alert{}, attest.Invalid("status", "is required: acknowledged, resolved or false_positive")
	case in.Status == StatusOpen || !slices.Contains(Statuses, in.Status):
		return Alert{}, attest.Invalid("status", "must be acknowledged, resolved or false_positive")
	case in.Status == StatusFalsePositive && reason == "":
		return Alert{}, attest.Invalid("reason", "is required to mark a false positive: say why the activity is harmless")
	case len(reason) > maxReason:
		return Alert{}, attest.Invalid("reason", "must be at most 2000 characters")
	}
	switch before.Status {
	case StatusResolved, StatusFalsePositive:
		return Alert{}, attest.Conflict("the alert is already closed (" + before.Status + ")")
	case StatusAcknowledged:
		if in.Status == StatusAcknowledged {
			return Alert{}, attest.Conflict("the alert is already acknowledged by " + before.AcknowledgedBy)
		}
	}
	now, who := tx.Now(), tx.Actor().Name()
	a := before
	a.Status, a.UpdatedAt = in.Status, now
	if reason != "" {
		a.StatusReason = reason
	}
	if a.AcknowledgedAt == nil {
		a.AcknowledgedAt, a.AcknowledgedBy = &now, who
	}
	if in.Status == StatusResolved || in.Status == StatusFalsePositive {
		a.ResolvedAt, a.ResolvedBy = &now, who
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = $1, status_reason = $2, updated_at = $3, acknowledged_at = $4,
		acknowledged_by = $5, resolved_at = $6, resolved_by = $7 WHERE org_id = $8 AND id = $9`,
		a.Status, a.StatusReason, now, a.AcknowledgedAt, a.AcknowledgedBy, a.ResolvedAt, a.ResolvedBy, org, id); err != nil {
		return Alert{}, fmt.Errorf("triage alert %s: %w", id, err)
	}
	a, err = GetAlert(ctx, tx, org, id)
	if err != nil {
		return Alert{}, err
	}
	return a, tx.Record(ctx, "alert."+in.Status, "alert", id,
		map[string]any{"status": before.Status},
		map[string]any{"status": a.Status, "reason": reason, "by": who, "at": now,
			"time_to_acknowledge_seconds": a.TimeToAcknowledge, "time_to_resolve_seconds": a.TimeToResolve})
}

// SuppressionOffer is the suppression that would stop an alert like this
// one from alerting again: its rule and actor.
func SuppressionOffer(a Alert) SuppressionInput {
	reason := a.StatusReason
	if reason == "" {
		reason = "Harmless: " + a.Title
	}
	return SuppressionInput{Rule: a.Rule, Actor: a.Actor, Reason: reason, AlertID: a.ID}
}
