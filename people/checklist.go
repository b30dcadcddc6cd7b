package people

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Checklist phases.
const (
	PhaseOnboarding  = "onboarding"
	PhaseOffboarding = "offboarding"
)

// DefaultAccessDeadline is how long after a person's last day their access
// must be gone, unless the change that starts offboarding says otherwise.
const DefaultAccessDeadline = 24 * time.Hour

// templateItem is one line of a checklist template. Due is counted from
// the start date (onboarding) or from the end of the last day
// (offboarding); the access-removal item uses the deadline instead.
type templateItem struct {
	Code  string
	Title string
	Due   time.Duration
}

const day = 24 * time.Hour

// Templates are the checklists every person gets; the codes are stable so
// that reports and later automation can refer to them.
var Templates = map[string][]templateItem{
	PhaseOnboarding: {
		{"background_check", "Background check completed", 0},
		{"confidentiality_agreement", "Confidentiality agreement signed", 0},
		{"policy_acceptance", "Current policies accepted", 7 * day},
		{"mfa_enabled", "Multi-factor authentication turned on", 7 * day},
		{"device_enrolled", "Work device enrolled in device management", 7 * day},
		{"security_training", "Security awareness training completed", 30 * day},
	},
	PhaseOffboarding: {
		{"access_removed", "All access removed", -1}, // the access deadline
		{"device_returned", "Devices returned or wiped", 7 * day},
	},
}

// Item is one checklist item of a person.
type Item struct {
	ID          string     `json:"id"`
	PersonID    string     `json:"person_id"`
	Phase       string     `json:"phase"`
	Code        string     `json:"code"`
	Title       string     `json:"title"`
	DueAt       time.Time  `json:"due_at"`
	CompletedAt *time.Time `json:"completed_at"`
	CompletedBy string     `json:"completed_by,omitempty"`
	Note        string     `json:"note,omitempty"`
	Overdue     bool       `json:"overdue"`
}

// anchor is the instant a phase's due dates count from: the start date
// (or today) for onboarding, the end of the last day for offboarding.
func anchor(p Person, phase string, now time.Time) time.Time {
	if phase == PhaseOffboarding {
		return dayOf(p.EndDate).Add(day)
	}
	if p.StartDate != "" {
		return dayOf(p.StartDate)
	}
	return now
}

func dueAt(it templateItem, base time.Time, deadlineHours int) time.Time {
	if it.Due < 0 {
		d := DefaultAccessDeadline
		if deadlineHours > 0 {
			d = time.Duration(deadlineHours) * time.Hour
		}
		return base.Add(d)
	}
	return base.Add(it.Due)
}

