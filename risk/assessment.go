package risk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/store"
)

// AssessmentControls are the library controls a risk assessment is
// evidence for: the yearly assessment itself and the maintained register
// (control/library/risk.yaml).
var AssessmentControls = []string{"RA-01", "RA-02"}

// Assessment is an immutable snapshot of the register. SHA256 is the hash
// of Snapshot exactly as stored; Intact reports whether it still matches.
type Assessment struct {
	ID          string          `json:"id"`
	Title       string          `json:"title"`
	Summary     string          `json:"summary"`
	SHA256      string          `json:"sha256"`
	RiskCount   int             `json:"risk_count"`
	EvidenceIDs []string        `json:"evidence_ids"`
	CreatedBy   string          `json:"created_by"`
	CreatedAt   time.Time       `json:"created_at"`
	Intact      bool            `json:"intact"`
	Snapshot    json.RawMessage `json:"snapshot,omitempty"`
}

// snapshot is the stored shape of an assessment: the whole register as it
// stood, with the ratings, treatment, owner and controls of each risk.
type snapshot struct {
	Format  string    `json:"format"`
	Title   string    `json:"title"`
	TakenAt time.Time `json:"taken_at"`
	TakenBy string    `json:"taken_by"`
	Risks   []Risk    `json:"risks"`
}

