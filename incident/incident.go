// Package incident keeps the incident register: each security incident
// with its severity, status, append-only timeline of actions, root cause,
// lessons learned and linked controls, and tabletop exercises, recorded
// the same way, whose closing is evidence that the response plan was
// tested.
package incident

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/store"
)

// Kinds of record.
const (
	KindIncident = "incident"
	KindTabletop = "tabletop"
)

// Statuses, in the order a record normally moves through them.
const (
	StatusOpen      = "open"
	StatusContained = "contained"
	StatusResolved  = "resolved"
	StatusClosed    = "closed"
)

// Statuses lists the statuses in order.
var Statuses = []string{StatusOpen, StatusContained, StatusResolved, StatusClosed}

// Severities, most severe first.
var Severities = []string{"sev1", "sev2", "sev3", "sev4"}

// EvidenceControl is the library control a closed record is evidence for:
// a tabletop shows the plan was tested (IR-02), an incident that it was
// logged with its timeline (IR-03); see control/library/incident.yaml.
var EvidenceControl = map[string]string{KindTabletop: "IR-02", KindIncident: "IR-03"}

// ParseSeverity accepts sev1..sev4 or critical/high/medium/low.
func ParseSeverity(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "critical":
		return "sev1", nil
	case "high":
		return "sev2", nil
	case "medium":
		return "sev3", nil
	case "low":
		return "sev4", nil
	}
	if slices.Contains(Severities, s) {
		return s, nil
	}
	return "", attest.Invalid("severity", "must be sev1, sev2, sev3 or sev4 (or critical, high, medium, low)")
}

// ControlRef names a linked control.
type ControlRef = control.Ref

// Event is one entry of a timeline; entries are never changed.
type Event struct {
	ID    string    `json:"id"`
	Seq   int       `json:"seq"`
	At    time.Time `json:"at"` // when it happened
	Actor string    `json:"actor"`
	What  string    `json:"what"`
}

