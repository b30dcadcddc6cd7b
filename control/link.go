package control

import (
	"context"
	"fmt"
	"slices"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Ref names a control that another record (a risk, an incident, a task)
// links to.
type Ref struct {
	ID    string `json:"id"`
	Code  string `json:"code"`
	Title string `json:"title"`
}

// maxRefs bounds how many controls one record may link to.
const maxRefs = 100

// Resolve checks that each entry (a control id or code) names a control of
// the org and returns the references in code order without duplicates.
// field names the input in errors.
func Resolve(ctx context.Context, q store.Querier, org attest.OrgID, field string, idsOrCodes []string) ([]Ref, error) {
	out := []Ref{}
	if len(idsOrCodes) == 0 {
		return out, nil
	}
	if len(idsOrCodes) > maxRefs {
		return nil, attest.Invalid(field, fmt.Sprintf("at most %d controls", maxRefs))
	}
	rows, err := q.QueryContext(ctx, "SELECT id, code, title FROM controls WHERE org_id = $1", org)
	if err != nil {
		return nil, fmt.Errorf("resolve controls: %w", err)
	}
	defer rows.Close()
	byRef := map[string]Ref{}
	for rows.Next() {
		var r Ref
		if err := rows.Scan(&r.ID, &r.Code, &r.Title); err != nil {
			return nil, fmt.Errorf("resolve controls: %w", err)
		}
		byRef[r.ID], byRef[r.Code] = r, r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resolve controls: %w", err)
	}
	seen := map[string]bool{}
	for _, in := range idsOrCodes {
		r, ok := byRef[strings.TrimSpace(in)]
		if !ok {
			return nil, attest.Invalid(field, fmt.Sprintf("no control %q in this organisation", in))
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Ref) int { return strings.Compare(a.Code, b.Code) })
	return out, nil
}

// Links is a join table from a register's records to controls, with the
// columns (org_id, <Column>, control_id). Table and Column are constants of
// the package that owns the table, never user input.
type Links struct {
	Table  string
	Column string
}

// Load returns the linked controls per record of the org, or of one
// record when recordID is set.
func (l Links) Load(ctx context.Context, q store.Querier, org attest.OrgID, recordID string) (map[string][]Ref, error) {
	query := "SELECT l." + l.Column + ", c.id, c.code, c.title FROM " + l.Table + " l JOIN controls c ON c.id = l.control_id WHERE l.org_id = $1"
	args := []any{org}
	if recordID != "" {
		query += " AND l." + l.Column + " = $2"
		args = append(args, recordID)
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY c.code", args...)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", l.Table, err)
	}
	defer rows.Close()
	out := map[string][]Ref{}
	for rows.Next() {
		var id string
		var r Ref
		if err := rows.Scan(&id, &r.ID, &r.Code, &r.Title); err != nil {
			return nil, fmt.Errorf("load %s: %w", l.Table, err)
		}
		out[id] = append(out[id], r)
	}
	return out, rows.Err()
}

// Replace makes refs the record's linked controls.
func (l Links) Replace(ctx context.Context, tx *store.Tx, org attest.OrgID, recordID string, refs []Ref) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+l.Table+" WHERE org_id = $1 AND "+l.Column+" = $2", org, recordID); err != nil {
		return fmt.Errorf("link controls of %s: %w", recordID, err)
	}
	for _, r := range refs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+l.Table+" (org_id, "+l.Column+", control_id) VALUES ($1, $2, $3)", org, recordID, r.ID); err != nil {
			return fmt.Errorf("link control %s to %s: %w", r.Code, recordID, err)
		}
	}
	return nil
}
