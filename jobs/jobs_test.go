package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/store"
)

// clock is a settable time for a DB, so backoff can be walked through
// without sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(db *store.DB) *clock {
	c := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	db.SetClock(c.Now)
	return c
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func enqueue(t *testing.T, db *store.DB, n jobs.New) string {
	t.Helper()
	var id string
	err := db.InTx(context.Background(), attest.System(""), func(tx *store.Tx) error {
		var err error
		id, _, err = jobs.Enqueue(context.Background(), tx, n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestUniqueKeyQueuesOnce(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var added []bool
		for range 3 {
			err := db.InTx(ctx, attest.System(""), func(tx *store.Tx) error {
				_, ok, err := jobs.Enqueue(ctx, tx, jobs.New{Kind: "k", UniqueKey: "same"})
				added = append(added, ok)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(added) != "[true false false]" {
			t.Fatalf("added = %v, want only the first", added)
		}
	})
}

func TestRetryWithBackoffRecordsEveryAttempt(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock(db)
		r := jobs.NewRunner(db, jobs.Options{Name: "r1", BaseBackoff: time.Minute, MaxBackoff: 10 * time.Minute})
		var calls int
		r.Handle("flaky", func(ctx context.Context, j jobs.Job) error {
			calls++
			if calls < 3 {
				return fmt.Errorf("server down (call %d)", calls)
			}
			return nil
		})
		id := enqueue(t, db, jobs.New{Kind: "flaky", MaxAttempts: 5})

		run := func() int {
			n, err := r.RunDue(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if run() != 1 {
			t.Fatal("first pass ran nothing")
		}
		j, _ := jobs.Get(ctx, db.Q(), id)
		if j.Status != jobs.StatusQueued || j.LastError != "server down (call 1)" || !j.RunAt.Equal(clk.Now().Add(time.Minute)) {
			t.Fatalf("after first failure: %+v", j)
		}
		if run() != 0 {
			t.Fatal("ran before its backoff elapsed")
		}
		clk.Add(time.Minute)
		run()
		j, _ = jobs.Get(ctx, db.Q(), id)
		if !j.RunAt.Equal(clk.Now().Add(2 * time.Minute)) {
			t.Fatalf("second backoff: run_at %v, want now+2m", j.RunAt)
		}
		clk.Add(2 * time.Minute)
		run()
		j, _ = jobs.Get(ctx, db.Q(), id)
		if j.Status != jobs.StatusDone || j.Attempts != 3 || j.LastError != "" {
			t.Fatalf("after success: %+v", j)
		}
		as, err := jobs.Attempts(ctx, db.Q(), id)
		if err != nil || len(as) != 3 {
			t.Fatalf("attempts %v, %v", as, err)
		}
		if as[0].Error != "server down (call 1)" || as[2].Error != "" || as[2].FinishedAt.IsZero() || as[0].Runner != "r1" {
			t.Fatalf("attempts recorded wrongly: %+v", as)
		}
	})
}

func TestGivesUpAfterMaxAttemptsAndOnPermanent(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock(db)
		r := jobs.NewRunner(db, jobs.Options{BaseBackoff: time.Second})
		r.Handle("down", func(ctx context.Context, j jobs.Job) error { return errors.New("connection refused") })
		r.Handle("bad", func(ctx context.Context, j jobs.Job) error { return jobs.Permanent(errors.New("no such target")) })
		down := enqueue(t, db, jobs.New{Kind: "down", MaxAttempts: 3})
		bad := enqueue(t, db, jobs.New{Kind: "bad"})
		unknown := enqueue(t, db, jobs.New{Kind: "nobody-handles-this"})
		for range 5 {
			if _, err := r.RunDue(ctx, 10); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Hour)
		}
		for id, want := range map[string]int{down: 3, bad: 1, unknown: 1} {
			j, _ := jobs.Get(ctx, db.Q(), id)
			if j.Status != jobs.StatusFailed || j.Attempts != want || j.LastError == "" {
				t.Errorf("%s: %+v, want failed after %d attempts", j.Kind, j, want)
			}
		}
	})
}

// TestLapsedLeaseIsTakenOver: a runner that dies mid-job leaves it
// running; once the lease lapses another runner runs it, and the abandoned
// attempt stays on record.
func TestLapsedLeaseIsTakenOver(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock(db)
		dead := jobs.NewRunner(db, jobs.Options{Name: "dead", Lease: time.Minute})
		started := make(chan struct{})
		dead.Handle("k", func(ctx context.Context, j jobs.Job) error { close(started); <-ctx.Done(); return ctx.Err() })
		id := enqueue(t, db, jobs.New{Kind: "k"})
		// Simulate a crash: claim through a pass whose handler never returns
		// before the lease, by running it in the background and ignoring it.
		go dead.RunDue(ctx, 1)
		<-started
		alive := jobs.NewRunner(db, jobs.Options{Name: "alive", Lease: time.Minute})
		ran := 0
		alive.Handle("k", func(ctx context.Context, j jobs.Job) error { ran++; return nil })
		if n, _ := alive.RunDue(ctx, 1); n != 0 {
			t.Fatal("took over a job whose lease still holds")
		}
		clk.Add(2 * time.Minute)
		if n, err := alive.RunDue(ctx, 1); n != 1 || err != nil {
			t.Fatalf("take over: %d, %v", n, err)
		}
		j, _ := jobs.Get(ctx, db.Q(), id)
		as, _ := jobs.Attempts(ctx, db.Q(), id)
		if ran != 1 || j.Status != jobs.StatusDone || len(as) != 2 || as[0].Runner != "dead" || as[1].Runner != "alive" {
			t.Fatalf("ran %d, job %+v, attempts %+v", ran, j, as)
		}
	})
}

