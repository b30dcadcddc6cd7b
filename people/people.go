// Package people keeps the roster an SOC 2 program covers: everyone who
// works for the company, with or without a login, their onboarding and
// offboarding checklists, training records and personal documents.
//
// A person's status follows their checklists rather than being set by
// hand: "onboarding" while onboarding items are open, "active" once they
// are done (or when none were generated), "offboarding" from the moment an
// end date is set until every offboarding item is done, then "departed".
package people

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/store"
)

// Employment types.
const (
	TypeEmployee   = "employee"
	TypeContractor = "contractor"
	TypeIntern     = "intern"
	TypeTemporary  = "temporary"
)

// EmploymentTypes lists the accepted employment types.
var EmploymentTypes = []string{TypeEmployee, TypeContractor, TypeIntern, TypeTemporary}

// Statuses of a person, derived from their checklists.
const (
	StatusOnboarding  = "onboarding"
	StatusActive      = "active"
	StatusOffboarding = "offboarding"
	StatusDeparted    = "departed"
)

// Statuses lists every status in the order a person moves through them.
var Statuses = []string{StatusOnboarding, StatusActive, StatusOffboarding, StatusDeparted}

// Progress counts the done and total items of one checklist.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// Person is one entry of the roster.
type Person struct {
	ID             string       `json:"id"`
	OrgID          attest.OrgID `json:"-"`
	Email          string       `json:"email"`
	Name           string       `json:"name"`
	Department     string       `json:"department"`
	ManagerID      string       `json:"manager_id,omitempty"`
	ManagerName    string       `json:"manager_name,omitempty"`
	StartDate      string       `json:"start_date,omitempty"` // YYYY-MM-DD
	EndDate        string       `json:"end_date,omitempty"`
	EmploymentType string       `json:"employment_type"`
	Status         string       `json:"status"`
	UserID         string       `json:"user_id,omitempty"` // the login with the same email in this org, if any
	Onboarding     Progress     `json:"onboarding"`
	Offboarding    Progress     `json:"offboarding"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// Input is a new person.
type Input struct {
	Email          string
	Name           string
	Department     string
	ManagerID      string
	StartDate      string
	EndDate        string
	EmploymentType string
}

// Patch is a partial change; nil fields stay as they are. An end date
// generates the offboarding checklist.
type Patch struct {
	Email          *string
	Name           *string
	Department     *string
	ManagerID      *string // "" clears the manager
	StartDate      *string
	EndDate        *string // "" clears it while offboarding has not started
	EmploymentType *string
	// AccessDeadlineHours is how long after the last day access must be
	// removed, when this change starts offboarding; 0 means 24 hours.
	AccessDeadlineHours int
}

// ParseDate validates a calendar date and returns it as YYYY-MM-DD; ""
// stays "".
func ParseDate(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return "", attest.Invalid(field, fmt.Sprintf("%q is not a date like 2026-03-31", s))
	}
	if t.Year() < 1900 || t.Year() > 2200 {
		return "", attest.Invalid(field, fmt.Sprintf("%q is out of range", s))
	}
	return t.Format("2006-01-02"), nil
}

func dayOf(s string) time.Time {
	t, _ := time.Parse("2006-01-02", s)
	return t
}

// normalize validates the fields of p that do not need the database.
func normalize(p *Person) error {
	email, err := account.NormalizeEmail("email", p.Email)
	if err != nil {
		return err
	}
	p.Email = email
	p.Name = strings.TrimSpace(p.Name)
	p.Department = strings.TrimSpace(p.Department)
	p.EmploymentType = strings.ToLower(strings.TrimSpace(p.EmploymentType))
	if p.EmploymentType == "" {
		p.EmploymentType = TypeEmployee
	}
	switch {
	case p.Name == "" || len(p.Name) > 200:
		return attest.Invalid("name", "must be 1 to 200 characters")
	case len(p.Department) > 100:
		return attest.Invalid("department", "must be at most 100 characters")
	case !contains(EmploymentTypes, p.EmploymentType):
		return attest.Invalid("employment_type", "must be one of "+strings.Join(EmploymentTypes, ", "))
	}
	if p.StartDate, err = ParseDate("start_date", p.StartDate); err != nil {
		return err
	}
	if p.EndDate, err = ParseDate("end_date", p.EndDate); err != nil {
		return err
	}
	if p.StartDate != "" && p.EndDate != "" && p.EndDate < p.StartDate {
		return attest.Invalid("end_date", "is before start_date")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

const columns = `p.id, p.org_id, p.email, p.name, p.department, COALESCE(p.manager_id, ''), COALESCE(mg.name, ''),
	p.start_date, p.end_date, p.employment_type, p.status, p.created_at, p.updated_at,
	COALESCE((SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = p.org_id AND u.email = p.email), ''),
	(SELECT COUNT(*) FROM person_checklist c WHERE c.person_id = p.id AND c.phase = 'onboarding' AND c.completed_at IS NOT NULL),
	(SELECT COUNT(*) FROM person_checklist c WHERE c.person_id = p.id AND c.phase = 'onboarding'),
	(SELECT COUNT(*) FROM person_checklist c WHERE c.person_id = p.id AND c.phase = 'offboarding' AND c.completed_at IS NOT NULL),
	(SELECT COUNT(*) FROM person_checklist c WHERE c.person_id = p.id AND c.phase = 'offboarding')`

const from = " FROM people p LEFT JOIN people mg ON mg.id = p.manager_id"

func scan(row interface{ Scan(...any) error }) (Person, error) {
	var p Person
	err := row.Scan(&p.ID, &p.OrgID, &p.Email, &p.Name, &p.Department, &p.ManagerID, &p.ManagerName, &p.StartDate, &p.EndDate,
		&p.EmploymentType, &p.Status, &p.CreatedAt, &p.UpdatedAt, &p.UserID,
		&p.Onboarding.Done, &p.Onboarding.Total, &p.Offboarding.Done, &p.Offboarding.Total)
	return p, err
}

// Get loads one person of the org; another org's person is NotFound.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Person, error) {
	p, err := scan(q.QueryRowContext(ctx, "SELECT "+columns+from+" WHERE p.org_id = $1 AND p.id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Person{}, attest.NotFound("person " + id)
		}
		return Person{}, fmt.Errorf("load person %s: %w", id, err)
	}
	return p, nil
}

// Filter narrows a listing; zero values match everything.
type Filter struct {
	Status         string
	Department     string
	EmploymentType string
	ManagerID      string
	Query          string // name or email, case-insensitive
	Limit          int    // default 100, at most 500
	Offset         int
}

// List returns people ordered by name and whether more follow.
func List(ctx context.Context, q store.Querier, org attest.OrgID, f Filter) ([]Person, bool, error) {
	query := "SELECT " + columns + from + " WHERE p.org_id = $1"
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Status != "" {
		if !contains(Statuses, f.Status) {
			return nil, false, attest.Invalid("status", "must be one of "+strings.Join(Statuses, ", "))
		}
		add("p.status = $%d", f.Status)
	}
	if f.Department != "" {
		add("p.department = $%d", f.Department)
	}
	if f.EmploymentType != "" {
		add("p.employment_type = $%d", f.EmploymentType)
	}
	if f.ManagerID != "" {
		add("p.manager_id = $%d", f.ManagerID)
	}
	if f.Query != "" {
		args = append(args, "%"+strings.ToLower(f.Query)+"%")
		query += fmt.Sprintf(" AND (LOWER(p.name) LIKE $%d OR p.email LIKE $%d)", len(args), len(args))
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 500)
	query += fmt.Sprintf(" ORDER BY p.name, p.id LIMIT %d OFFSET %d", f.Limit+1, max(f.Offset, 0))
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list people: %w", err)
	}
	defer rows.Close()
	var out []Person
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return nil, false, fmt.Errorf("list people: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list people: %w", err)
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, nil
}

// Departments lists the departments in use, for filters.
func Departments(ctx context.Context, q store.Querier, org attest.OrgID) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT DISTINCT department FROM people WHERE org_id = $1 AND department <> '' ORDER BY department", org)
	if err != nil {
		return nil, fmt.Errorf("list departments: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("list departments: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// checkManager verifies that managerID is a person of the org and that
// making them the manager of id would not close a loop.
func checkManager(ctx context.Context, q store.Querier, org attest.OrgID, id, managerID string) error {
	if managerID == "" {
		return nil
	}
	if managerID == id {
		return attest.Invalid("manager_id", "a person cannot be their own manager")
	}
	cur := managerID
	for range 1000 {
		var next *string
		err := store.ScanOne(q.QueryRowContext(ctx, "SELECT manager_id FROM people WHERE org_id = $1 AND id = $2", org, cur).Scan(&next))
		if errors.Is(err, attest.ErrNotFound) {
			if cur == managerID {
				return attest.Invalid("manager_id", "no such person on the roster")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("check manager: %w", err)
		}
		if next == nil || *next == "" {
			return nil
		}
		if *next == id {
			return attest.Invalid("manager_id", "would make a loop of managers")
		}
		cur = *next
	}
	return attest.Invalid("manager_id", "the chain of managers is too long")
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Create adds a person to the roster and generates their checklists: an
// onboarding checklist unless they started more than 30 days ago (their
// onboarding predates Attest), and an offboarding checklist when an end
// date is given.
func Create(ctx context.Context, tx *store.Tx, org attest.OrgID, in Input) (Person, error) {
	p := Person{ID: attest.NewID("per"), OrgID: org, Email: in.Email, Name: in.Name, Department: in.Department,
		ManagerID: strings.TrimSpace(in.ManagerID), StartDate: in.StartDate, EndDate: in.EndDate, EmploymentType: in.EmploymentType}
	if err := normalize(&p); err != nil {
		return Person{}, err
	}
	if err := checkManager(ctx, tx, org, p.ID, p.ManagerID); err != nil {
		return Person{}, err
	}
	if err := insert(ctx, tx, &p); err != nil {
		return Person{}, err
	}
	if err := tx.Record(ctx, "person.create", "person", p.ID, nil, auditView(p)); err != nil {
		return Person{}, err
	}
	if err := startChecklists(ctx, tx, org, p, 0); err != nil {
		return Person{}, err
	}
	return Get(ctx, tx, org, p.ID)
}

func insert(ctx context.Context, tx *store.Tx, p *Person) error {
	p.CreatedAt, p.UpdatedAt, p.Status = tx.Now(), tx.Now(), StatusActive
	if _, err := tx.ExecContext(ctx, `INSERT INTO people (id, org_id, email, name, department, manager_id, start_date, end_date,
		employment_type, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.ID, p.OrgID, p.Email, p.Name, p.Department, nullable(p.ManagerID), p.StartDate, p.EndDate, p.EmploymentType,
		p.Status, p.CreatedAt, p.UpdatedAt); err != nil {
		if errors.Is(err, attest.ErrConflict) {
			return attest.Invalid("email", p.Email+" is already on the roster")
		}
		return fmt.Errorf("insert person %s: %w", p.Email, err)
	}
	return nil
}

