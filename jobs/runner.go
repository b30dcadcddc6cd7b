package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Handler does the work of one job kind. It returns nil when done, an
// error to be retried with backoff, or Permanent(err) to fail at once. ctx
// ends when the lease would run out or the runner is stopped for good.
type Handler func(ctx context.Context, j Job) error

// Options tune a Runner; zero values take the defaults.
type Options struct {
	Name        string        // identifies this runner in locks and attempts; default host:pid
	Poll        time.Duration // how often to look for due jobs; default 5 s
	Lease       time.Duration // how long a claim holds before another runner may take the job over; default 5 min
	Concurrency int           // jobs run at once; default 4
	BaseBackoff time.Duration // wait before the second attempt, doubling after; default 30 s
	MaxBackoff  time.Duration // cap on the wait; default 1 h
	KeepDone    time.Duration // finished jobs older than this are pruned; default 7 days
	Log         *slog.Logger
}

// Runner claims and runs due jobs until stopped.
type Runner struct {
	db       *store.DB
	opt      Options
	handlers map[string]Handler
	periodic []periodic

	mu        sync.Mutex
	lastQueue map[string]time.Time // periodic kind -> bucket already queued by this runner
	lastPrune time.Time

	stop     context.CancelCauseFunc // ends the claim loop
	stopJobs context.CancelCauseFunc // ends running jobs (only when Stop's deadline passes)
	loopDone chan struct{}
	inflight sync.WaitGroup
}

type periodic struct {
	kind  string
	every time.Duration
}

// ErrStopped is the cause a stopped runner's contexts carry.
var ErrStopped = errors.New("job runner stopped")

// NewRunner returns a runner over db; register handlers before Start.
func NewRunner(db *store.DB, opt Options) *Runner {
	if opt.Name == "" {
		host, _ := os.Hostname()
		opt.Name = host + ":" + strconv.Itoa(os.Getpid())
	}
	if opt.Poll <= 0 {
		opt.Poll = 5 * time.Second
	}
	if opt.Lease <= 0 {
		opt.Lease = 5 * time.Minute
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 4
	}
	if opt.BaseBackoff <= 0 {
		opt.BaseBackoff = 30 * time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = time.Hour
	}
	if opt.KeepDone <= 0 {
		opt.KeepDone = 7 * 24 * time.Hour
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Runner{db: db, opt: opt, handlers: map[string]Handler{}, lastQueue: map[string]time.Time{}}
}

// Name is the runner's identity in locks and attempt records.
func (r *Runner) Name() string { return r.opt.Name }

// Handle registers the handler of a job kind.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// Every queues a job of kind once per period (aligned to the clock). When
// several runners share a database only one of them queues each period's
// job, because its unique key is the kind and the period's start.
func (r *Runner) Every(kind string, every time.Duration) {
	r.periodic = append(r.periodic, periodic{kind: kind, every: every})
}

// Backoff is the wait after a failed attempt (1-based) before the next.
func (r *Runner) Backoff(attempt int) time.Duration {
	d := r.opt.BaseBackoff
	for i := 1; i < attempt && d < r.opt.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.opt.MaxBackoff)
}

// Start runs the claim loop in the background until Stop or ctx ends.
func (r *Runner) Start(ctx context.Context) {
	loopCtx, stop := context.WithCancelCause(ctx)
	// Running jobs do not end with the loop: Stop lets them finish and only
	// cancels them when its own deadline passes.
	jobCtx, stopJobs := context.WithCancelCause(context.WithoutCancel(ctx))
	r.stop, r.stopJobs, r.loopDone = stop, stopJobs, make(chan struct{})
	go func() {
		defer close(r.loopDone)
		r.loop(loopCtx, jobCtx)
	}()
}

// Stop ends the claim loop and waits for running jobs to finish. When ctx
// ends first, running jobs are cancelled (their leases lapse and another
// runner retries them) and Stop returns ctx's error.
func (r *Runner) Stop(ctx context.Context) error {
	if r.stop == nil {
		return nil
	}
	r.stop(ErrStopped)
	<-r.loopDone
	done := make(chan struct{})
	go func() { r.inflight.Wait(); close(done) }()
	select {
	case <-done:
		r.stopJobs(ErrStopped)
		return nil
	case <-ctx.Done():
		r.stopJobs(fmt.Errorf("%w: shutdown deadline passed", ErrStopped))
		<-done
		return fmt.Errorf("stop job runner: %w", ctx.Err())
	}
}

