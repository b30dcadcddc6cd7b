package task

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/store"
)

// Horizon is how far ahead occurrences are generated. The next occurrence
// of every rule is generated whatever its distance, so each rule always
// shows when it is next due.
const Horizon = 60 * 24 * time.Hour

// maxPerRule bounds how many occurrences one generation pass creates for
// one rule (a weekly rule over the horizon makes nine).
const maxPerRule = 60

// Rule is a recurring duty of an organisation.
type Rule struct {
	ID           string       `json:"id"`
	OrgID        attest.OrgID `json:"-"`
	SeedKey      string       `json:"default,omitempty"` // names a built-in default duty
	Title        string       `json:"title"`
	Description  string       `json:"description"`
	Cadence      Cadence      `json:"cadence"`
	StartOn      time.Time    `json:"-"`
	Start        string       `json:"start_on"` // StartOn as YYYY-MM-DD
	OwnerID      string       `json:"owner_id"`
	OwnerEmail   string       `json:"owner_email"`
	Controls     []string     `json:"controls"`      // control ids
	ControlCodes []string     `json:"control_codes"` // the same controls by code, for reading
	Active       bool         `json:"active"`
	NextDue      string       `json:"next_due"` // the next occurrence due today or later, YYYY-MM-DD; "" when inactive
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
	fromOn       time.Time
}

// RuleInput creates a rule or, with nil fields left alone, changes one.
type RuleInput struct {
	Title       *string
	Description *string
	Cadence     *string
	StartOn     *string // YYYY-MM-DD
	OwnerID     *string // a member's user id; "" for nobody
	Controls    *[]string
	Active      *bool
}

const ruleColumns = `r.id, r.org_id, COALESCE(r.seed_key, ''), r.title, r.description, r.cadence, r.start_on, r.from_on,
	r.owner_id, COALESCE(u.email, ''), r.active, r.created_at, r.updated_at`

const fromRules = " FROM task_rules r LEFT JOIN users u ON u.id = r.owner_id"

func scanRule(row interface{ Scan(...any) error }) (Rule, error) {
	var r Rule
	var owner sql.NullString
	if err := row.Scan(&r.ID, &r.OrgID, &r.SeedKey, &r.Title, &r.Description, &r.Cadence, &r.StartOn, &r.fromOn, &owner,
		&r.OwnerEmail, &r.Active, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return Rule{}, err
	}
	r.OwnerID, r.StartOn, r.fromOn = owner.String, r.StartOn.UTC(), r.fromOn.UTC()
	r.Start = r.StartOn.Format(DateLayout)
	return r, nil
}

// finish fills the computed fields of rules: controls and the next due
// date as of now.
func finishRules(ctx context.Context, q store.Querier, org attest.OrgID, rs []Rule, now time.Time) error {
	links, err := links(ctx, q, org, "task_rule_controls", "rule_id")
	if err != nil {
		return err
	}
	for i := range rs {
		l := links[rs[i].ID]
		rs[i].Controls, rs[i].ControlCodes = l.ids, l.codes
		if rs[i].Controls == nil {
			rs[i].Controls, rs[i].ControlCodes = []string{}, []string{}
		}
		if rs[i].Active {
			_, next := rs[i].Cadence.firstOnOrAfter(rs[i].StartOn, Day(now))
			rs[i].NextDue = next.Format(DateLayout)
		}
	}
	return nil
}

type linked struct{ ids, codes []string }

// links loads the control links of rules or tasks, with codes, ordered by
// code.
func links(ctx context.Context, q store.Querier, org attest.OrgID, table, key string) (map[string]linked, error) {
	rows, err := q.QueryContext(ctx, "SELECT l."+key+", c.id, c.code FROM "+table+" l JOIN controls c ON c.id = l.control_id"+
		" WHERE l.org_id = $1 AND c.org_id = $1 ORDER BY c.code", org)
	if err != nil {
		return nil, fmt.Errorf("load linked controls: %w", err)
	}
	defer rows.Close()
	out := map[string]linked{}
	for rows.Next() {
		var owner, id, code string
		if err := rows.Scan(&owner, &id, &code); err != nil {
			return nil, fmt.Errorf("load linked controls: %w", err)
		}
		l := out[owner]
		l.ids, l.codes = append(l.ids, id), append(l.codes, code)
		out[owner] = l
	}
	return out, rows.Err()
}