// needsOnboarding says whether a person added today still has onboarding
// ahead of them (or just behind them).
func needsOnboarding(p Person, now time.Time) bool {
	if p.EndDate != "" && dayOf(p.EndDate).Before(now.AddDate(0, 0, -1)) {
		return false
	}
	return p.StartDate == "" || !dayOf(p.StartDate).Before(now.AddDate(0, 0, -30))
}

func startChecklists(ctx context.Context, tx *store.Tx, org attest.OrgID, p Person, deadlineHours int) error {
	if needsOnboarding(p, tx.Now()) {
		if err := generate(ctx, tx, org, p, PhaseOnboarding, 0); err != nil {
			return err
		}
	}
	if p.EndDate != "" {
		if err := generate(ctx, tx, org, p, PhaseOffboarding, deadlineHours); err != nil {
			return err
		}
	}
	return refreshStatus(ctx, tx, org, p.ID)
}

// Update applies a patch to a person of the org.
func Update(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, pt Patch) (Person, error) {
	before, err := Get(ctx, tx, org, id)
	if err != nil {
		return Person{}, err
	}
	p := before
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Email, pt.Email)
	set(&p.Name, pt.Name)
	set(&p.Department, pt.Department)
	set(&p.StartDate, pt.StartDate)
	set(&p.EndDate, pt.EndDate)
	set(&p.EmploymentType, pt.EmploymentType)
	if pt.ManagerID != nil {
		p.ManagerID = strings.TrimSpace(*pt.ManagerID)
	}
	if err := normalize(&p); err != nil {
		return Person{}, err
	}
	if pt.AccessDeadlineHours < 0 || pt.AccessDeadlineHours > 24*30 {
		return Person{}, attest.Invalid("access_deadline_hours", "must be between 1 and 720")
	}
	if pt.ManagerID != nil {
		if err := checkManager(ctx, tx, org, id, p.ManagerID); err != nil {
			return Person{}, err
		}
	}
	p.UpdatedAt = tx.Now()
	if _, err := tx.ExecContext(ctx, `UPDATE people SET email = $1, name = $2, department = $3, manager_id = $4, start_date = $5,
		end_date = $6, employment_type = $7, updated_at = $8 WHERE org_id = $9 AND id = $10`,
		p.Email, p.Name, p.Department, nullable(p.ManagerID), p.StartDate, p.EndDate, p.EmploymentType, p.UpdatedAt, org, id); err != nil {
		if errors.Is(err, attest.ErrConflict) {
			return Person{}, attest.Invalid("email", p.Email+" is already on the roster")
		}
		return Person{}, fmt.Errorf("update person %s: %w", id, err)
	}
	if err := tx.Record(ctx, "person.update", "person", id, auditView(before), auditView(p)); err != nil {
		return Person{}, err
	}
	if p.EndDate != before.EndDate {
		if err := endDateChanged(ctx, tx, org, before, p, pt.AccessDeadlineHours); err != nil {
			return Person{}, err
		}
	}
	if p.StartDate != before.StartDate && before.Onboarding.Total > 0 {
		if err := reschedule(ctx, tx, org, before, p, PhaseOnboarding, 0); err != nil {
			return Person{}, err
		}
	}
	if err := refreshStatus(ctx, tx, org, id); err != nil {
		return Person{}, err
	}
	return Get(ctx, tx, org, id)
}