// Incident is one incident or tabletop exercise.
type Incident struct {
	ID             string       `json:"id"`
	OrgID          attest.OrgID `json:"-"`
	Kind           string       `json:"kind"`
	Title          string       `json:"title"`
	Description    string       `json:"description"`
	Severity       string       `json:"severity"`
	Status         string       `json:"status"`
	DetectedAt     time.Time    `json:"detected_at"`
	ResolvedAt     *time.Time   `json:"resolved_at"`
	RootCause      string       `json:"root_cause"`
	LessonsLearned string       `json:"lessons_learned"`
	EvidenceID     string       `json:"evidence_id,omitempty"`
	CreatedBy      string       `json:"created_by"`
	Controls       []ControlRef `json:"controls"`
	Timeline       []Event      `json:"timeline,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// Input is a new record.
type Input struct {
	Kind        string
	Title       string
	Description string
	Severity    string
	DetectedAt  time.Time // zero: now
	ControlIDs  []string
}

// Patch is a partial change; nil fields stay as they are.
type Patch struct {
	Title          *string
	Description    *string
	Severity       *string
	Status         *string
	RootCause      *string
	LessonsLearned *string
	ControlIDs     *[]string
}

// ParseTime accepts an RFC 3339 time or a date; "" is the zero time.
func ParseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Truncate(time.Microsecond), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} { // the last two as UTC, as forms send them
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, attest.Invalid(field, fmt.Sprintf("%q is not a time like 2026-03-31T14:05:00Z or a date", s))
}

func validate(in *Incident, now time.Time) error {
	in.Title = strings.TrimSpace(in.Title)
	switch {
	case in.Kind != KindIncident && in.Kind != KindTabletop:
		return attest.Invalid("kind", "must be incident or tabletop")
	case in.Title == "" || len(in.Title) > 200:
		return attest.Invalid("title", "must be 1 to 200 characters")
	case len(in.Description) > 20000:
		return attest.Invalid("description", "must be at most 20000 characters")
	case len(in.RootCause) > 20000:
		return attest.Invalid("root_cause", "must be at most 20000 characters")
	case len(in.LessonsLearned) > 20000:
		return attest.Invalid("lessons_learned", "must be at most 20000 characters")
	case !slices.Contains(Statuses, in.Status):
		return attest.Invalid("status", "must be one of "+strings.Join(Statuses, ", "))
	case in.DetectedAt.After(now.Add(5 * time.Minute)):
		return attest.Invalid("detected_at", "cannot be in the future")
	case in.DetectedAt.Year() < 2000:
		return attest.Invalid("detected_at", "is implausibly old")
	}
	sev, err := ParseSeverity(in.Severity)
	if err != nil {
		return err
	}
	in.Severity = sev
	if in.Status == StatusClosed {
		if strings.TrimSpace(in.LessonsLearned) == "" {
			return attest.Invalid("lessons_learned", "is required before closing")
		}
		if in.Kind == KindIncident && strings.TrimSpace(in.RootCause) == "" {
			return attest.Invalid("root_cause", "is required before closing an incident")
		}
	}
	return nil
}

const columns = `id, org_id, kind, title, description, severity, status, detected_at, resolved_at, root_cause, lessons_learned,
	evidence_id, created_by, created_at, updated_at`

func scan(row interface{ Scan(...any) error }) (Incident, error) {
	var in Incident
	var resolved sql.NullTime
	if err := row.Scan(&in.ID, &in.OrgID, &in.Kind, &in.Title, &in.Description, &in.Severity, &in.Status, &in.DetectedAt, &resolved,
		&in.RootCause, &in.LessonsLearned, &in.EvidenceID, &in.CreatedBy, &in.CreatedAt, &in.UpdatedAt); err != nil {
		return Incident{}, err
	}
	in.DetectedAt = in.DetectedAt.UTC()
	if resolved.Valid {
		t := resolved.Time.UTC()
		in.ResolvedAt = &t
	}
	in.Controls = []ControlRef{}
	return in, nil
}

var links = control.Links{Table: "incident_controls", Column: "incident_id"}

// Get loads one record of the org with its timeline; another org's record
// is NotFound.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Incident, error) {
	in, err := scan(q.QueryRowContext(ctx, "SELECT "+columns+" FROM incidents WHERE org_id = $1 AND id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Incident{}, attest.NotFound("incident " + id)
		}
		return Incident{}, fmt.Errorf("load incident %s: %w", id, err)
	}
	cs, err := links.Load(ctx, q, org, id)
	if err != nil {
		return Incident{}, err
	}
	if cs[id] != nil {
		in.Controls = cs[id]
	}
	if in.Timeline, err = Timeline(ctx, q, org, id); err != nil {
		return Incident{}, err
	}
	if in.Timeline == nil {
		in.Timeline = []Event{}
	}
	return in, nil
}

// Filter narrows a listing; zero values match everything.
type Filter struct {
	Kind     string
	Status   string
	Severity string
	Open     bool // anything not closed
	Query    string
}

// List returns records, newest detection first, without timelines.
func List(ctx context.Context, q store.Querier, org attest.OrgID, f Filter) ([]Incident, error) {
	query := "SELECT " + columns + " FROM incidents WHERE org_id = $1"
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Kind != "" {
		if f.Kind != KindIncident && f.Kind != KindTabletop {
			return nil, attest.Invalid("kind", "must be incident or tabletop")
		}
		add("kind = $%d", f.Kind)
	}
	if f.Status != "" {
		if !slices.Contains(Statuses, f.Status) {
			return nil, attest.Invalid("status", "must be one of "+strings.Join(Statuses, ", "))
		}
		add("status = $%d", f.Status)
	}
	if f.Severity != "" {
		sev, err := ParseSeverity(f.Severity)
		if err != nil {
			return nil, err
		}
		add("severity = $%d", sev)
	}
	if f.Open {
		add("status <> $%d", StatusClosed)
	}
	if f.Query != "" {
		add("LOWER(title) LIKE $%d", "%"+strings.ToLower(f.Query)+"%")
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY detected_at DESC, id", args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out, err := store.Collect(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	cs, err := links.Load(ctx, q, org, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		if c := cs[out[i].ID]; c != nil {
			out[i].Controls = c
		}
	}
	return out, nil
}

// Create records a new incident or tabletop exercise, open, with a first
// timeline entry.
func Create(ctx context.Context, tx *store.Tx, org attest.OrgID, input Input) (Incident, error) {
	in := Incident{ID: attest.NewID("inc"), OrgID: org, Kind: strings.TrimSpace(input.Kind), Title: input.Title, Description: input.Description,
		Severity: input.Severity, Status: StatusOpen, DetectedAt: input.DetectedAt, CreatedBy: tx.Actor().Name()}
	if in.Kind == "" {
		in.Kind = KindIncident
	}
	if in.DetectedAt.IsZero() {
		in.DetectedAt = tx.Now()
	}
	if in.Severity == "" && in.Kind == KindTabletop {
		in.Severity = "sev3"
	}
	if err := validate(&in, tx.Now()); err != nil {
		return Incident{}, err
	}
	var err error
	if in.Controls, err = control.Resolve(ctx, tx, org, "control_ids", input.ControlIDs); err != nil {
		return Incident{}, err
	}
	in.CreatedAt, in.UpdatedAt = tx.Now(), tx.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, org_id, kind, title, description, severity, status, detected_at,
		root_cause, lessons_learned, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', '', $9, $10, $11)`,
		in.ID, org, in.Kind, in.Title, in.Description, in.Severity, in.Status, in.DetectedAt, in.CreatedBy, in.CreatedAt, in.UpdatedAt); err != nil {
		return Incident{}, fmt.Errorf("insert incident: %w", err)
	}
	if err := links.Replace(ctx, tx, org, in.ID, in.Controls); err != nil {
		return Incident{}, err
	}
	if err := tx.Record(ctx, "incident.create", "incident", in.ID, nil, auditView(in)); err != nil {
		return Incident{}, err
	}
	what := "Incident recorded"
	if in.Kind == KindTabletop {
		what = "Tabletop exercise recorded"
	}
	if _, err := AddEvent(ctx, tx, org, in.ID, in.DetectedAt, what+" ("+in.Severity+")"); err != nil {
		return Incident{}, err
	}
	return Get(ctx, tx, org, in.ID)
}