// ListRules returns the org's rules, active ones first, by title.
func ListRules(ctx context.Context, q store.Querier, org attest.OrgID, now time.Time) ([]Rule, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+ruleColumns+fromRules+" WHERE r.org_id = $1 ORDER BY r.active DESC, r.title, r.id", org)
	if err != nil {
		return nil, fmt.Errorf("list task rules: %w", err)
	}
	out, err := store.Collect(rows, scanRule)
	if err != nil {
		return nil, fmt.Errorf("list task rules: %w", err)
	}
	return out, finishRules(ctx, q, org, out, now)
}

// GetRule loads one rule of the org.
func GetRule(ctx context.Context, q store.Querier, org attest.OrgID, id string, now time.Time) (Rule, error) {
	r, err := scanRule(q.QueryRowContext(ctx, "SELECT "+ruleColumns+fromRules+" WHERE r.org_id = $1 AND r.id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Rule{}, attest.NotFound("task rule " + id)
		}
		return Rule{}, fmt.Errorf("load task rule %s: %w", id, err)
	}
	rs := []Rule{r}
	if err := finishRules(ctx, q, org, rs, now); err != nil {
		return Rule{}, err
	}
	return rs[0], nil
}

// checkOwner accepts "" (nobody) or a member who may complete tasks.
func checkOwner(ctx context.Context, q store.Querier, org attest.OrgID, field, id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", nil
	}
	m, err := account.MemberByID(ctx, q, org, id)
	if err != nil {
		if attest.KindOf(err) == attest.KindNotFound {
			return "", attest.Invalid(field, "is not a member of this organisation")
		}
		return "", fmt.Errorf("check owner: %w", err)
	}
	if m.Role == attest.RoleAuditor || m.Role == attest.RoleViewer {
		return "", attest.Invalid(field, "must be an owner, admin or member: auditors and viewers cannot complete tasks")
	}
	return m.Email, nil
}

// resolveControls turns control ids (or codes) of the org into ids and
// codes, rejecting any the org does not have.
func resolveControls(ctx context.Context, q store.Querier, org attest.OrgID, refs []string) ([]string, []string, error) {
	rs, err := control.Resolve(ctx, q, org, "controls", refs)
	if err != nil {
		return nil, nil, err
	}
	ids, codes := make([]string, len(rs)), make([]string, len(rs))
	for i, r := range rs {
		ids[i], codes[i] = r.ID, r.Code
	}
	return ids, codes, nil
}

func writeLinks(ctx context.Context, tx *store.Tx, org attest.OrgID, table, key, owner string, controls []string) error {
	refs := make([]control.Ref, len(controls))
	for i, id := range controls {
		refs[i] = control.Ref{ID: id, Code: id}
	}
	return control.Links{Table: table, Column: key}.Replace(ctx, tx, org, owner, refs)
}

