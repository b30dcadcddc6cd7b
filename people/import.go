package people

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/store"
)

// ImportColumns are the columns a roster CSV may have; email and name are
// required, the others optional, in any order.
var ImportColumns = []string{"email", "name", "department", "manager_email", "start_date", "end_date", "employment_type"}

// MaxImportRows caps one import; bigger rosters are imported in parts.
const MaxImportRows = 5000

// RowError is one problem of an import file. Row counts CSV records the
// way a spreadsheet numbers them: the header is row 1, the first person
// row 2. Column is empty when the problem is the whole row.
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// ImportError reports every problem found in a file. An import is all or
// nothing: when a file has any error, no row of it is imported.
type ImportError struct {
	Errors []RowError
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("import refused: %d problems; nothing was imported", len(e.Errors))
}

// Unwrap makes the error one of kind invalid, so it answers 400.
func (e *ImportError) Unwrap() error {
	return &attest.Error{Kind: attest.KindInvalid, Field: "body",
		Message: fmt.Sprintf("the file has %d problems; nothing was imported; fix every row listed and send the whole file again", len(e.Errors))}
}

// Imported names one person an import added.
type Imported struct {
	Row   int    `json:"row"`
	ID    string `json:"id"`
	Email string `json:"email"`
}

// ImportResult is what a successful import added.
type ImportResult struct {
	Imported int        `json:"imported"`
	People   []Imported `json:"people"`
}

type importRow struct {
	row     int
	person  Person
	manager string // manager email
}

// Import adds every person of a CSV roster in the caller's transaction,
// or none: all rows are checked first (missing columns, bad emails, dates
// and types, duplicate emails within the file and against the roster,
// unknown managers, manager loops) and every problem is reported at once.
func Import(ctx context.Context, tx *store.Tx, org attest.OrgID, r io.Reader) (ImportResult, error) {
	rows, errs := parseCSV(r)
	if len(errs) > 0 && rows == nil {
		return ImportResult{}, &ImportError{Errors: errs} // the header is unusable
	}
	roster, err := rosterEmails(ctx, tx, org)
	if err != nil {
		return ImportResult{}, err
	}
	byEmail := map[string]*importRow{}
	for i := range rows {
		ir := &rows[i]
		e := ir.person.Email
		if e == "" {
			continue
		}
		if first, dup := byEmail[e]; dup {
			errs = append(errs, RowError{ir.row, "email", fmt.Sprintf("%s appears again; first on row %d", e, first.row)})
			continue
		}
		byEmail[e] = ir
		if _, taken := roster[e]; taken {
			errs = append(errs, RowError{ir.row, "email", e + " is already on the roster"})
		}
	}
	for i := range rows {
		ir := &rows[i]
		m := ir.manager
		if m == "" {
			continue
		}
		_, inFile := byEmail[m]
		_, inRoster := roster[m]
		switch {
		case m == ir.person.Email:
			errs = append(errs, RowError{ir.row, "manager_email", "a person cannot be their own manager"})
		case !inFile && !inRoster:
			errs = append(errs, RowError{ir.row, "manager_email", m + " is neither on the roster nor in this file"})
		case inFile && loops(byEmail, ir):
			errs = append(errs, RowError{ir.row, "manager_email", "managers in this file form a loop"})
		}
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return ImportResult{}, &ImportError{Errors: errs}
	}

	out := ImportResult{People: []Imported{}}
	ids := map[string]string{}
	for e, id := range roster {
		ids[e] = id
	}
	for i := range rows {
		p := &rows[i].person
		p.ID, p.OrgID = attest.NewID("per"), org
		if err := insert(ctx, tx, p); err != nil {
			var ae *attest.Error
			if errors.As(err, &ae) {
				return ImportResult{}, &ImportError{Errors: []RowError{{rows[i].row, ae.Field, ae.Message}}}
			}
			return ImportResult{}, err
		}
		ids[p.Email] = p.ID
	}
	for i := range rows {
		ir := &rows[i]
		if ir.manager != "" {
			ir.person.ManagerID = ids[ir.manager]
			if _, err := tx.ExecContext(ctx, "UPDATE people SET manager_id = $1 WHERE org_id = $2 AND id = $3", ir.person.ManagerID, org, ir.person.ID); err != nil {
				return ImportResult{}, fmt.Errorf("import row %d: set manager: %w", ir.row, err)
			}
		}
		after := auditView(ir.person)
		after["import_row"] = ir.row
		if err := tx.Record(ctx, "person.create", "person", ir.person.ID, nil, after); err != nil {
			return ImportResult{}, err
		}
		if err := startChecklists(ctx, tx, org, ir.person, 0); err != nil {
			return ImportResult{}, err
		}
		out.People = append(out.People, Imported{Row: ir.row, ID: ir.person.ID, Email: ir.person.Email})
	}
	out.Imported = len(out.People)
	return out, tx.Record(ctx, "person.import", "org", string(org), nil, map[string]any{"imported": out.Imported})
}