// Assess snapshots the whole register (open and closed risks), stores it
// with its SHA-256, and records a note as evidence on the risk-assessment
// controls of the org, all in the caller's transaction.
func Assess(ctx context.Context, tx *store.Tx, org attest.OrgID, title, summary string) (Assessment, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		title = fmt.Sprintf("Risk assessment %d", tx.Now().Year())
	}
	summary = strings.TrimSpace(summary)
	switch {
	case len(title) > 150:
		return Assessment{}, attest.Invalid("title", "must be at most 150 characters")
	case len(summary) > 20000:
		return Assessment{}, attest.Invalid("summary", "must be at most 20000 characters")
	}
	risks, err := List(ctx, tx, org, Filter{})
	if err != nil {
		return Assessment{}, err
	}
	if len(risks) == 0 {
		return Assessment{}, attest.Invalid("register", "the register is empty; add the risks before assessing them")
	}
	snap, err := json.Marshal(snapshot{Format: "attest-risk-assessment-v1", Title: title, TakenAt: tx.Now(), TakenBy: tx.Actor().Name(), Risks: risks})
	if err != nil {
		return Assessment{}, fmt.Errorf("encode risk snapshot: %w", err)
	}
	sum := sha256.Sum256(snap)
	a := Assessment{ID: attest.NewID("ras"), Title: title, Summary: summary, SHA256: hex.EncodeToString(sum[:]), RiskCount: len(risks),
		EvidenceIDs: []string{}, CreatedBy: tx.Actor().Name(), CreatedAt: tx.Now(), Intact: true}
	note := assessmentNote(a, risks)
	for _, code := range AssessmentControls {
		c, ok, err := controlByCode(ctx, tx, org, code)
		if err != nil {
			return Assessment{}, err
		}
		if !ok {
			continue // the org removed or never had this control
		}
		it, err := evidence.AddNote(ctx, tx, org, c.ID, evidence.Meta{Title: title + " (register snapshot)", Note: note, Source: "risk-assessment:" + a.ID})
		if err != nil {
			return Assessment{}, fmt.Errorf("record assessment evidence on %s: %w", code, err)
		}
		a.EvidenceIDs = append(a.EvidenceIDs, it.ID)
	}
	ev, _ := json.Marshal(a.EvidenceIDs)
	if _, err := tx.ExecContext(ctx, `INSERT INTO risk_assessments (id, org_id, title, summary, snapshot_json, sha256, risk_count,
		evidence_json, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, org, a.Title, a.Summary, string(snap), a.SHA256, a.RiskCount, string(ev), a.CreatedBy, a.CreatedAt); err != nil {
		return Assessment{}, fmt.Errorf("store risk assessment: %w", err)
	}
	return a, tx.Record(ctx, "risk.assessment.create", "risk_assessment", a.ID, nil,
		map[string]any{"title": a.Title, "sha256": a.SHA256, "risks": a.RiskCount, "evidence": a.EvidenceIDs})
}

// controlByCode finds the org's control with exactly this code.
func controlByCode(ctx context.Context, q store.Querier, org attest.OrgID, code string) (control.Control, bool, error) {
	cs, err := control.List(ctx, q, org, control.Filter{Query: code})
	if err != nil {
		return control.Control{}, false, err
	}
	for _, c := range cs {
		if c.Code == code {
			return c, true, nil
		}
	}
	return control.Control{}, false, nil
}

// assessmentNote is the evidence text: what was assessed, the hash of the
// full snapshot (kept in the register, downloadable) and the ratings.
func assessmentNote(a Assessment, risks []Risk) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, taken %s by %s.\n", a.Title, a.CreatedAt.Format("2006-01-02 15:04 UTC"), a.CreatedBy)
	fmt.Fprintf(&b, "Snapshot %s of %d risks, SHA-256 %s.\n", a.ID, a.RiskCount, a.SHA256)
	if a.Summary != "" {
		fmt.Fprintf(&b, "\n%s\n", a.Summary)
	}
	b.WriteString("\nRisk | inherent (LxI) | residual (LxI) | treatment | owner | status\n")
	for i, r := range risks {
		if i == 100 {
			fmt.Fprintf(&b, "... and %d more in the snapshot\n", len(risks)-100)
			break
		}
		owner := r.OwnerEmail
		if owner == "" {
			owner = "no owner"
		}
		fmt.Fprintf(&b, "%s | %d (%dx%d) | %d (%dx%d) | %s | %s | %s\n", oneLine(r.Title), r.InherentScore, r.Likelihood, r.Impact,
			r.ResidualScore, r.ResidualLikelihood, r.ResidualImpact, r.Treatment, owner, r.Status)
	}
	return b.String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// GetAssessment loads one assessment with its snapshot and checks the
// snapshot against its hash.
func GetAssessment(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Assessment, error) {
	var a Assessment
	var snap, ev string
	err := q.QueryRowContext(ctx, `SELECT id, title, summary, snapshot_json, sha256, risk_count, evidence_json, created_by, created_at
		FROM risk_assessments WHERE org_id = $1 AND id = $2`, org, id).
		Scan(&a.ID, &a.Title, &a.Summary, &snap, &a.SHA256, &a.RiskCount, &ev, &a.CreatedBy, &a.CreatedAt)
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Assessment{}, attest.NotFound("risk assessment " + id)
		}
		return Assessment{}, fmt.Errorf("load risk assessment %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(ev), &a.EvidenceIDs); err != nil {
		return Assessment{}, fmt.Errorf("risk assessment %s: bad evidence list: %w", id, err)
	}
	sum := sha256.Sum256([]byte(snap))
	a.Intact = hex.EncodeToString(sum[:]) == a.SHA256
	a.Snapshot = json.RawMessage(snap)
	return a, nil
}

// Assessments lists an org's assessments, newest first, without their
// snapshots.
func Assessments(ctx context.Context, q store.Querier, org attest.OrgID) ([]Assessment, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, title, summary, snapshot_json, sha256, risk_count, evidence_json, created_by, created_at
		FROM risk_assessments WHERE org_id = $1 ORDER BY created_at DESC, id`, org)
	if err != nil {
		return nil, fmt.Errorf("list risk assessments: %w", err)
	}
	defer rows.Close()
	var out []Assessment
	for rows.Next() {
		var a Assessment
		var snap, ev string
		if err := rows.Scan(&a.ID, &a.Title, &a.Summary, &snap, &a.SHA256, &a.RiskCount, &ev, &a.CreatedBy, &a.CreatedAt); err != nil {
			return nil, fmt.Errorf("list risk assessments: %w", err)
		}
		if err := json.Unmarshal([]byte(ev), &a.EvidenceIDs); err != nil {
			return nil, fmt.Errorf("risk assessment %s: bad evidence list: %w", a.ID, err)
		}
		sum := sha256.Sum256([]byte(snap))
		a.Intact = hex.EncodeToString(sum[:]) == a.SHA256
		out = append(out, a)
	}
	return out, rows.Err()
}