// applyRule validates in onto r.
func applyRule(ctx context.Context, q store.Querier, r *Rule, in RuleInput) error {
	if in.Title != nil {
		t := strings.TrimSpace(*in.Title)
		if t == "" || len(t) > 200 {
			return attest.Invalid("title", "must be 1 to 200 characters")
		}
		r.Title = t
	}
	if in.Description != nil {
		if len(*in.Description) > 20000 {
			return attest.Invalid("description", "must be at most 20000 characters")
		}
		r.Description = strings.TrimSpace(*in.Description)
	}
	if in.Cadence != nil {
		c, err := ParseCadence(*in.Cadence)
		if err != nil {
			return err
		}
		r.Cadence = c
	}
	if in.StartOn != nil {
		d, err := ParseDate("start_on", *in.StartOn)
		if err != nil {
			return err
		}
		r.StartOn, r.Start = d, d.Format(DateLayout)
	}
	if in.OwnerID != nil {
		email, err := checkOwner(ctx, q, r.OrgID, "owner_id", *in.OwnerID)
		if err != nil {
			return err
		}
		r.OwnerID, r.OwnerEmail = strings.TrimSpace(*in.OwnerID), email
	}
	if in.Controls != nil {
		ids, codes, err := resolveControls(ctx, q, r.OrgID, *in.Controls)
		if err != nil {
			return err
		}
		r.Controls, r.ControlCodes = ids, codes
	}
	if in.Active != nil {
		r.Active = *in.Active
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateRule adds a recurring duty and generates its first occurrences in
// the same transaction.
func CreateRule(ctx context.Context, tx *store.Tx, org attest.OrgID, in RuleInput) (Rule, error) {
	return createRule(ctx, tx, org, "", in)
}

func createRule(ctx context.Context, tx *store.Tx, org attest.OrgID, seedKey string, in RuleInput) (Rule, error) {
	now := tx.Now()
	r := Rule{ID: attest.NewID("trl"), OrgID: org, SeedKey: seedKey, Active: true, Controls: []string{}, ControlCodes: []string{},
		CreatedAt: now, UpdatedAt: now, fromOn: Day(now)}
	switch {
	case in.Title == nil:
		return Rule{}, attest.Invalid("title", "is required")
	case in.Cadence == nil:
		return Rule{}, attest.Invalid("cadence", "is required: weekly, monthly, quarterly, semiannual or yearly")
	case in.StartOn == nil:
		return Rule{}, attest.Invalid("start_on", "is required: the date of the first occurrence, YYYY-MM-DD")
	}
	if err := applyRule(ctx, tx, &r, in); err != nil {
		return Rule{}, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO task_rules (id, org_id, seed_key, title, description, cadence, start_on, from_on, owner_id,
		active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
		ON CONFLICT (org_id, seed_key) DO NOTHING`,
		r.ID, org, nullable(seedKey), r.Title, r.Description, r.Cadence, r.StartOn, r.fromOn, nullable(r.OwnerID), r.Active, now)
	if err != nil {
		return Rule{}, fmt.Errorf("create task rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Rule{}, errSeeded
	}
	if err := writeLinks(ctx, tx, org, "task_rule_controls", "rule_id", r.ID, r.Controls); err != nil {
		return Rule{}, err
	}
	if _, next := r.Cadence.firstOnOrAfter(r.StartOn, Day(now)); r.Active {
		r.NextDue = next.Format(DateLayout)
	}
	if err := tx.Record(ctx, "task_rule.create", "task_rule", r.ID, nil, r); err != nil {
		return Rule{}, err
	}
	if _, err := generateRule(ctx, tx, r, now, Horizon); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// errSeeded reports that a default rule with the same key exists already.
var errSeeded = errors.New("default rule exists")

// UpdateRule changes a rule. A new cadence or start date replaces the
// rule's open occurrences that are not yet due; a new owner or new
// controls carry over to its open occurrences. Deactivating a rule stops
// new occurrences and leaves existing tasks alone.
func UpdateRule(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, in RuleInput) (Rule, error) {
	now := tx.Now()
	before, err := GetRule(ctx, tx, org, id, now)
	if err != nil {
		return Rule{}, err
	}
	r := before
	if err := applyRule(ctx, tx, &r, in); err != nil {
		return Rule{}, err
	}
	today := Day(now)
	reschedule := r.Cadence != before.Cadence || !r.StartOn.Equal(before.StartOn)
	if reschedule {
		r.fromOn = today
		if _, err := tx.ExecContext(ctx, "DELETE FROM tasks WHERE org_id = $1 AND rule_id = $2 AND status = 'open' AND due_on >= $3",
			org, id, today); err != nil {
			return Rule{}, fmt.Errorf("reschedule task rule %s: %w", id, err)
		}
	}
	r.UpdatedAt = now
	if _, err := tx.ExecContext(ctx, `UPDATE task_rules SET title = $1, description = $2, cadence = $3, start_on = $4, from_on = $5,
		owner_id = $6, active = $7, updated_at = $8 WHERE org_id = $9 AND id = $10`,
		r.Title, r.Description, r.Cadence, r.StartOn, r.fromOn, nullable(r.OwnerID), r.Active, now, org, id); err != nil {
		return Rule{}, fmt.Errorf("update task rule %s: %w", id, err)
	}
	if in.Controls != nil {
		if err := writeLinks(ctx, tx, org, "task_rule_controls", "rule_id", id, r.Controls); err != nil {
			return Rule{}, err
		}
	}
	// Open occurrences follow the rule's owner and controls.
	openIDs, err := openTaskIDs(ctx, tx, org, id)
	if err != nil {
		return Rule{}, err
	}
	for _, tid := range openIDs {
		if in.OwnerID != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE tasks SET owner_id = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
				nullable(r.OwnerID), now, org, tid); err != nil {
				return Rule{}, fmt.Errorf("update task %s: %w", tid, err)
			}
		}
		if in.Controls != nil {
			if err := writeLinks(ctx, tx, org, "task_controls", "task_id", tid, r.Controls); err != nil {
				return Rule{}, err
			}
		}
		if in.Title != nil || in.Description != nil {
			if _, err := tx.ExecContext(ctx, "UPDATE tasks SET title = $1, description = $2, updated_at = $3 WHERE org_id = $4 AND id = $5",
				r.Title, r.Description, now, org, tid); err != nil {
				return Rule{}, fmt.Errorf("update task %s: %w", tid, err)
			}
		}
	}
	r.NextDue = ""
	if r.Active {
		_, next := r.Cadence.firstOnOrAfter(r.StartOn, today)
		r.NextDue = next.Format(DateLayout)
	}
	if err := tx.Record(ctx, "task_rule.update", "task_rule", id, before, r); err != nil {
		return Rule{}, err
	}
	if r.Active {
		if _, err := generateRule(ctx, tx, r, now, Horizon); err != nil {
			return Rule{}, err
		}
	}
	return r, nil
}

func openTaskIDs(ctx context.Context, q store.Querier, org attest.OrgID, ruleID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT id FROM tasks WHERE org_id = $1 AND rule_id = $2 AND status = 'open'", org, ruleID)
	if err != nil {
		return nil, fmt.Errorf("open tasks of rule %s: %w", ruleID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Generate creates the occurrences of every active rule of the org due
// from today up to now+horizon, plus each rule's next occurrence beyond
// it. It is idempotent: an occurrence that exists (open, done or skipped)
// is never created again, whoever runs it and however often.
func Generate(ctx context.Context, tx *store.Tx, org attest.OrgID, horizon time.Duration) (int, error) {
	rules, err := ListRules(ctx, tx, org, tx.Now())
	if err != nil {
		return 0, err
	}
	total := 0
	for _, r := range rules {
		if !r.Active {
			continue
		}
		n, err := generateRule(ctx, tx, r, tx.Now(), horizon)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func generateRule(ctx context.Context, tx *store.Tx, r Rule, now time.Time, horizon time.Duration) (int, error) {
	if !r.Active {
		return 0, nil
	}
	from := r.fromOn
	if from.IsZero() {
		from = Day(r.CreatedAt)
	}
	until := Day(now.Add(horizon))
	created := 0
	insert := func(due time.Time) error {
		added, err := insertOccurrence(ctx, tx, r, due)
		if added {
			created++
		}
		return err
	}
	n, occ := r.Cadence.firstOnOrAfter(r.StartOn, from)
	for i := 0; i < maxPerRule && !occ.After(until); i++ {
		if err := insert(occ); err != nil {
			return created, err
		}
		n++
		occ = r.Cadence.Occurrence(r.StartOn, n)
	}
	// Beyond the horizon, only the next occurrence: each rule always shows
	// when it is next due, a yearly one included.
	if _, next := r.Cadence.firstOnOrAfter(r.StartOn, maxTime(Day(now), from)); next.After(until) {
		if err := insert(next); err != nil {
			return created, err
		}
	}
	return created, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func insertOccurrence(ctx context.Context, tx *store.Tx, r Rule, due time.Time) (bool, error) {
	now := tx.Now()
	t := Task{ID: attest.NewID("tsk"), OrgID: r.OrgID, RuleID: r.ID, Title: r.Title, Description: r.Description, OwnerID: r.OwnerID,
		DueOn: due, Status: StatusOpen, Controls: r.Controls, CreatedAt: now, UpdatedAt: now}
	key := r.ID + ":" + due.Format(DateLayout)
	res, err := tx.ExecContext(ctx, `INSERT INTO tasks (id, org_id, rule_id, occurrence_key, title, description, owner_id, due_on, status,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (org_id, occurrence_key) DO NOTHING`,
		t.ID, r.OrgID, r.ID, key, t.Title, t.Description, nullable(t.OwnerID), due, t.Status, now)
	if err != nil {
		return false, fmt.Errorf("generate occurrence %s: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	if err := writeLinks(ctx, tx, r.OrgID, "task_controls", "task_id", t.ID, r.Controls); err != nil {
		return false, err
	}
	return true, tx.RecordIn(ctx, r.OrgID, "task.generate", "task", t.ID, nil,
		map[string]any{"rule_id": r.ID, "title": t.Title, "due_on": due.Format(DateLayout), "owner_id": t.OwnerID, "controls": r.Controls})
}
