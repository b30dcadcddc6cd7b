package control

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/framework"
	"github.com/attest-hq/attest/store"
)

// FrameworkID is the framework control mappings point into today.
const FrameworkID = "soc2"

const columns = `c.id, c.org_id, c.code, c.title, c.description, c.test_procedure, c.evidence_json, c.owner_role,
	c.frequency, c.area, c.status, c.owner_id, COALESCE(u.email, ''), c.justification, c.custom, c.created_at, c.updated_at`

const fromControls = " FROM controls c LEFT JOIN users u ON u.id = c.owner_id"

func scanControl(row interface{ Scan(...any) error }) (Control, error) {
	var c Control
	var evidence string
	var owner sql.NullString
	if err := row.Scan(&c.ID, &c.OrgID, &c.Code, &c.Title, &c.Description, &c.TestProcedure, &evidence, &c.OwnerRole,
		&c.Frequency, &c.Area, &c.Status, &owner, &c.OwnerEmail, &c.Justification, &c.Custom, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return Control{}, err
	}
	c.OwnerID = owner.String
	if err := json.Unmarshal([]byte(evidence), &c.Evidence); err != nil {
		return Control{}, fmt.Errorf("control %s: bad evidence list: %w", c.ID, err)
	}
	return c, nil
}

// Filter narrows a control listing; zero values match everything.
type Filter struct {
	Status    Status
	OwnerID   string
	Area      string
	Criterion string
	Query     string // matched against code and title, case-insensitively
}

// List returns an org's controls ordered by code, with their criteria.
func List(ctx context.Context, q store.Querier, org attest.OrgID, f Filter) ([]Control, error) {
	query := "SELECT " + columns + fromControls + " WHERE c.org_id = $1"
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Status != "" {
		add("c.status = $%d", f.Status)
	}
	if f.OwnerID != "" {
		add("c.owner_id = $%d", f.OwnerID)
	}
	if f.Area != "" {
		add("c.area = $%d", f.Area)
	}
	if f.Criterion != "" {
		add("c.id IN (SELECT control_id FROM control_criteria WHERE org_id = c.org_id AND criterion_id = $%d)", f.Criterion)
	}
	if f.Query != "" {
		args = append(args, "%"+strings.ToLower(f.Query)+"%")
		query += fmt.Sprintf(" AND (LOWER(c.code) LIKE $%d OR LOWER(c.title) LIKE $%d)", len(args), len(args))
	}
	query += " ORDER BY c.code"
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list controls: %w", err)
	}
	out, err := store.Collect(rows, scanControl)
	if err != nil {
		return nil, fmt.Errorf("list controls: %w", err)
	}
	criteria, err := criteriaByControl(ctx, q, org, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Criteria = criteria[out[i].ID]
		if out[i].Criteria == nil {
			out[i].Criteria = []string{}
		}
	}
	return out, nil
}

// ListForScoring returns the org's controls with only what readiness
// needs (id, code, title, status, frequency, criteria): the long texts of
// the library stay in the database, which matters at tens of thousands.
func ListForScoring(ctx context.Context, q store.Querier, org attest.OrgID) ([]Control, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, code, title, status, frequency FROM controls WHERE org_id = $1 ORDER BY code", org)
	if err != nil {
		return nil, fmt.Errorf("list controls for scoring: %w", err)
	}
	out, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (Control, error) {
		c := Control{OrgID: org}
		err := r.Scan(&c.ID, &c.Code, &c.Title, &c.Status, &c.Frequency)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list controls for scoring: %w", err)
	}
	criteria, err := criteriaByControl(ctx, q, org, "")
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Criteria = criteria[out[i].ID]
	}
	return out, nil
}

// criteriaByControl loads the mappings of an org (or of one control).
func criteriaByControl(ctx context.Context, q store.Querier, org attest.OrgID, controlID string) (map[string][]string, error) {
	query := "SELECT control_id, criterion_id FROM control_criteria WHERE org_id = $1"
	args := []any{org}
	if controlID != "" {
		query += " AND control_id = $2"
		args = append(args, controlID)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("load control criteria: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var c, cr string
		if err := rows.Scan(&c, &cr); err != nil {
			return nil, fmt.Errorf("load control criteria: %w", err)
		}
		out[c] = append(out[c], cr)
	}
	for _, v := range out {
		slices.SortFunc(v, compareCriterionIDs)
	}
	return out, rows.Err()
}

// compareCriterionIDs orders "CC6.2" before "CC6.10".
func compareCriterionIDs(a, b string) int {
	pa, na, _ := strings.Cut(a, ".")
	pb, nb, _ := strings.Cut(b, ".")
	if pa != pb {
		return strings.Compare(pa, pb)
	}
	if len(na) != len(nb) {
		return len(na) - len(nb)
	}
	return strings.Compare(na, nb)
}

// Get loads one control of the org. A control of another org is NotFound,
// exactly like one that does not exist.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Control, error) {
	c, err := scanControl(q.QueryRowContext(ctx, "SELECT "+columns+fromControls+" WHERE c.org_id = $1 AND c.id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Control{}, attest.NotFound("control " + id)
		}
		return Control{}, fmt.Errorf("load control %s: %w", id, err)
	}
	criteria, err := criteriaByControl(ctx, q, org, id)
	if err != nil {
		return Control{}, err
	}
	c.Criteria = criteria[id]
	if c.Criteria == nil {
		c.Criteria = []string{}
	}
	return c, nil
}

