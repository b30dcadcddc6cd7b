// Package readiness joins what scoring needs — scope, controls, evidence
// freshness, overdue tasks — into an org's readiness, and keeps one reading
// per day so its trend can be drawn.
package readiness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/framework"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/task"
)

// ForOrg computes the org's readiness at now. It is the one place new
// signals (failing automated checks, later) are joined in.
func ForOrg(ctx context.Context, q store.Querier, org attest.OrgID, now time.Time) (control.Readiness, error) {
	o, err := account.GetOrg(ctx, q, org)
	if err != nil {
		return control.Readiness{}, err
	}
	cs, err := control.ListForScoring(ctx, q, org)
	if err != nil {
		return control.Readiness{}, err
	}
	ev, err := evidence.Summaries(ctx, q, org)
	if err != nil {
		return control.Readiness{}, err
	}
	overdue, err := task.OverdueByControl(ctx, q, org, now)
	if err != nil {
		return control.Readiness{}, err
	}
	cat, err := framework.Builtin()
	if err != nil {
		return control.Readiness{}, err
	}
	fw, ok := cat.Framework(control.FrameworkID)
	if !ok {
		return control.Readiness{}, fmt.Errorf("framework %s missing", control.FrameworkID)
	}
	states := make([]control.ControlState, len(cs))
	for i, c := range cs {
		sum := ev[c.ID]
		states[i] = control.ControlState{Control: c, EvidenceCount: sum.Count,
			EvidenceStale: sum.Count > 0 && !evidence.Fresh(c.Frequency, sum.Newest, now), OverdueTasks: overdue[c.ID]}
	}
	return control.ComputeReadiness(fw, o.Scope, states)
}

// Snapshot is one day's reading.
type Snapshot struct {
	Day        string             `json:"day"` // YYYY-MM-DD (UTC)
	Overall    float64            `json:"overall"`
	Categories map[string]float64 `json:"categories"` // in-scope categories only
}

const dayLayout = "2006-01-02"

// Record stores today's reading for the org (replacing an earlier one of
// the same day), recorded in the audit log.
func Record(ctx context.Context, tx *store.Tx, org attest.OrgID) (Snapshot, error) {
	rd, err := ForOrg(ctx, tx, org, tx.Now())
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Day: tx.Now().Format(dayLayout), Overall: rd.Overall, Categories: map[string]float64{}}
	for _, c := range rd.Categories {
		if c.InScope {
			snap.Categories[c.ID] = c.Score
		}
	}
	cats, _ := json.Marshal(snap.Categories)
	if _, err := tx.ExecContext(ctx, `INSERT INTO readiness_snapshots (org_id, day, overall, categories_json, recorded_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org_id, day) DO UPDATE SET overall = excluded.overall, categories_json = excluded.categories_json, recorded_at = excluded.recorded_at`,
		org, snap.Day, snap.Overall, string(cats), tx.Now()); err != nil {
		return Snapshot{}, fmt.Errorf("record readiness of %s: %w", org, err)
	}
	return snap, tx.RecordIn(ctx, org, "readiness.snapshot", "org", string(org), nil, snap)
}

// History returns the readings of the org from since (a day) onwards,
// oldest first.
func History(ctx context.Context, q store.Querier, org attest.OrgID, since time.Time) ([]Snapshot, error) {
	rows, err := q.QueryContext(ctx, `SELECT day, overall, categories_json FROM readiness_snapshots
		WHERE org_id = $1 AND day >= $2 ORDER BY day`, org, since.UTC().Format(dayLayout))
	if err != nil {
		return nil, fmt.Errorf("readiness history: %w", err)
	}
	defer rows.Close()
	var out []Snapshot
	for rows.Next() {
		var s Snapshot
		var cats string
		if err := rows.Scan(&s.Day, &s.Overall, &cats); err != nil {
			return nil, fmt.Errorf("readiness history: %w", err)
		}
		if err := json.Unmarshal([]byte(cats), &s.Categories); err != nil {
			return nil, fmt.Errorf("readiness history %s: %w", s.Day, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Job is the kind of the daily job that records every org's reading.
const Job = "readiness.snapshot"

// RecordAll records today's reading of every org, each in its own
// transaction so one broken org does not hold back the others.
func RecordAll(db *store.DB) jobs.Handler {
	return func(ctx context.Context, _ jobs.Job) error {
		orgs, err := account.OrgIDs(ctx, db.Q())
		if err != nil {
			return err
		}
		var errs []error
		for _, org := range orgs {
			if err := db.InTx(ctx, attest.System(org), func(tx *store.Tx) error {
				_, err := Record(ctx, tx, org)
				return err
			}); err != nil {
				errs = append(errs, fmt.Errorf("readiness of %s: %w", org, err))
			}
		}
		return errors.Join(errs...)
	}
}