// generate writes a phase's checklist for a person from its template.
func generate(ctx context.Context, tx *store.Tx, org attest.OrgID, p Person, phase string, deadlineHours int) error {
	base := anchor(p, phase, tx.Now())
	var codes []string
	for i, it := range Templates[phase] {
		if _, err := tx.ExecContext(ctx, `INSERT INTO person_checklist (id, org_id, person_id, phase, code, title, position, due_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, attest.NewID("chk"), org, p.ID, phase, it.Code, it.Title, i, dueAt(it, base, deadlineHours)); err != nil {
			return fmt.Errorf("generate %s checklist of %s: %w", phase, p.ID, err)
		}
		codes = append(codes, it.Code)
	}
	return tx.Record(ctx, "person."+phase+".start", "person", p.ID, nil, map[string]any{"items": codes, "from": base})
}

// reschedule moves the open items of a phase by the shift of its anchor
// (a changed start or end date), so a deadline chosen earlier keeps its
// length; a deadline given with the change replaces the access deadline.
func reschedule(ctx context.Context, tx *store.Tx, org attest.OrgID, before, after Person, phase string, deadlineHours int) error {
	oldBase, newBase := anchor(before, phase, before.CreatedAt), anchor(after, phase, before.CreatedAt)
	shift := newBase.Sub(oldBase)
	items, err := Checklist(ctx, tx, org, after.ID)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.Phase != phase || it.CompletedAt != nil {
			continue
		}
		due := it.DueAt.Add(shift)
		if it.Code == "access_removed" && deadlineHours > 0 {
			due = newBase.Add(time.Duration(deadlineHours) * time.Hour)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE person_checklist SET due_at = $1 WHERE org_id = $2 AND id = $3", due, org, it.ID); err != nil {
			return fmt.Errorf("reschedule %s of %s: %w", phase, after.ID, err)
		}
	}
	return tx.Record(ctx, "person."+phase+".reschedule", "person", after.ID, map[string]any{"from": oldBase}, map[string]any{"from": newBase})
}

const itemColumns = "id, person_id, phase, code, title, due_at, completed_at, completed_by, note"

func scanItem(row interface{ Scan(...any) error }, now time.Time) (Item, error) {
	var it Item
	var done sql.NullTime
	if err := row.Scan(&it.ID, &it.PersonID, &it.Phase, &it.Code, &it.Title, &it.DueAt, &done, &it.CompletedBy, &it.Note); err != nil {
		return Item{}, err
	}
	if done.Valid {
		t := done.Time.UTC()
		it.CompletedAt = &t
	}
	it.DueAt = it.DueAt.UTC()
	it.Overdue = it.CompletedAt == nil && now.After(it.DueAt)
	return it, nil
}

// Checklist returns a person's items, onboarding first, in template order.
func Checklist(ctx context.Context, q store.Querier, org attest.OrgID, personID string) ([]Item, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+itemColumns+` FROM person_checklist WHERE org_id = $1 AND person_id = $2
		ORDER BY CASE phase WHEN 'onboarding' THEN 0 ELSE 1 END, position`, org, personID)
	if err != nil {
		return nil, fmt.Errorf("load checklist of %s: %w", personID, err)
	}
	defer rows.Close()
	now := time.Now()
	var out []Item
	for rows.Next() {
		it, err := scanItem(rows, now)
		if err != nil {
			return nil, fmt.Errorf("load checklist of %s: %w", personID, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Complete marks one item of a person's checklist done by the actor, with
// an optional note (a ticket number, where the signed copy is).
func Complete(ctx context.Context, tx *store.Tx, org attest.OrgID, personID, itemID, note string) (Item, error) {
	if _, err := Get(ctx, tx, org, personID); err != nil {
		return Item{}, err
	}
	note = strings.TrimSpace(note)
	if len(note) > 2000 {
		return Item{}, attest.Invalid("note", "must be at most 2000 characters")
	}
	it, err := scanItem(tx.QueryRowContext(ctx, "SELECT "+itemColumns+" FROM person_checklist WHERE org_id = $1 AND person_id = $2 AND id = $3",
		org, personID, itemID), tx.Now())
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Item{}, attest.NotFound("checklist item " + itemID)
		}
		return Item{}, fmt.Errorf("load checklist item %s: %w", itemID, err)
	}
	if it.CompletedAt != nil {
		return Item{}, attest.Conflict("this item was already completed by " + it.CompletedBy)
	}
	now := tx.Now()
	it.CompletedAt, it.CompletedBy, it.Note, it.Overdue = &now, tx.Actor().Name(), note, false
	if _, err := tx.ExecContext(ctx, "UPDATE person_checklist SET completed_at = $1, completed_by = $2, note = $3 WHERE org_id = $4 AND id = $5",
		now, it.CompletedBy, note, org, itemID); err != nil {
		return Item{}, fmt.Errorf("complete checklist item %s: %w", itemID, err)
	}
	if err := tx.Record(ctx, "person.checklist.complete", "person", personID, nil,
		map[string]any{"item": it.ID, "phase": it.Phase, "code": it.Code, "note": note, "late": now.After(it.DueAt)}); err != nil {
		return Item{}, err
	}
	return it, refreshStatus(ctx, tx, org, personID)
}