// validate checks a control before it is written.
func validate(c *Control, fw *framework.Framework) error {
	c.Code = strings.TrimSpace(c.Code)
	c.Title = strings.TrimSpace(c.Title)
	switch {
	case c.Code == "" || len(c.Code) > 32:
		return attest.Invalid("code", "must be 1 to 32 characters")
	case strings.ContainsAny(c.Code, " \t\n/"):
		return attest.Invalid("code", "must not contain spaces or slashes")
	case c.Title == "" || len(c.Title) > 200:
		return attest.Invalid("title", "must be 1 to 200 characters")
	case len(c.Description) > 20000 || len(c.TestProcedure) > 20000:
		return attest.Invalid("description", "must be at most 20000 characters")
	}
	if _, err := ParseFrequency(string(c.Frequency)); err != nil {
		return err
	}
	if _, err := ParseStatus(string(c.Status)); err != nil {
		return err
	}
	if c.Status == StatusNotApplicable && strings.TrimSpace(c.Justification) == "" {
		return attest.Invalid("justification", "a control marked not applicable needs a written justification")
	}
	seen := map[string]bool{}
	var crit []string
	for _, id := range c.Criteria {
		if _, ok := fw.Criterion(id); !ok {
			return attest.Invalid("criteria", fmt.Sprintf("unknown criterion %q", id))
		}
		if !seen[id] {
			seen[id] = true
			crit = append(crit, id)
		}
	}
	slices.SortFunc(crit, compareCriterionIDs)
	if crit == nil {
		crit = []string{}
	}
	c.Criteria = crit
	if c.Evidence == nil {
		c.Evidence = []string{}
	}
	return nil
}

func soc2() (*framework.Framework, error) {
	cat, err := framework.Builtin()
	if err != nil {
		return nil, err
	}
	fw, ok := cat.Framework(FrameworkID)
	if !ok {
		return nil, fmt.Errorf("framework %s missing from the catalog", FrameworkID)
	}
	return fw, nil
}

// insert writes a validated control and its mappings.
func insert(ctx context.Context, tx *store.Tx, c *Control) error {
	ev, _ := json.Marshal(c.Evidence)
	var owner any
	if c.OwnerID != "" {
		owner = c.OwnerID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO controls (id, org_id, code, title, description, test_procedure, evidence_json,
		owner_role, frequency, area, status, owner_id, justification, custom, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		c.ID, c.OrgID, c.Code, c.Title, c.Description, c.TestProcedure, string(ev), c.OwnerRole, c.Frequency, c.Area,
		c.Status, owner, c.Justification, c.Custom, c.CreatedAt, c.UpdatedAt); err != nil {
		if errors.Is(err, attest.ErrConflict) {
			return attest.Invalid("code", fmt.Sprintf("a control with code %s already exists", c.Code))
		}
		return fmt.Errorf("insert control %s: %w", c.Code, err)
	}
	return writeCriteria(ctx, tx, c)
}

func writeCriteria(ctx context.Context, tx *store.Tx, c *Control) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM control_criteria WHERE control_id = $1", c.ID); err != nil {
		return fmt.Errorf("map control %s: %w", c.Code, err)
	}
	for _, cr := range c.Criteria {
		if _, err := tx.ExecContext(ctx, "INSERT INTO control_criteria (org_id, control_id, framework_id, criterion_id) VALUES ($1, $2, $3, $4)",
			c.OrgID, c.ID, FrameworkID, cr); err != nil {
			return fmt.Errorf("map control %s to %s: %w", c.Code, cr, err)
		}
	}
	return nil
}

