package vendors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/store"
)

// Freshness states of a vendor's assurance.
const (
	StateNone          = "none"                 // no report on file
	StateCurrent       = "current"              // within 12 months of the audit period's end (or bridged)
	StateBridgeNeeded  = "bridge_letter_needed" // 12 to 15 months after: ask for a bridge letter
	StateStale         = "stale"                // more than 15 months after: ask for the new report
	ReportValidMonths  = 12
	BridgeWindowMonths = 3
	// WarnDays is how long before a report leaves "current" the vendor is
	// flagged, so the request goes out before the report lapses.
	WarnDays = 60
)

// States lists the freshness states.
var States = []string{StateNone, StateCurrent, StateBridgeNeeded, StateStale}

func validState(s string) bool {
	for _, v := range States {
		if v == s {
			return true
		}
	}
	return false
}

// Freshness says how current a vendor's newest assurance report is.
type Freshness struct {
	State       string `json:"state"`
	PeriodEnd   string `json:"period_end,omitempty"`  // audit period end of the newest report
	BridgeFrom  string `json:"bridge_from,omitempty"` // a bridge letter is needed from this day
	StaleFrom   string `json:"stale_from,omitempty"`  // the report is stale from this day
	Bridged     bool   `json:"bridged"`               // a bridge letter covers the gap
	ExpiresSoon bool   `json:"expires_soon"`          // current, but leaves that state within WarnDays
}

// FreshnessOf computes freshness from the newest report's period end and
// the newest bridge letter's coverage date, at now. A bridge letter only
// counts for a date after the report's period end, and only until the
// report turns stale.
func FreshnessOf(periodEnd, bridgeEnd string, now time.Time) Freshness {
	if periodEnd == "" {
		return Freshness{State: StateNone}
	}
	end, err := time.Parse("2006-01-02", periodEnd)
	if err != nil {
		return Freshness{State: StateNone}
	}
	bridge := end.AddDate(0, ReportValidMonths, 0)
	stale := bridge.AddDate(0, BridgeWindowMonths, 0)
	f := Freshness{PeriodEnd: periodEnd, BridgeFrom: bridge.Format("2006-01-02"), StaleFrom: stale.Format("2006-01-02")}
	today := now.UTC()
	switch {
	case today.Before(bridge):
		f.State = StateCurrent
		f.ExpiresSoon = bridge.Sub(today) <= WarnDays*24*time.Hour
	case today.Before(stale):
		f.State = StateBridgeNeeded
		if bridgeEnd != "" && bridgeEnd > periodEnd {
			f.State, f.Bridged = StateCurrent, true
			f.ExpiresSoon = stale.Sub(today) <= WarnDays*24*time.Hour
		}
	default:
		f.State = StateStale
	}
	return f
}

// Report kinds.
const (
	KindSOC2Type2    = "soc2_type2"
	KindSOC2Type1    = "soc2_type1"
	KindISO27001     = "iso27001"
	KindBridgeLetter = "bridge_letter"
	KindOther        = "other"
)

// ReportKinds lists the accepted report kinds.
var ReportKinds = []string{KindSOC2Type2, KindSOC2Type1, KindISO27001, KindBridgeLetter, KindOther}

