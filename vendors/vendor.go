// Package vendors keeps the vendor inventory: who owns each vendor, how
// critical it is, what data it receives, its assurance reports (SOC 2,
// ISO 27001) and how fresh they are, its periodic reviews, and whether it
// is a subprocessor that the trust page lists.
//
// The package is vendors, not vendor: the go command reserves a vendor/
// directory at the module root for vendored dependencies.
package vendors

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/store"
)

// Criticality tiers.
const (
	TierHigh   = "high"
	TierMedium = "medium"
	TierLow    = "low"
)

// Tiers lists the tiers, most critical first.
var Tiers = []string{TierHigh, TierMedium, TierLow}

// Vendor statuses.
const (
	StatusActive     = "active"
	StatusOffboarded = "offboarded"
)

// Vendor is one entry of the inventory.
type Vendor struct {
	ID           string       `json:"id"`
	OrgID        attest.OrgID `json:"-"`
	Name         string       `json:"name"`
	OwnerID      string       `json:"owner_id,omitempty"`
	OwnerEmail   string       `json:"owner_email,omitempty"`
	Tier         string       `json:"tier"`
	DataShared   string       `json:"data_shared"`
	Services     string       `json:"services"`
	Website      string       `json:"website"`
	Subprocessor bool         `json:"subprocessor"`
	Status       string       `json:"status"`
	Report       Freshness    `json:"report"` // of the newest assurance report
	LastReview   string       `json:"last_review,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// Input is a new vendor. Tier accepts high/medium/low or 1/2/3.
type Input struct {
	Name         string
	OwnerID      string
	Tier         string
	DataShared   string
	Services     string
	Website      string
	Subprocessor bool
}

// Patch is a partial change; nil fields stay as they are.
type Patch struct {
	Name         *string
	OwnerID      *string // "" clears the owner
	Tier         *string
	DataShared   *string
	Services     *string
	Website      *string
	Subprocessor *bool
	Status       *string
}

// ParseTier accepts a tier name or its number (1 is high).
func ParseTier(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "1", TierHigh:
		return TierHigh, nil
	case "2", TierMedium:
		return TierMedium, nil
	case "3", TierLow:
		return TierLow, nil
	}
	return "", attest.Invalid("tier", "must be high, medium or low (or 1, 2, 3)")
}

func validate(v *Vendor) error {
	v.Name = strings.TrimSpace(v.Name)
	v.Website = strings.TrimSpace(v.Website)
	switch {
	case v.Name == "" || len(v.Name) > 200:
		return attest.Invalid("name", "must be 1 to 200 characters")
	case len(v.DataShared) > 2000:
		return attest.Invalid("data_shared", "must be at most 2000 characters")
	case len(v.Services) > 2000:
		return attest.Invalid("services", "must be at most 2000 characters")
	case len(v.Website) > 500:
		return attest.Invalid("website", "must be at most 500 characters")
	case v.Status != StatusActive && v.Status != StatusOffboarded:
		return attest.Invalid("status", "must be active or offboarded")
	}
	if v.Website != "" {
		u, err := url.Parse(v.Website)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return attest.Invalid("website", "must be an http(s) address such as https://example.com")
		}
	}
	t, err := ParseTier(v.Tier)
	if err != nil {
		return err
	}
	v.Tier = t
	return nil
}

const columns = `v.id, v.org_id, v.name, COALESCE(v.owner_id, ''), COALESCE(u.email, ''), v.tier, v.data_shared, v.services,
	v.website, v.subprocessor, v.status, v.created_at, v.updated_at,
	COALESCE((SELECT MAX(r.period_end) FROM vendor_reports r WHERE r.vendor_id = v.id AND r.kind <> 'bridge_letter'), ''),
	COALESCE((SELECT MAX(r.period_end) FROM vendor_reports r WHERE r.vendor_id = v.id AND r.kind = 'bridge_letter'), ''),
	COALESCE((SELECT MAX(w.reviewed_on) FROM vendor_reviews w WHERE w.vendor_id = v.id), '')`

const from = " FROM vendors v LEFT JOIN users u ON u.id = v.owner_id"

func scan(row interface{ Scan(...any) error }, now time.Time) (Vendor, error) {
	var v Vendor
	var periodEnd, bridgeEnd string
	if err := row.Scan(&v.ID, &v.OrgID, &v.Name, &v.OwnerID, &v.OwnerEmail, &v.Tier, &v.DataShared, &v.Services,
		&v.Website, &v.Subprocessor, &v.Status, &v.CreatedAt, &v.UpdatedAt, &periodEnd, &bridgeEnd, &v.LastReview); err != nil {
		return Vendor{}, err
	}
	v.Report = FreshnessOf(periodEnd, bridgeEnd, now)
	return v, nil
}

// Get loads one vendor of the org; another org's vendor is NotFound.
func Get(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Vendor, error) {
	v, err := scan(q.QueryRowContext(ctx, "SELECT "+columns+from+" WHERE v.org_id = $1 AND v.id = $2", org, id), time.Now())
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Vendor{}, attest.NotFound("vendor " + id)
		}
		return Vendor{}, fmt.Errorf("load vendor %s: %w", id, err)
	}
	return v, nil
}

// Filter narrows a listing; zero values match everything.
type Filter struct {
	Tier         string
	Status       string
	Subprocessor *bool
	Report       string // freshness state, filtered after the query
	Query        string
}

// List returns vendors by name.
func List(ctx context.Context, q store.Querier, org attest.OrgID, f Filter) ([]Vendor, error) {
	query := "SELECT " + columns + from + " WHERE v.org_id = $1"
	args := []any{org}
	add := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Tier != "" {
		t, err := ParseTier(f.Tier)
		if err != nil {
			return nil, err
		}
		add("v.tier = $%d", t)
	}
	if f.Status != "" {
		if f.Status != StatusActive && f.Status != StatusOffboarded {
			return nil, attest.Invalid("status", "must be active or offboarded")
		}
		add("v.status = $%d", f.Status)
	}
	if f.Subprocessor != nil {
		add("v.subprocessor = $%d", *f.Subprocessor)
	}
	if f.Report != "" && !validState(f.Report) {
		return nil, attest.Invalid("report", "must be one of "+strings.Join(States, ", "))
	}
	if f.Query != "" {
		add("LOWER(v.name) LIKE $%d", "%"+strings.ToLower(f.Query)+"%")
	}
	query += " ORDER BY LOWER(v.name), v.id"
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list vendors: %w", err)
	}
	defer rows.Close()
	now := time.Now()
	var out []Vendor
	for rows.Next() {
		v, err := scan(rows, now)
		if err != nil {
			return nil, fmt.Errorf("list vendors: %w", err)
		}
		if f.Report == "" || v.Report.State == f.Report {
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// Create adds a vendor to the inventory.
func Create(ctx context.Context, tx *store.Tx, org attest.OrgID, in Input) (Vendor, error) {
	v := Vendor{ID: attest.NewID("ven"), OrgID: org, Name: in.Name, OwnerID: strings.TrimSpace(in.OwnerID), Tier: in.Tier,
		DataShared: in.DataShared, Services: in.Services, Website: in.Website, Subprocessor: in.Subprocessor, Status: StatusActive}
	if v.Tier == "" {
		v.Tier = TierMedium
	}
	if err := validate(&v); err != nil {
		return Vendor{}, err
	}
	var err error
	if v.OwnerEmail, err = account.MemberEmail(ctx, tx, org, "owner_id", v.OwnerID); err != nil {
		return Vendor{}, err
	}
	v.CreatedAt, v.UpdatedAt = tx.Now(), tx.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO vendors (id, org_id, name, owner_id, tier, data_shared, services, website, subprocessor,
		status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		v.ID, org, v.Name, nullable(v.OwnerID), v.Tier, v.DataShared, v.Services, v.Website, v.Subprocessor, v.Status, v.CreatedAt, v.UpdatedAt); err != nil {
		if errors.Is(err, attest.ErrConflict) {
			return Vendor{}, attest.Invalid("name", "a vendor named "+v.Name+" already exists")
		}
		return Vendor{}, fmt.Errorf("insert vendor: %w", err)
	}
	v.Report = FreshnessOf("", "", tx.Now())
	return v, tx.Record(ctx, "vendor.create", "vendor", v.ID, nil, auditView(v))
}

// Update applies a patch to a vendor of the org.
func Update(ctx context.Context, tx *store.Tx, org attest.OrgID, id string, p Patch) (Vendor, error) {
	before, err := Get(ctx, tx, org, id)
	if err != nil {
		return Vendor{}, err
	}
	v := before
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&v.Name, p.Name)
	set(&v.Tier, p.Tier)
	set(&v.DataShared, p.DataShared)
	set(&v.Services, p.Services)
	set(&v.Website, p.Website)
	set(&v.Status, p.Status)
	if p.Subprocessor != nil {
		v.Subprocessor = *p.Subprocessor
	}
	if err := validate(&v); err != nil {
		return Vendor{}, err
	}
	if p.OwnerID != nil {
		v.OwnerID = strings.TrimSpace(*p.OwnerID)
		if v.OwnerEmail, err = account.MemberEmail(ctx, tx, org, "owner_id", v.OwnerID); err != nil {
			return Vendor{}, err
		}
	}
	v.UpdatedAt = tx.Now()
	if _, err := tx.ExecContext(ctx, `UPDATE vendors SET name = $1, owner_id = $2, tier = $3, data_shared = $4, services = $5, website = $6,
		subprocessor = $7, status = $8, updated_at = $9 WHERE org_id = $10 AND id = $11`,
		v.Name, nullable(v.OwnerID), v.Tier, v.DataShared, v.Services, v.Website, v.Subprocessor, v.Status, v.UpdatedAt, org, id); err != nil {
		if errors.Is(err, attest.ErrConflict) {
			return Vendor{}, attest.Invalid("name", "a vendor named "+v.Name+" already exists")
		}
		return Vendor{}, fmt.Errorf("update vendor %s: %w", id, err)
	}
	return v, tx.Record(ctx, "vendor.update", "vendor", id, auditView(before), auditView(v))
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func auditView(v Vendor) map[string]any {
	return map[string]any{"name": v.Name, "owner": v.OwnerEmail, "tier": v.Tier, "data_shared": v.DataShared,
		"services": v.Services, "website": v.Website, "subprocessor": v.Subprocessor, "status": v.Status}
}