// loops reports whether following managers from ir inside the file comes
// back to ir.
func loops(byEmail map[string]*importRow, ir *importRow) bool {
	cur := ir
	for range len(byEmail) + 1 {
		next, ok := byEmail[cur.manager]
		if !ok || cur.manager == "" {
			return false
		}
		if next == ir {
			return true
		}
		cur = next
	}
	return false
}

func sortErrors(errs []RowError) {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Row < errs[j-1].Row; j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}

func rosterEmails(ctx context.Context, q store.Querier, org attest.OrgID) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT email, id FROM people WHERE org_id = $1", org)
	if err != nil {
		return nil, fmt.Errorf("load roster: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var e, id string
		if err := rows.Scan(&e, &id); err != nil {
			return nil, fmt.Errorf("load roster: %w", err)
		}
		out[e] = id
	}
	return out, rows.Err()
}

// parseCSV reads the header and rows, checking each field on its own.
func parseCSV(r io.Reader) ([]importRow, []RowError) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, []RowError{{Row: 1, Reason: "the file is empty; it needs a header row with at least email,name"}}
	}
	if err != nil {
		return nil, []RowError{{Row: 1, Reason: "the header row is not valid CSV: " + csvReason(err)}}
	}
	col := map[string]int{}
	var errs []RowError
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch {
		case h == "":
			errs = append(errs, RowError{1, "", fmt.Sprintf("column %d has no name", i+1)})
		case !contains(ImportColumns, h):
			errs = append(errs, RowError{1, h, "unknown column; the columns are " + strings.Join(ImportColumns, ", ")})
		case hasKey(col, h):
			errs = append(errs, RowError{1, h, "column appears twice"})
		default:
			col[h] = i
		}
	}
	for _, req := range []string{"email", "name"} {
		if !hasKey(col, req) {
			errs = append(errs, RowError{1, req, "required column is missing"})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []importRow
	row := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		row++
		if err != nil {
			errs = append(errs, RowError{Row: row, Reason: "not valid CSV: " + csvReason(err)})
			if len(errs) > 200 {
				break
			}
			continue
		}
		if blank(rec) {
			continue
		}
		if len(out) >= MaxImportRows {
			errs = append(errs, RowError{Row: row, Reason: fmt.Sprintf("a file may hold at most %d people; split it", MaxImportRows)})
			break
		}
		if len(rec) != len(header) {
			errs = append(errs, RowError{Row: row, Reason: fmt.Sprintf("has %d fields; the header has %d", len(rec), len(header))})
			continue
		}
		ir := importRow{row: row, person: Person{Name: field(rec, "name"), Department: field(rec, "department"),
			EmploymentType: strings.ToLower(field(rec, "employment_type"))}}
		if e, err := account.NormalizeEmail("email", field(rec, "email")); err != nil {
			reason := "must be a plain email address such as ana@example.com"
			if field(rec, "email") == "" {
				reason = "is required"
			}
			errs = append(errs, RowError{row, "email", reason})
		} else {
			ir.person.Email = e
		}
		if m := field(rec, "manager_email"); m != "" {
			if e, err := account.NormalizeEmail("manager_email", m); err != nil {
				errs = append(errs, RowError{row, "manager_email", "must be a plain email address"})
			} else {
				ir.manager = e
			}
		}
		if ir.person.Name == "" || len(ir.person.Name) > 200 {
			errs = append(errs, RowError{row, "name", "is required (at most 200 characters)"})
		}
		if len(ir.person.Department) > 100 {
			errs = append(errs, RowError{row, "department", "must be at most 100 characters"})
		}
		if ir.person.EmploymentType == "" {
			ir.person.EmploymentType = TypeEmployee
		} else if !contains(EmploymentTypes, ir.person.EmploymentType) {
			errs = append(errs, RowError{row, "employment_type", fmt.Sprintf("%q is not one of %s", ir.person.EmploymentType, strings.Join(EmploymentTypes, ", "))})
		}
		start, serr := ParseDate("start_date", field(rec, "start_date"))
		end, eerr := ParseDate("end_date", field(rec, "end_date"))
		for _, e := range []error{serr, eerr} {
			var ae *attest.Error
			if errors.As(e, &ae) {
				errs = append(errs, RowError{row, ae.Field, ae.Message + "; use YYYY-MM-DD"})
			}
		}
		if serr == nil && eerr == nil && start != "" && end != "" && end < start {
			errs = append(errs, RowError{row, "end_date", "is before start_date"})
		}
		ir.person.StartDate, ir.person.EndDate = start, end
		out = append(out, ir)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, RowError{Row: 2, Reason: "the file has a header but no people"})
	}
	return out, errs
}

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "unreadable"
}