// SeedLibrary copies the built-in library into a new org's controls. One
// audit entry records the whole seed rather than a hundred entries.
func SeedLibrary(ctx context.Context, tx *store.Tx, org attest.OrgID) (int, error) {
	lib, err := Library()
	if err != nil {
		return 0, err
	}
	fw, err := soc2()
	if err != nil {
		return 0, err
	}
	codes := make([]string, 0, len(lib))
	for _, t := range lib {
		c := t.Control()
		c.ID, c.OrgID, c.CreatedAt, c.UpdatedAt = attest.NewID("ctl"), org, tx.Now(), tx.Now()
		if err := validate(&c, fw); err != nil {
			return 0, fmt.Errorf("library control %s: %w", t.Code, err)
		}
		if err := insert(ctx, tx, &c); err != nil {
			return 0, err
		}
		codes = append(codes, c.Code)
	}
	return len(lib), tx.RecordIn(ctx, org, "control.seed", "org", string(org), nil, map[string]any{"controls": codes})
}

// Create adds a custom control to the org.
func Create(ctx context.Context, tx *store.Tx, org attest.OrgID, c Control) (Control, error) {
	fw, err := soc2()
	if err != nil {
		return Control{}, err
	}
	c.ID, c.OrgID, c.Custom, c.CreatedAt, c.UpdatedAt = attest.NewID("ctl"), org, true, tx.Now(), tx.Now()
	if c.Status == "" {
		c.Status = StatusNotStarted
	}
	if c.Frequency == "" {
		c.Frequency = FrequencyYearly
	}
	if err := validate(&c, fw); err != nil {
		return Control{}, err
	}
	if c.OwnerID != "" {
		email, err := account.MemberEmail(ctx, tx, org, "owner", c.OwnerID)
		if err != nil {
			return Control{}, err
		}
		c.OwnerEmail = email
	}
	if err := insert(ctx, tx, &c); err != nil {
		return Control{}, err
	}
	return c, tx.Record(ctx, "control.create", "control", c.ID, nil, auditView(c))
}

// Patch is a partial change; nil fields stay as they are.
type Patch struct {
	Status        *Status
	OwnerID       *string // "" clears the owner
	Justification *string
	Title         *string
	Description   *string
	TestProcedure *string
	Frequency     *Frequency
	Criteria      *[]string
}

// Update applies p to a control of the org.
func Update(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, p Patch) (Control, error) {
	before, err := Get(ctx, tx, org, id)
	if err != nil {
		return Control{}, err
	}
	c := before
	c.Criteria = slices.Clone(before.Criteria)
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Justification, p.Justification)
	set(&c.Title, p.Title)
	set(&c.Description, p.Description)
	set(&c.TestProcedure, p.TestProcedure)
	if p.Status != nil {
		c.Status = *p.Status
		if c.Status != StatusNotApplicable && p.Justification == nil {
			c.Justification = "" // a justification only explains "not applicable"
		}
	}
	if p.Frequency != nil {
		c.Frequency = *p.Frequency
	}
	if p.Criteria != nil {
		c.Criteria = *p.Criteria
	}
	if p.OwnerID != nil {
		c.OwnerID, c.OwnerEmail = *p.OwnerID, ""
		if c.OwnerID != "" {
			if c.OwnerEmail, err = account.MemberEmail(ctx, tx, org, "owner", c.OwnerID); err != nil {
				return Control{}, err
			}
		}
	}
	fw, err := soc2()
	if err != nil {
		return Control{}, err
	}
	if err := validate(&c, fw); err != nil {
		return Control{}, err
	}
	c.UpdatedAt = tx.Now()
	ev, _ := json.Marshal(c.Evidence)
	var owner any
	if c.OwnerID != "" {
		owner = c.OwnerID
	}
	if _, err := tx.ExecContext(ctx, `UPDATE controls SET title = $1, description = $2, test_procedure = $3, evidence_json = $4,
		frequency = $5, status = $6, owner_id = $7, justification = $8, updated_at = $9 WHERE org_id = $10 AND id = $11`,
		c.Title, c.Description, c.TestProcedure, string(ev), c.Frequency, c.Status, owner, c.Justification, c.UpdatedAt, org, id); err != nil {
		return Control{}, fmt.Errorf("update control %s: %w", id, err)
	}
	if p.Criteria != nil {
		if err := writeCriteria(ctx, tx, &c); err != nil {
			return Control{}, err
		}
	}
	return c, tx.Record(ctx, "control.update", "control", id, auditView(before), auditView(c))
}

// auditView is what the audit log keeps of a control: the fields people
// change, not the long texts of the library.
func auditView(c Control) map[string]any {
	return map[string]any{"code": c.Code, "title": c.Title, "status": c.Status, "owner": c.OwnerEmail,
		"justification": c.Justification, "frequency": c.Frequency, "criteria": c.Criteria}
}