// endDateChanged starts offboarding for a new end date, moves its due
// dates for a changed one, and withdraws it for a cleared one as long as
// nothing of it was done yet.
func endDateChanged(ctx context.Context, tx *store.Tx, org attest.OrgID, before, p Person, deadlineHours int) error {
	items, err := Checklist(ctx, tx, org, p.ID)
	if err != nil {
		return err
	}
	var off []Item
	for _, it := range items {
		if it.Phase == PhaseOffboarding {
			off = append(off, it)
		}
	}
	switch {
	case len(off) == 0 && p.EndDate != "":
		return generate(ctx, tx, org, p, PhaseOffboarding, deadlineHours)
	case p.EndDate == "":
		for _, it := range off {
			if it.CompletedAt != nil {
				return attest.Invalid("end_date", "offboarding has started (items are done); it cannot be withdrawn")
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM person_checklist WHERE org_id = $1 AND person_id = $2 AND phase = $3", org, p.ID, PhaseOffboarding); err != nil {
			return fmt.Errorf("withdraw offboarding of %s: %w", p.ID, err)
		}
		return tx.Record(ctx, "person.offboarding.withdraw", "person", p.ID, nil, nil)
	default:
		return reschedule(ctx, tx, org, before, p, PhaseOffboarding, deadlineHours)
	}
}

// refreshStatus derives a person's status from their checklists.
func refreshStatus(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) error {
	var onDone, onTotal, offDone, offTotal int
	if err := tx.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM person_checklist WHERE org_id = $1 AND person_id = $2 AND phase = 'onboarding' AND completed_at IS NOT NULL),
		(SELECT COUNT(*) FROM person_checklist WHERE org_id = $1 AND person_id = $2 AND phase = 'onboarding'),
		(SELECT COUNT(*) FROM person_checklist WHERE org_id = $1 AND person_id = $2 AND phase = 'offboarding' AND completed_at IS NOT NULL),
		(SELECT COUNT(*) FROM person_checklist WHERE org_id = $1 AND person_id = $2 AND phase = 'offboarding')`, org, id).
		Scan(&onDone, &onTotal, &offDone, &offTotal); err != nil {
		return fmt.Errorf("status of person %s: %w", id, err)
	}
	status := StatusActive
	switch {
	case offTotal > 0 && offDone == offTotal:
		status = StatusDeparted
	case offTotal > 0:
		status = StatusOffboarding
	case onDone < onTotal:
		status = StatusOnboarding
	}
	var cur string
	if err := tx.QueryRowContext(ctx, "SELECT status FROM people WHERE org_id = $1 AND id = $2", org, id).Scan(&cur); err != nil {
		return fmt.Errorf("status of person %s: %w", id, err)
	}
	if cur == status {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "UPDATE people SET status = $1 WHERE org_id = $2 AND id = $3", status, org, id); err != nil {
		return fmt.Errorf("status of person %s: %w", id, err)
	}
	return tx.Record(ctx, "person.status", "person", id, map[string]string{"status": cur}, map[string]string{"status": status})
}

// auditView is what the audit log keeps of a person.
func auditView(p Person) map[string]any {
	return map[string]any{"email": p.Email, "name": p.Name, "department": p.Department, "manager_id": p.ManagerID,
		"start_date": p.StartDate, "end_date": p.EndDate, "employment_type": p.EmploymentType}
}