// Report is an assurance report of a vendor, stored encrypted.
type Report struct {
	ID          string    `json:"id"`
	VendorID    string    `json:"vendor_id"`
	Kind        string    `json:"kind"`
	PeriodEnd   string    `json:"period_end"` // end of the audit period; for a bridge letter, the date it covers to
	Filename    string    `json:"filename,omitempty"`
	ContentType string    `json:"content_type,omitempty"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	AddedBy     string    `json:"added_by"`
	CreatedAt   time.Time `json:"created_at"`
	blobKey     string
}

// ReportMeta is what the uploader says about a report.
type ReportMeta struct {
	Kind        string
	PeriodEnd   string
	Filename    string
	ContentType string
}

func (m *ReportMeta) validate(now time.Time) error {
	m.Kind = strings.TrimSpace(m.Kind)
	if m.Kind == "" {
		m.Kind = KindSOC2Type2
	}
	ok := false
	for _, k := range ReportKinds {
		ok = ok || k == m.Kind
	}
	if !ok {
		return attest.Invalid("kind", "must be one of "+strings.Join(ReportKinds, ", "))
	}
	pe := strings.TrimSpace(m.PeriodEnd)
	if pe == "" {
		return attest.Invalid("period_end", "is required: the last day of the audit period the report covers")
	}
	t, err := time.Parse("2006-01-02", pe)
	if err != nil {
		return attest.Invalid("period_end", fmt.Sprintf("%q is not a date like 2026-03-31", pe))
	}
	if t.After(now.AddDate(0, 6, 0)) || t.Year() < 2000 {
		return attest.Invalid("period_end", "is not a plausible audit period end")
	}
	m.PeriodEnd = t.Format("2006-01-02")
	if len(m.Filename) > 255 {
		return attest.Invalid("filename", "must be at most 255 characters")
	}
	return nil
}

// AddReport streams a report (at most max bytes) encrypted into the blob
// store and records it. The blob is removed again if recording fails.
func AddReport(ctx context.Context, db *store.DB, blobs blob.Store, actor attest.Actor, vendorID string, m ReportMeta, r io.Reader, max int64) (Report, error) {
	if err := m.validate(db.Now()); err != nil {
		return Report{}, err
	}
	if _, err := Get(ctx, db.Q(), actor.OrgID, vendorID); err != nil {
		return Report{}, err
	}
	var rep Report
	err := blob.Stage(ctx, blobs, r, max, func(info blob.Info) error {
		rep = Report{ID: attest.NewID("vrp"), VendorID: vendorID, Kind: m.Kind, PeriodEnd: m.PeriodEnd, Filename: m.Filename,
			ContentType: m.ContentType, Size: info.Size, SHA256: info.SHA256, AddedBy: actor.Name(), blobKey: info.Key}
		return db.InTx(ctx, actor, func(tx *store.Tx) error {
			if _, err := Get(ctx, tx, actor.OrgID, vendorID); err != nil {
				return err
			}
			rep.CreatedAt = tx.Now()
			if _, err := tx.ExecContext(ctx, `INSERT INTO vendor_reports (id, org_id, vendor_id, kind, period_end, filename, content_type, size,
				sha256, blob_key, added_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				rep.ID, actor.OrgID, vendorID, rep.Kind, rep.PeriodEnd, rep.Filename, rep.ContentType, rep.Size, rep.SHA256, rep.blobKey,
				rep.AddedBy, rep.CreatedAt); err != nil {
				return fmt.Errorf("record vendor report: %w", err)
			}
			return tx.Record(ctx, "vendor.report.add", "vendor", vendorID, nil,
				map[string]any{"report": rep.ID, "kind": rep.Kind, "period_end": rep.PeriodEnd, "sha256": rep.SHA256, "size": rep.Size})
		})
	})
	if err != nil {
		return Report{}, err
	}
	return rep, nil
}

const reportColumns = "id, vendor_id, kind, period_end, filename, content_type, size, sha256, blob_key, added_by, created_at"

func scanReport(row interface{ Scan(...any) error }) (Report, error) {
	var r Report
	err := row.Scan(&r.ID, &r.VendorID, &r.Kind, &r.PeriodEnd, &r.Filename, &r.ContentType, &r.Size, &r.SHA256, &r.blobKey, &r.AddedBy, &r.CreatedAt)
	return r, err
}

// Reports lists a vendor's reports, newest period first.
func Reports(ctx context.Context, q store.Querier, org attest.OrgID, vendorID string) ([]Report, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+reportColumns+" FROM vendor_reports WHERE org_id = $1 AND vendor_id = $2 ORDER BY period_end DESC, created_at DESC", org, vendorID)
	if err != nil {
		return nil, fmt.Errorf("list vendor reports: %w", err)
	}
	out, err := store.Collect(rows, scanReport)
	if err != nil {
		return nil, fmt.Errorf("list vendor reports: %w", err)
	}
	return out, nil
}

// GetReport loads one report of a vendor of the org.
func GetReport(ctx context.Context, q store.Querier, org attest.OrgID, vendorID, id string) (Report, error) {
	r, err := scanReport(q.QueryRowContext(ctx, "SELECT "+reportColumns+" FROM vendor_reports WHERE org_id = $1 AND vendor_id = $2 AND id = $3", org, vendorID, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Report{}, attest.NotFound("vendor report " + id)
		}
		return Report{}, fmt.Errorf("load vendor report %s: %w", id, err)
	}
	return r, nil
}