// Update applies a patch. A closed record is final. A status change adds a
// timeline entry; closing needs lessons learned (and, for an incident, its
// root cause) and records the record as evidence on its library control.
func Update(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, p Patch) (Incident, error) {
	before, err := Get(ctx, tx, org, id)
	if err != nil {
		return Incident{}, err
	}
	if before.Status == StatusClosed {
		return Incident{}, attest.Conflict("this record is closed; open a new one for a follow-up")
	}
	in := before
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Title, p.Title)
	set(&in.Description, p.Description)
	set(&in.Severity, p.Severity)
	set(&in.Status, p.Status)
	set(&in.RootCause, p.RootCause)
	set(&in.LessonsLearned, p.LessonsLearned)
	if err := validate(&in, tx.Now()); err != nil {
		return Incident{}, err
	}
	if p.ControlIDs != nil {
		if in.Controls, err = control.Resolve(ctx, tx, org, "control_ids", *p.ControlIDs); err != nil {
			return Incident{}, err
		}
		if err := links.Replace(ctx, tx, org, id, in.Controls); err != nil {
			return Incident{}, err
		}
	}
	now := tx.Now()
	if (in.Status == StatusResolved || in.Status == StatusClosed) && in.ResolvedAt == nil {
		in.ResolvedAt = &now
	}
	in.UpdatedAt = now
	var resolved any
	if in.ResolvedAt != nil {
		resolved = *in.ResolvedAt
	}
	if _, err := tx.ExecContext(ctx, `UPDATE incidents SET title = $1, description = $2, severity = $3, status = $4, resolved_at = $5,
		root_cause = $6, lessons_learned = $7, updated_at = $8 WHERE org_id = $9 AND id = $10`,
		in.Title, in.Description, in.Severity, in.Status, resolved, in.RootCause, in.LessonsLearned, in.UpdatedAt, org, id); err != nil {
		return Incident{}, fmt.Errorf("update incident %s: %w", id, err)
	}
	if err := tx.Record(ctx, "incident.update", "incident", id, auditView(before), auditView(in)); err != nil {
		return Incident{}, err
	}
	if in.Severity != before.Severity {
		if _, err := addEvent(ctx, tx, org, id, now, fmt.Sprintf("Severity changed from %s to %s", before.Severity, in.Severity)); err != nil {
			return Incident{}, err
		}
	}
	if in.Status != before.Status {
		if _, err := addEvent(ctx, tx, org, id, now, fmt.Sprintf("Status changed from %s to %s", before.Status, in.Status)); err != nil {
			return Incident{}, err
		}
	}
	if in.Status == StatusClosed {
		if err := recordEvidence(ctx, tx, org, id); err != nil {
			return Incident{}, err
		}
	}
	return Get(ctx, tx, org, id)
}