func (r *Runner) loop(ctx, jobCtx context.Context) {
	sem := make(chan struct{}, r.opt.Concurrency)
	t := time.NewTicker(r.opt.Poll)
	defer t.Stop()
	for {
		if err := r.tick(ctx, jobCtx, sem); err != nil && ctx.Err() == nil {
			r.opt.Log.Error("job runner", "runner", r.opt.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick queues periodic jobs, prunes old ones, and starts as many due jobs
// as there are free slots.
func (r *Runner) tick(ctx, jobCtx context.Context, sem chan struct{}) error {
	if err := r.queuePeriodic(ctx); err != nil {
		return err
	}
	r.prune(ctx)
	free := cap(sem) - len(sem)
	if free == 0 {
		return nil
	}
	claimed, err := r.claim(ctx, free)
	if err != nil {
		return err
	}
	for _, j := range claimed {
		sem <- struct{}{}
		r.inflight.Add(1)
		go func() {
			defer func() { <-sem; r.inflight.Done() }()
			r.run(jobCtx, j)
		}()
	}
	return nil
}

// RunDue does one pass synchronously: queue periodic jobs, claim up to
// limit due jobs, run them and wait. Tests and the CLI use it.
func (r *Runner) RunDue(ctx context.Context, limit int) (int, error) {
	if err := r.queuePeriodic(ctx); err != nil {
		return 0, err
	}
	claimed, err := r.claim(ctx, limit)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.opt.Concurrency)
	for _, j := range claimed {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r.run(ctx, j)
		}()
	}
	wg.Wait()
	return len(claimed), nil
}

func (r *Runner) queuePeriodic(ctx context.Context) error {
	if len(r.periodic) == 0 {
		return nil
	}
	now := r.db.Now()
	var due []periodic
	r.mu.Lock()
	for _, p := range r.periodic {
		if bucket := now.Truncate(p.every); !r.lastQueue[p.kind].Equal(bucket) {
			due = append(due, p)
		}
	}
	r.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	return r.db.InTx(ctx, attest.System(""), func(tx *store.Tx) error {
		for _, p := range due {
			bucket := tx.Now().Truncate(p.every)
			if _, _, err := Enqueue(ctx, tx, New{Kind: p.kind, RunAt: bucket, MaxAttempts: 3,
				UniqueKey: p.kind + "@" + bucket.UTC().Format(time.RFC3339)}); err != nil {
				return err
			}
			r.mu.Lock()
			r.lastQueue[p.kind] = bucket
			r.mu.Unlock()
		}
		return nil
	})
}

// prune deletes finished jobs past KeepDone, at most hourly per runner.
func (r *Runner) prune(ctx context.Context) {
	now := r.db.Now()
	r.mu.Lock()
	if now.Sub(r.lastPrune) < time.Hour {
		r.mu.Unlock()
		return
	}
	r.lastPrune = now
	r.mu.Unlock()
	err := r.db.InTx(ctx, attest.System(""), func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM jobs WHERE status = $1 AND finished_at < $2", StatusDone, now.Add(-r.opt.KeepDone))
		return err
	})
	if err != nil && ctx.Err() == nil {
		r.opt.Log.Warn("prune finished jobs", "err", err)
	}
}

// claim takes up to limit due jobs: queued ones whose time has come, and
// running ones whose lease lapsed (their runner died). On PostgreSQL the
// rows are picked with FOR UPDATE SKIP LOCKED, so two runners claiming at
// once take different jobs; SQLite's IMMEDIATE transaction admits one
// writer at a time, which gives the same guarantee.
func (r *Runner) claim(ctx context.Context, limit int) ([]Job, error) {
	var out []Job
	err := r.db.InTx(ctx, attest.System(""), func(tx *store.Tx) error {
		now := tx.Now()
		pick := `SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND locked_until < $3)
			ORDER BY run_at, id LIMIT $4`
		if tx.Dialect() == store.Postgres {
			pick += " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2,
			attempts = attempts + 1, updated_at = $3 WHERE id IN (`+pick+`)
			RETURNING id, org_id, kind, payload, COALESCE(unique_key, ''), run_at, attempts, max_attempts, last_error, created_at`,
			r.opt.Name, now.Add(r.opt.Lease), now, limit)
		if err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var j Job
			var payload string
			if err := rows.Scan(&j.ID, &j.OrgID, &j.Kind, &payload, &j.UniqueKey, &j.RunAt, &j.Attempts, &j.MaxAttempts,
				&j.LastError, &j.CreatedAt); err != nil {
				return fmt.Errorf("claim jobs: %w", err)
			}
			j.Payload, j.Status = []byte(payload), StatusRunning
			out = append(out, j)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("claim jobs: %w", err)
		}
		rows.Close()
		for _, j := range out {
			// Attempt numbers only grow, so a job retaken after a lapsed
			// lease gets a new row and the abandoned one stays visible.
			if _, err := tx.ExecContext(ctx, `INSERT INTO job_attempts (job_id, org_id, attempt, runner, started_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id, attempt) DO NOTHING`, j.ID, string(j.OrgID), j.Attempts, r.opt.Name, now); err != nil {
				return fmt.Errorf("record attempt of job %s: %w", j.ID, err)
			}
		}
		return nil
	})
	return out, err
}

// run executes one claimed job and records its outcome.
func (r *Runner) run(ctx context.Context, j Job) {
	h, ok := r.handlers[j.Kind]
	var err error
	if !ok {
		err = Permanent(fmt.Errorf("no handler for job kind %q", j.Kind))
	} else {
		// Stop work a little before the lease lapses so that a slow job
		// does not run twice.
		jctx, cancel := context.WithTimeout(ctx, r.opt.Lease*9/10)
		err = safeCall(jctx, h, j)
		cancel()
	}
	if ferr := r.finish(context.WithoutCancel(ctx), j, err); ferr != nil {
		r.opt.Log.Error("record job outcome", "job", j.ID, "kind", j.Kind, "err", ferr)
	}
}

func safeCall(ctx context.Context, h Handler, j Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("job handler panicked: %v", v)
		}
	}()
	return h(ctx, j)
}

// maxErrorText bounds the stored error of an attempt.
const maxErrorText = 2000

func (r *Runner) finish(ctx context.Context, j Job, jobErr error) error {
	return r.db.InTx(ctx, attest.System(j.OrgID), func(tx *store.Tx) error {
		now := tx.Now()
		msg := ""
		if jobErr != nil {
			msg = jobErr.Error()
			if len(msg) > maxErrorText {
				msg = msg[:maxErrorText]
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE job_attempts SET finished_at = $1, error = $2 WHERE job_id = $3 AND attempt = $4",
			now, msg, j.ID, j.Attempts); err != nil {
			return fmt.Errorf("record attempt of job %s: %w", j.ID, err)
		}
		var res sql.Result
		var err error
		switch {
		case jobErr == nil:
			res, err = tx.ExecContext(ctx, `UPDATE jobs SET status = 'done', last_error = '', locked_by = '', locked_until = NULL,
				updated_at = $1, finished_at = $1 WHERE id = $2 AND locked_by = $3 AND attempts = $4`, now, j.ID, r.opt.Name, j.Attempts)
		case IsPermanent(jobErr) || j.Final():
			r.opt.Log.Warn("job failed for good", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "err", msg)
			res, err = tx.ExecContext(ctx, `UPDATE jobs SET status = 'failed', last_error = $1, locked_by = '', locked_until = NULL,
				updated_at = $2, finished_at = $2 WHERE id = $3 AND locked_by = $4 AND attempts = $5`, msg, now, j.ID, r.opt.Name, j.Attempts)
		default:
			next := now.Add(r.Backoff(j.Attempts))
			r.opt.Log.Info("job will be retried", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "next", next, "err", msg)
			res, err = tx.ExecContext(ctx, `UPDATE jobs SET status = 'queued', run_at = $1, last_error = $2, locked_by = '',
				locked_until = NULL, updated_at = $3 WHERE id = $4 AND locked_by = $5 AND attempts = $6`, next, msg, now, j.ID, r.opt.Name, j.Attempts)
		}
		if err != nil {
			return fmt.Errorf("finish job %s: %w", j.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// The lease lapsed and another runner took the job over; its
			// outcome is the one that counts.
			r.opt.Log.Warn("job lease lost before it finished", "job", j.ID, "kind", j.Kind)
		}
		return nil
	})
}
