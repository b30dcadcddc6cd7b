// Package jobs is the one table and runner for background work: reminders,
// deliveries, sweeps and whatever later capabilities queue. A job is queued
// in the transaction of the change that caused it, so the two commit
// together; runners claim due jobs under a lease, retry failures with
// exponential backoff and record every attempt. Several runners may share
// one PostgreSQL database: each job is claimed by exactly one of them.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Status is where a job stands.
type Status string

// The statuses of a job.
const (
	StatusQueued  Status = "queued"  // waiting for run_at
	StatusRunning Status = "running" // claimed by a runner under a lease
	StatusDone    Status = "done"
	StatusFailed  Status = "failed" // gave up after max attempts, or a permanent error
)

// DefaultMaxAttempts is how often a job is tried unless it says otherwise.
// With the default backoff (30 s doubling, capped at an hour) the last
// attempt comes about an hour after the first.
const DefaultMaxAttempts = 8

// Job is one unit of background work.
type Job struct {
	ID          string          `json:"id"`
	OrgID       attest.OrgID    `json:"org_id"`
	Kind        string          `json:"kind"`
	Payload     json.RawMessage `json:"payload"`
	UniqueKey   string          `json:"unique_key,omitempty"`
	Status      Status          `json:"status"`
	RunAt       time.Time       `json:"run_at"`
	Attempts    int             `json:"attempts"` // including the one running now
	MaxAttempts int             `json:"max_attempts"`
	LastError   string          `json:"last_error,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
}

// Final reports whether this attempt is the last one the runner will make
// if it fails, so a handler can record a failure as final.
func (j Job) Final() bool { return j.Attempts >= j.MaxAttempts }

// Decode unmarshals the payload into v.
func (j Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return Permanent(fmt.Errorf("job %s (%s): bad payload: %w", j.ID, j.Kind, err))
	}
	return nil
}

// New describes a job to queue.
type New struct {
	OrgID       attest.OrgID // empty for work spanning every org
	Kind        string
	Payload     any       // marshalled to JSON; nil becomes {}
	RunAt       time.Time // zero: now
	UniqueKey   string    // when set, a job with the same key already queued (or run) makes this a no-op
	MaxAttempts int       // zero: DefaultMaxAttempts
}

// Enqueue queues a job inside tx, so it commits or rolls back with the
// change that caused it. It reports whether a job was added: false when
// UniqueKey names a job that already exists.
func Enqueue(ctx context.Context, tx *store.Tx, n New) (string, bool, error) {
	if n.Kind == "" {
		return "", false, errors.New("enqueue: job kind is empty")
	}
	payload := []byte("{}")
	if n.Payload != nil {
		b, err := json.Marshal(n.Payload)
		if err != nil {
			return "", false, fmt.Errorf("enqueue %s: encode payload: %w", n.Kind, err)
		}
		payload = b
	}
	if n.RunAt.IsZero() {
		n.RunAt = tx.Now()
	}
	if n.MaxAttempts <= 0 {
		n.MaxAttempts = DefaultMaxAttempts
	}
	var key any
	if n.UniqueKey != "" {
		key = n.UniqueKey
	}
	id := attest.NewID("job")
	res, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, org_id, kind, payload, unique_key, status, run_at, attempts, max_attempts,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $9)
		ON CONFLICT (unique_key) DO NOTHING`,
		id, string(n.OrgID), n.Kind, string(payload), key, StatusQueued, n.RunAt.UTC(), n.MaxAttempts, tx.Now())
	if err != nil {
		return "", false, fmt.Errorf("enqueue %s: %w", n.Kind, err)
	}
	added, err := res.RowsAffected()
	if err != nil {
		return "", false, fmt.Errorf("enqueue %s: %w", n.Kind, err)
	}
	if added == 0 {
		return "", false, nil
	}
	return id, true, nil
}

// Get loads one job; jobs are machinery, so this is for tests and
// operators, not for org-scoped pages.
func Get(ctx context.Context, q store.Querier, id string) (Job, error) {
	var j Job
	var payload string
	var key sql.NullString
	err := q.QueryRowContext(ctx, `SELECT id, org_id, kind, payload, unique_key, status, run_at, attempts, max_attempts, last_error, created_at
		FROM jobs WHERE id = $1`, id).Scan(&j.ID, &j.OrgID, &j.Kind, &payload, &key, &j.Status, &j.RunAt, &j.Attempts,
		&j.MaxAttempts, &j.LastError, &j.CreatedAt)
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Job{}, attest.NotFound("job " + id)
		}
		return Job{}, fmt.Errorf("load job %s: %w", id, err)
	}
	j.Payload, j.UniqueKey = json.RawMessage(payload), key.String
	return j, nil
}

// Attempt is one recorded try at a job.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	Runner     string    `json:"runner"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"` // zero when the runner died mid-attempt
	Error      string    `json:"error,omitempty"`
}

// Attempts lists the recorded attempts at a job, first first.
func Attempts(ctx context.Context, q store.Querier, jobID string) ([]Attempt, error) {
	rows, err := q.QueryContext(ctx, `SELECT attempt, runner, started_at, finished_at, error FROM job_attempts
		WHERE job_id = $1 ORDER BY attempt`, jobID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of job %s: %w", jobID, err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var fin sql.NullTime
		if err := rows.Scan(&a.Attempt, &a.Runner, &a.StartedAt, &fin, &a.Error); err != nil {
			return nil, fmt.Errorf("list attempts of job %s: %w", jobID, err)
		}
		a.FinishedAt = fin.Time
		out = append(out, a)
	}
	return out, rows.Err()
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so the runner fails the job at once instead of
// retrying it (a bad payload, a target that no longer exists).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