// recordEvidence writes the closed record, timeline included, as a note
// on its library control, and remembers the evidence id.
func recordEvidence(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) error {
	in, err := Get(ctx, tx, org, id)
	if err != nil {
		return err
	}
	code := EvidenceControl[in.Kind]
	cs, err := control.List(ctx, tx, org, control.Filter{Query: code})
	if err != nil {
		return err
	}
	var ctl string
	for _, c := range cs {
		if c.Code == code {
			ctl = c.ID
		}
	}
	if ctl == "" {
		return nil // the org does not run this control
	}
	label := "Incident"
	if in.Kind == KindTabletop {
		label = "Tabletop exercise"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\nSeverity %s; detected %s; closed %s.\n", label, in.ID, in.Title, in.Severity,
		in.DetectedAt.Format("2006-01-02 15:04 UTC"), tx.Now().Format("2006-01-02 15:04 UTC"))
	if in.Description != "" {
		fmt.Fprintf(&b, "\nWhat happened:\n%s\n", in.Description)
	}
	if in.RootCause != "" {
		fmt.Fprintf(&b, "\nRoot cause:\n%s\n", in.RootCause)
	}
	fmt.Fprintf(&b, "\nLessons learned:\n%s\n\nTimeline:\n", in.LessonsLearned)
	for i, e := range in.Timeline {
		if b.Len() > 48<<10 {
			fmt.Fprintf(&b, "... and %d more entries in the record\n", len(in.Timeline)-i)
			break
		}
		fmt.Fprintf(&b, "%s  %s  %s\n", e.At.Format("2006-01-02 15:04 UTC"), e.Actor, strings.Join(strings.Fields(e.What), " "))
	}
	title := label + ": " + in.Title
	if len(title) > 200 {
		title = title[:200]
	}
	it, err := evidence.AddNote(ctx, tx, org, ctl, evidence.Meta{Title: title, Note: b.String(), Source: "incident:" + id})
	if err != nil {
		return fmt.Errorf("record %s as evidence: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE incidents SET evidence_id = $1 WHERE org_id = $2 AND id = $3", it.ID, org, id); err != nil {
		return fmt.Errorf("record %s as evidence: %w", id, err)
	}
	return nil
}

// AddEvent appends an entry to a record's timeline. at is when it
// happened (zero: now); it may not be in the future. A closed record's
// timeline is final.
func AddEvent(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, at time.Time, what string) (Event, error) {
	in, err := scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM incidents WHERE org_id = $1 AND id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Event{}, attest.NotFound("incident " + id)
		}
		return Event{}, fmt.Errorf("load incident %s: %w", id, err)
	}
	if in.Status == StatusClosed {
		return Event{}, attest.Conflict("this record is closed; its timeline is final")
	}
	return addEvent(ctx, tx, org, id, at, what)
}

func addEvent(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, at time.Time, what string) (Event, error) {
	what = strings.TrimSpace(what)
	switch {
	case what == "":
		return Event{}, attest.Invalid("what", "say what happened or what was done")
	case len(what) > 4000:
		return Event{}, attest.Invalid("what", "must be at most 4000 characters")
	}
	if at.IsZero() {
		at = tx.Now()
	}
	if at.After(tx.Now().Add(5 * time.Minute)) {
		return Event{}, attest.Invalid("at", "cannot be in the future")
	}
	var seq int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_events WHERE org_id = $1 AND incident_id = $2", org, id).Scan(&seq); err != nil {
		return Event{}, fmt.Errorf("append to timeline of %s: %w", id, err)
	}
	e := Event{ID: attest.NewID("iev"), Seq: seq, At: at.UTC(), Actor: tx.Actor().Name(), What: what}
	if _, err := tx.ExecContext(ctx, `INSERT INTO incident_events (id, org_id, incident_id, seq, at, actor, what, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, e.ID, org, id, e.Seq, e.At, e.Actor, e.What, tx.Now()); err != nil {
		return Event{}, fmt.Errorf("append to timeline of %s: %w", id, err)
	}
	return e, tx.Record(ctx, "incident.timeline.add", "incident", id, nil, map[string]any{"event": e.ID, "at": e.At, "what": e.What})
}

// Timeline returns a record's entries in the order they happened.
func Timeline(ctx context.Context, q store.Querier, org attest.OrgID, id string) ([]Event, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, seq, at, actor, what FROM incident_events WHERE org_id = $1 AND incident_id = $2 ORDER BY at, seq", org, id)
	if err != nil {
		return nil, fmt.Errorf("load timeline of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.Seq, &e.At, &e.Actor, &e.What); err != nil {
			return nil, fmt.Errorf("load timeline of %s: %w", id, err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func auditView(in Incident) map[string]any {
	codes := make([]string, len(in.Controls))
	for i, c := range in.Controls {
		codes[i] = c.Code
	}
	return map[string]any{"kind": in.Kind, "title": in.Title, "severity": in.Severity, "status": in.Status,
		"detected_at": in.DetectedAt, "root_cause": in.RootCause, "lessons_learned": in.LessonsLearned, "controls": codes}
}
