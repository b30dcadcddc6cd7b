package task

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/store"
)

// Status is where a task stands.
type Status string

// The statuses of a task. Done and skipped are final.
const (
	StatusOpen    Status = "open"
	StatusDone    Status = "done"
	StatusSkipped Status = "skipped"
)

// ParseStatus validates a status name.
func ParseStatus(s string) (Status, error) {
	switch Status(s) {
	case StatusOpen, StatusDone, StatusSkipped:
		return Status(s), nil
	}
	return "", attest.Invalid("status", "must be one of open, done, skipped")
}

// Task is one occurrence of a duty (or a one-off task).
type Task struct {
	ID           string       `json:"id"`
	OrgID        attest.OrgID `json:"-"`
	RuleID       string       `json:"rule_id,omitempty"`
	Title        string       `json:"title"`
	Description  string       `json:"description"`
	OwnerID      string       `json:"owner_id"`
	OwnerEmail   string       `json:"owner_email"`
	DueOn        time.Time    `json:"-"`
	Due          string       `json:"due_on"` // DueOn as YYYY-MM-DD
	Status       Status       `json:"status"`
	Overdue      bool         `json:"overdue"` // open and its due date has passed
	Controls     []string     `json:"controls"`
	ControlCodes []string     `json:"control_codes"`
	ResolvedBy   string       `json:"resolved_by,omitempty"` // who completed or skipped it
	ResolvedAt   *time.Time   `json:"resolved_at"`
	Note         string       `json:"note,omitempty"` // completion note, or the reason it was skipped
	Evidence     []string     `json:"evidence"`       // evidence ids recorded at completion
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// IsOverdue reports whether an open task's due date lies before today.
func (t Task) IsOverdue(now time.Time) bool {
	return t.Status == StatusOpen && t.DueOn.Before(Day(now))
}

const taskColumns = `t.id, t.org_id, COALESCE(t.rule_id, ''), t.title, t.description, t.owner_id, COALESCE(u.email, ''), t.due_on,
	t.status, t.resolved_by, t.resolved_at, t.note, t.evidence_json, t.created_at, t.updated_at`

const fromTasks = " FROM tasks t LEFT JOIN users u ON u.id = t.owner_id"

func scanTask(row interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var owner sql.NullString
	var resolved sql.NullTime
	var ev string
	if err := row.Scan(&t.ID, &t.OrgID, &t.RuleID, &t.Title, &t.Description, &owner, &t.OwnerEmail, &t.DueOn, &t.Status,
		&t.ResolvedBy, &resolved, &t.Note, &ev, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return Task{}, err
	}
	t.OwnerID, t.DueOn = owner.String, t.DueOn.UTC()
	t.Due = t.DueOn.Format(DateLayout)
	if resolved.Valid {
		r := resolved.Time
		t.ResolvedAt = &r
	}
	if err := json.Unmarshal([]byte(ev), &t.Evidence); err != nil {
		return Task{}, fmt.Errorf("task %s: bad evidence list: %w", t.ID, err)
	}
	if t.Evidence == nil {
		t.Evidence = []string{}
	}
	return t, nil
}

func finishTasks(ctx context.Context, q store.Querier, org attest.OrgID, ts []Task, now time.Time) error {
	if len(ts) == 0 {
		return nil
	}
	var l map[string]linked
	var err error
	if len(ts) == 1 {
		l, err = linksOf(ctx, q, org, ts[0].ID)
	} else {
		l, err = links(ctx, q, org, "task_controls", "task_id")
	}
	if err != nil {
		return err
	}
	for i := range ts {
		ts[i].Controls, ts[i].ControlCodes = l[ts[i].ID].ids, l[ts[i].ID].codes
		if ts[i].Controls == nil {
			ts[i].Controls, ts[i].ControlCodes = []string{}, []string{}
		}
		ts[i].Overdue = ts[i].IsOverdue(now)
	}
	return nil
}

func linksOf(ctx context.Context, q store.Querier, org attest.OrgID, taskID string) (map[string]linked, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.code FROM task_controls l JOIN controls c ON c.id = l.control_id
		WHERE l.org_id = $1 AND l.task_id = $2 ORDER BY c.code`, org, taskID)
	if err != nil {
		return nil, fmt.Errorf("load task controls: %w", err)
	}
	defer rows.Close()
	var l linked
	for rows.Next() {
		var id, code string
		if err := rows.Scan(&id, &code); err != nil {
			return nil, fmt.Errorf("load task controls: %w", err)
		}
		l.ids, l.codes = append(l.ids, id), append(l.codes, code)
	}
	return map[string]linked{taskID: l}, rows.Err()
}

// Get loads one task of the org.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string, now time.Time) (Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx, "SELECT "+taskColumns+fromTasks+" WHERE t.org_id = $1 AND t.id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Task{}, attest.NotFound("task " + id)
		}
		return Task{}, fmt.Errorf("load task %s: %w", id, err)
	}
	ts := []Task{t}
	if err := finishTasks(ctx, q, org, ts, now); err != nil {
		return Task{}, err
	}
	return ts[0], nil
}

// Filter narrows a task listing; zero values match everything.
type Filter struct {
	OwnerID   string // "none" for tasks without an owner
	Status    Status
	Overdue   *bool // true: open and past due; false: everything else
	ControlID string
	RuleID    string
	DueFrom   time.Time // due on or after
	DueTo     time.Time // due on or before
	Limit     int       // default 100, at most 500
	Cursor    string
}

// List returns the org's tasks by due date (earliest first) and the
// cursor of the next page ("" at the end).
func List(ctx context.Context, q store.Querier, org attest.OrgID, f Filter, now time.Time) ([]Task, string, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	query := "SELECT " + taskColumns + fromTasks + " WHERE t.org_id = $1"
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		query += " AND " + strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args)))
	}
	switch f.OwnerID {
	case "":
	case "none":
		query += " AND t.owner_id IS NULL"
	default:
		add("t.owner_id = $?", f.OwnerID)
	}
	if f.Status != "" {
		add("t.status = $?", f.Status)
	}
	if f.Overdue != nil {
		if *f.Overdue {
			add("t.status = 'open' AND t.due_on < $?", Day(now))
		} else {
			add("(t.status <> 'open' OR t.due_on >= $?)", Day(now))
		}
	}
	if f.ControlID != "" {
		add("t.id IN (SELECT task_id FROM task_controls WHERE org_id = t.org_id AND control_id = $?)", f.ControlID)
	}
	if f.RuleID != "" {
		add("t.rule_id = $?", f.RuleID)
	}
	if !f.DueFrom.IsZero() {
		add("t.due_on >= $?", Day(f.DueFrom))
	}
	if !f.DueTo.IsZero() {
		add("t.due_on <= $?", Day(f.DueTo))
	}
	if f.Cursor != "" {
		key, id, err := store.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		due, err := time.Parse(DateLayout, key)
		if err != nil {
			return nil, "", attest.Invalid("cursor", "is not a cursor this list handed out")
		}
		args = append(args, due, id)
		query += fmt.Sprintf(" AND (t.due_on > $%d OR (t.due_on = $%d AND t.id > $%d))", len(args)-1, len(args)-1, len(args))
	}
	args = append(args, f.Limit+1)
	query += fmt.Sprintf(" ORDER BY t.due_on, t.id LIMIT $%d", len(args))
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list tasks: %w", err)
	}
	out, err := store.Collect(rows, scanTask)
	if err != nil {
		return nil, "", fmt.Errorf("list tasks: %w", err)
	}
	out, next := store.Trim(out, f.Limit, func(t Task) string { return store.EncodeCursor(t.DueOn.Format(DateLayout), t.ID) })
	return out, next, finishTasks(ctx, q, org, out, now)
}

// Input creates a one-off task.
type Input struct {
	Title       string
	Description string
	OwnerID     string
	DueOn       string // YYYY-MM-DD
	Controls    []string
}

// Create adds a one-off task.
func Create(ctx context.Context, tx *store.Tx, org attest.OrgID, in Input) (Task, error) {
	now := tx.Now()
	t := Task{ID: attest.NewID("tsk"), OrgID: org, Status: StatusOpen, Evidence: []string{}, CreatedAt: now, UpdatedAt: now}
	t.Title, t.Description = strings.TrimSpace(in.Title), strings.TrimSpace(in.Description)
	switch {
	case t.Title == "" || len(t.Title) > 200:
		return Task{}, attest.Invalid("title", "must be 1 to 200 characters")
	case len(t.Description) > 20000:
		return Task{}, attest.Invalid("description", "must be at most 20000 characters")
	case strings.TrimSpace(in.DueOn) == "":
		return Task{}, attest.Invalid("due_on", "is required: a date written YYYY-MM-DD")
	}
	due, err := ParseDate("due_on", in.DueOn)
	if err != nil {
		return Task{}, err
	}
	t.DueOn, t.Due = due, due.Format(DateLayout)
	if t.OwnerEmail, err = checkOwner(ctx, tx, org, "owner_id", in.OwnerID); err != nil {
		return Task{}, err
	}
	t.OwnerID = strings.TrimSpace(in.OwnerID)
	if t.Controls, t.ControlCodes, err = resolveControls(ctx, tx, org, in.Controls); err != nil {
		return Task{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tasks (id, org_id, title, description, owner_id, due_on, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, t.ID, org, t.Title, t.Description, nullable(t.OwnerID), t.DueOn, t.Status, now); err != nil {
		return Task{}, fmt.Errorf("create task: %w", err)
	}
	if err := writeLinks(ctx, tx, org, "task_controls", "task_id", t.ID, t.Controls); err != nil {
		return Task{}, err
	}
	t.Overdue = t.IsOverdue(now)
	return t, tx.Record(ctx, "task.create", "task", t.ID, nil, t)
}

// maxNote caps a completion note or skip reason.
const maxNote = 16 << 10

// Complete marks an open task done by the transaction's actor. The note
// (or, without one, a line saying who completed it when) is recorded as
// evidence for each linked control, effective now.
func Complete(ctx context.Context, tx *store.Tx, org attest.OrgID, id, note string) (Task, error) {
	before, err := resolvable(ctx, tx, org, id)
	if err != nil {
		return Task{}, err
	}
	note = strings.TrimSpace(note)
	if len(note) > maxNote {
		return Task{}, attest.Invalid("note", "must be at most 16 KiB; attach longer material as evidence")
	}
	now := tx.Now()
	t := before
	text := note
	if text == "" {
		text = fmt.Sprintf("Completed by %s on %s.", tx.Actor().Name(), now.Format(DateLayout))
	}
	title := "Task done: " + t.Title
	if len(title) > 180 {
		title = title[:180]
	}
	title += " (due " + t.Due + ")"
	for _, c := range t.Controls {
		it, err := evidence.AddNote(ctx, tx, org, c, evidence.Meta{Title: title, Note: text, EffectiveAt: now, Source: "task:" + id})
		if err != nil {
			return Task{}, fmt.Errorf("record task %s as evidence for %s: %w", id, c, err)
		}
		t.Evidence = append(t.Evidence, it.ID)
	}
	return resolve(ctx, tx, before, t, StatusDone, note, "task.complete")
}

// Skip marks an open task skipped, with the reason an auditor will read.
func Skip(ctx context.Context, tx *store.Tx, org attest.OrgID, id, reason string) (Task, error) {
	before, err := resolvable(ctx, tx, org, id)
	if err != nil {
		return Task{}, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Task{}, attest.Invalid("reason", "is required to skip a task: say why it was not done")
	case len(reason) > maxNote:
		return Task{}, attest.Invalid("reason", "must be at most 16 KiB")
	}
	return resolve(ctx, tx, before, before, StatusSkipped, reason, "task.skip")
}

func resolvable(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) (Task, error) {
	t, err := Get(ctx, tx, org, id, tx.Now())
	if err != nil {
		return Task{}, err
	}
	if t.Status != StatusOpen {
		return Task{}, attest.Conflict("this task is already " + string(t.Status))
	}
	return t, nil
}

func resolve(ctx context.Context, tx *store.Tx, before, t Task, st Status, note, action string) (Task, error) {
	now := tx.Now()
	t.Status, t.Note, t.ResolvedBy, t.ResolvedAt, t.UpdatedAt, t.Overdue = st, note, tx.Actor().Name(), &now, now, false
	ev, _ := json.Marshal(t.Evidence)
	res, err := tx.ExecContext(ctx, `UPDATE tasks SET status = $1, note = $2, resolved_by = $3, resolved_at = $4, evidence_json = $5,
		updated_at = $4 WHERE org_id = $6 AND id = $7 AND status = 'open'`, st, note, t.ResolvedBy, now, string(ev), t.OrgID, t.ID)
	if err != nil {
		return Task{}, fmt.Errorf("%s %s: %w", action, t.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Task{}, attest.Conflict("this task was resolved by someone else meanwhile")
	}
	return t, tx.Record(ctx, action, "task", t.ID, map[string]any{"status": before.Status},
		map[string]any{"status": st, "note": note, "evidence": t.Evidence, "due_on": t.Due})
}

// OverdueByControl counts, per control id, the open tasks linked to it
// whose due date has passed, in one query.
func OverdueByControl(ctx context.Context, q store.Querier, org attest.OrgID, now time.Time) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT tc.control_id, COUNT(*) FROM task_controls tc JOIN tasks t ON t.id = tc.task_id
		WHERE tc.org_id = $1 AND t.org_id = $1 AND t.status = 'open' AND t.due_on < $2 GROUP BY tc.control_id`, org, Day(now))
	if err != nil {
		return nil, fmt.Errorf("count overdue tasks: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count overdue tasks: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// OwnerCount is how many overdue tasks one owner has.
type OwnerCount struct {
	OwnerID string `json:"owner_id"` // "" for tasks nobody owns
	Email   string `json:"email"`
	Count   int    `json:"count"`
}

// OverdueByOwner counts overdue tasks per owner, most first.
func OverdueByOwner(ctx context.Context, q store.Querier, org attest.OrgID, now time.Time) ([]OwnerCount, error) {
	rows, err := q.QueryContext(ctx, `SELECT COALESCE(t.owner_id, ''), COALESCE(u.email, ''), COUNT(*) FROM tasks t
		LEFT JOIN users u ON u.id = t.owner_id WHERE t.org_id = $1 AND t.status = 'open' AND t.due_on < $2
		GROUP BY t.owner_id, u.email ORDER BY COUNT(*) DESC, u.email`, org, Day(now))
	if err != nil {
		return nil, fmt.Errorf("count overdue tasks by owner: %w", err)
	}
	defer rows.Close()
	var out []OwnerCount
	for rows.Next() {
		var c OwnerCount
		if err := rows.Scan(&c.OwnerID, &c.Email, &c.Count); err != nil {
			return nil, fmt.Errorf("count overdue tasks by owner: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