// TestTwoRunnersRunEachJobOnce runs two runners against the same database
// at once; every job runs exactly once.
func TestTwoRunnersRunEachJobOnce(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		const n = 60
		for i := range n {
			enqueue(t, db, jobs.New{Kind: "count", Payload: map[string]int{"i": i}})
		}
		var mu sync.Mutex
		runs := map[string]int{}
		byRunner := map[string]int{}
		handler := func(name string) jobs.Handler {
			return func(ctx context.Context, j jobs.Job) error {
				time.Sleep(2 * time.Millisecond)
				mu.Lock()
				runs[j.ID]++
				byRunner[name]++
				mu.Unlock()
				return nil
			}
		}
		var rs []*jobs.Runner
		for _, name := range []string{"a", "b"} {
			r := jobs.NewRunner(db, jobs.Options{Name: name, Poll: 5 * time.Millisecond, Concurrency: 3})
			r.Handle("count", handler(name))
			r.Start(context.Background())
			rs = append(rs, r)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			done := len(runs)
			mu.Unlock()
			if done == n || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, r := range rs {
			if err := r.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if len(runs) != n {
			t.Fatalf("%d of %d jobs ran", len(runs), n)
		}
		for id, c := range runs {
			if c != 1 {
				t.Errorf("job %s ran %d times", id, c)
			}
		}
		t.Logf("runs per runner: %v", byRunner)
	})
}

// TestStopWaitsForRunningJobs: Stop ends claiming at once but lets a job
// that is running finish and record its outcome.
func TestStopWaitsForRunningJobs(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := jobs.NewRunner(db, jobs.Options{Poll: 5 * time.Millisecond})
		started, release := make(chan struct{}), make(chan struct{})
		var finished atomic.Bool
		r.Handle("slow", func(ctx context.Context, j jobs.Job) error {
			close(started)
			<-release
			finished.Store(true)
			return nil
		})
		id := enqueue(t, db, jobs.New{Kind: "slow"})
		r.Start(ctx)
		<-started
		stopped := make(chan error)
		go func() { stopped <- r.Stop(ctx) }()
		select {
		case <-stopped:
			t.Fatal("Stop returned while a job was running")
		case <-time.After(50 * time.Millisecond):
		}
		close(release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		j, _ := jobs.Get(ctx, db.Q(), id)
		if !finished.Load() || j.Status != jobs.StatusDone {
			t.Fatalf("job after stop: %+v", j)
		}
	})
}

// TestStopDeadlineCancelsJobs: a job that outlives Stop's deadline is
// cancelled with a cause and left to be retried.
func TestStopDeadlineCancelsJobs(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		r := jobs.NewRunner(db, jobs.Options{Poll: 5 * time.Millisecond})
		started := make(chan struct{})
		var cause atomic.Value
		r.Handle("stuck", func(ctx context.Context, j jobs.Job) error {
			close(started)
			<-ctx.Done()
			cause.Store(context.Cause(ctx))
			return ctx.Err()
		})
		id := enqueue(t, db, jobs.New{Kind: "stuck"})
		r.Start(context.Background())
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if err := r.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Stop = %v, want deadline exceeded", err)
		}
		if c, _ := cause.Load().(error); !errors.Is(c, jobs.ErrStopped) {
			t.Fatalf("job context cause = %v", c)
		}
		j, _ := jobs.Get(context.Background(), db.Q(), id)
		if j.Status != jobs.StatusQueued || j.LastError == "" {
			t.Fatalf("job after forced stop: %+v, want queued for a retry", j)
		}
	})
}

func TestPeriodicQueuedOncePerPeriodAcrossRunners(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := newClock(db)
		var runs atomic.Int32
		var rs []*jobs.Runner
		for _, name := range []string{"a", "b"} {
			r := jobs.NewRunner(db, jobs.Options{Name: name})
			r.Every("sweep", time.Minute)
			r.Handle("sweep", func(ctx context.Context, j jobs.Job) error { runs.Add(1); return nil })
			rs = append(rs, r)
		}
		for range 4 { // 09:00:00, :20, :40, 09:01:00: two minute buckets
			for _, r := range rs {
				if _, err := r.RunDue(ctx, 10); err != nil {
					t.Fatal(err)
				}
			}
			clk.Add(20 * time.Second)
		}
		if got := runs.Load(); got != 2 {
			t.Fatalf("sweep ran %d times over two periods with two runners, want 2", got)
		}
	})
}
