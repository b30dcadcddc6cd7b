// Package privacy keeps the organisation's personal data inventories: the
// reports `attest scan pii --upload` sends (which files, tables and columns
// hold which types of personal data, and how many), each filed as evidence
// on a control. The scanner itself lives in privacy/pii and needs no server.
package privacy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/privacy/pii"
	"github.com/attest-hq/attest/store"
)

// Inventory is one uploaded report with where it was filed.
type Inventory struct {
	ID         string       `json:"id"`
	OrgID      attest.OrgID `json:"-"`
	ControlID  string       `json:"control_id"`
	EvidenceID string       `json:"evidence_id"`
	ScannedAt  time.Time    `json:"scanned_at"`
	RecordedAt time.Time    `json:"recorded_at"`
	RecordedBy string       `json:"recorded_by"` // email of who uploaded it
	Findings   int64        `json:"findings"`
	Locations  int          `json:"locations"`
	Report     pii.Report   `json:"report"`
}

// Record stores a parsed report filed as evidenceID on controlID, and
// writes the audit entry (counts only) in the same transaction.
func Record(ctx context.Context, tx *store.Tx, org attest.OrgID, controlID, evidenceID string, r pii.Report) (Inventory, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return Inventory{}, fmt.Errorf("encode inventory report: %w", err)
	}
	in := Inventory{ID: attest.NewID("pin"), OrgID: org, ControlID: controlID, EvidenceID: evidenceID,
		ScannedAt: r.ScannedAt.UTC(), RecordedAt: tx.Now(), RecordedBy: tx.Actor().Email,
		Findings: r.Findings, Locations: len(r.Locations), Report: r}
	_, err = tx.ExecContext(ctx, `INSERT INTO privacy_inventories (id, org_id, control_id, evidence_id, scanned_at,
		recorded_at, recorded_by, findings, locations, report_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		in.ID, org, controlID, evidenceID, in.ScannedAt, in.RecordedAt, in.RecordedBy, in.Findings, in.Locations, string(data))
	if err != nil {
		return Inventory{}, fmt.Errorf("insert privacy inventory: %w", err)
	}
	after := map[string]any{"control": controlID, "evidence": evidenceID, "scanned_at": in.ScannedAt,
		"findings": in.Findings, "locations": in.Locations, "by_type": r.ByType}
	if err := tx.Record(ctx, "privacy.inventory.record", "privacy_inventory", in.ID, nil, after); err != nil {
		return Inventory{}, err
	}
	return in, nil
}

const columns = `id, org_id, control_id, evidence_id, scanned_at, recorded_at, recorded_by, findings, locations`

func scanRow(sc interface{ Scan(...any) error }, withReport bool) (Inventory, error) {
	var in Inventory
	var scanned, recorded store.Time
	dest := []any{&in.ID, &in.OrgID, &in.ControlID, &in.EvidenceID, &scanned, &recorded, &in.RecordedBy, &in.Findings, &in.Locations}
	var report string
	if withReport {
		dest = append(dest, &report)
	}
	if err := sc.Scan(dest...); err != nil {
		return Inventory{}, err
	}
	in.ScannedAt, in.RecordedAt = scanned.UTC(), recorded.UTC()
	if withReport {
		if err := json.Unmarshal([]byte(report), &in.Report); err != nil {
			return Inventory{}, fmt.Errorf("decode privacy inventory %s: %w", in.ID, err)
		}
	}
	return in, nil
}

// Get returns one inventory with its report; NotFound for an id of
// another org.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Inventory, error) {
	row := q.QueryRowContext(ctx, `SELECT `+columns+`, report_json FROM privacy_inventories WHERE org_id = $1 AND id = $2`, org, id)
	in, err := scanRow(row, true)
	if err != nil {
		return Inventory{}, store.ScanOne(err)
	}
	return in, nil
}

// Latest returns the most recently recorded inventory with its report;
// NotFound when there is none.
func Latest(ctx context.Context, q store.Querier, org attest.OrgID) (Inventory, error) {
	row := q.QueryRowContext(ctx, `SELECT `+columns+`, report_json FROM privacy_inventories WHERE org_id = $1
		ORDER BY recorded_at DESC, id DESC LIMIT 1`, org)
	in, err := scanRow(row, true)
	if err != nil {
		return Inventory{}, store.ScanOne(err)
	}
	return in, nil
}

// MaxList is how many inventories List returns at most.
const MaxList = 200

// List returns the org's inventories, newest first, without their reports
// (Get has them).
func List(ctx context.Context, q store.Querier, org attest.OrgID) ([]Inventory, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM privacy_inventories WHERE org_id = $1
		ORDER BY recorded_at DESC, id DESC LIMIT $2`, org, MaxList)
	if err != nil {
		return nil, fmt.Errorf("list privacy inventories: %w", err)
	}
	defer rows.Close()
	out := []Inventory{}
	for rows.Next() {
		in, err := scanRow(rows, false)
		if err != nil {
			return nil, fmt.Errorf("list privacy inventories: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}