// OpenReport returns the decrypted bytes of a report; the caller closes it.
func OpenReport(ctx context.Context, blobs blob.Store, r Report) (io.ReadCloser, error) {
	rc, err := blobs.Open(ctx, r.blobKey)
	if err != nil {
		return nil, fmt.Errorf("open vendor report %s: %w", r.ID, err)
	}
	return rc, nil
}

// Review outcomes.
const (
	OutcomeApproved       = "approved"
	OutcomeWithConditions = "approved_with_conditions"
	OutcomeRejected       = "rejected"
)

// Outcomes lists the review outcomes.
var Outcomes = []string{OutcomeApproved, OutcomeWithConditions, OutcomeRejected}

// Review is one periodic review of a vendor.
type Review struct {
	ID         string    `json:"id"`
	VendorID   string    `json:"vendor_id"`
	ReviewedOn string    `json:"reviewed_on"`
	Outcome    string    `json:"outcome"`
	Notes      string    `json:"notes"`
	Reviewer   string    `json:"reviewer"`
	CreatedAt  time.Time `json:"created_at"`
}

// AddReview records a review of a vendor by the actor.
func AddReview(ctx context.Context, tx *store.Tx, org attest.OrgID, vendorID string, rv Review) (Review, error) {
	if _, err := Get(ctx, tx, org, vendorID); err != nil {
		return Review{}, err
	}
	rv.ReviewedOn = strings.TrimSpace(rv.ReviewedOn)
	if rv.ReviewedOn == "" {
		rv.ReviewedOn = tx.Now().Format("2006-01-02")
	}
	t, err := time.Parse("2006-01-02", rv.ReviewedOn)
	if err != nil {
		return Review{}, attest.Invalid("reviewed_on", fmt.Sprintf("%q is not a date like 2026-03-31", rv.ReviewedOn))
	}
	if t.After(tx.Now().Add(24 * time.Hour)) {
		return Review{}, attest.Invalid("reviewed_on", "cannot be in the future")
	}
	ok := false
	for _, o := range Outcomes {
		ok = ok || o == rv.Outcome
	}
	if !ok {
		return Review{}, attest.Invalid("outcome", "must be one of "+strings.Join(Outcomes, ", "))
	}
	rv.Notes = strings.TrimSpace(rv.Notes)
	if len(rv.Notes) > 20000 {
		return Review{}, attest.Invalid("notes", "must be at most 20000 characters")
	}
	if rv.Outcome != OutcomeApproved && rv.Notes == "" {
		return Review{}, attest.Invalid("notes", "say why, when the outcome is not a plain approval")
	}
	rv.ID, rv.VendorID, rv.Reviewer, rv.CreatedAt = attest.NewID("vrv"), vendorID, tx.Actor().Name(), tx.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO vendor_reviews (id, org_id, vendor_id, reviewed_on, outcome, notes, reviewer, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, rv.ID, org, vendorID, rv.ReviewedOn, rv.Outcome, rv.Notes, rv.Reviewer, rv.CreatedAt); err != nil {
		return Review{}, fmt.Errorf("record vendor review: %w", err)
	}
	return rv, tx.Record(ctx, "vendor.review.add", "vendor", vendorID, nil,
		map[string]any{"review": rv.ID, "reviewed_on": rv.ReviewedOn, "outcome": rv.Outcome, "notes": rv.Notes})
}

// Reviews lists a vendor's reviews, newest first.
func Reviews(ctx context.Context, q store.Querier, org attest.OrgID, vendorID string) ([]Review, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, vendor_id, reviewed_on, outcome, notes, reviewer, created_at FROM vendor_reviews
		WHERE org_id = $1 AND vendor_id = $2 ORDER BY reviewed_on DESC, created_at DESC`, org, vendorID)
	if err != nil {
		return nil, fmt.Errorf("list vendor reviews: %w", err)
	}
	defer rows.Close()
	var out []Review
	for rows.Next() {
		var r Review
		if err := rows.Scan(&r.ID, &r.VendorID, &r.ReviewedOn, &r.Outcome, &r.Notes, &r.Reviewer, &r.CreatedAt); err != nil {
			return nil, fmt.Errorf("list vendor reviews: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
