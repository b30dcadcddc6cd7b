package detect

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/ingest"
	"github.com/attest-hq/attest/detect/sigma"
)

// batch is a slice of records moving through Run's pipeline: framed by the
// reader, parsed and matched by a worker, applied in order by the engine.
type batch struct {
	seq     int
	data    []byte
	ends    []int // record i is data[ends[i-1]:ends[i]]
	lines   []int
	events  []event.Event
	ok      []bool
	matches [][]*sigma.Rule
	bad     []ingest.Malformed
}

const (
	batchRecords = 256
	batchBytes   = 1 << 20
)

// Run reads every event of r through e. Parsing and rule matching, the
// costly and stateless part, run on several goroutines; the engine sees
// events in input order, so results equal a sequential run. Memory is
// bounded by a fixed number of batches in flight.
func Run(ctx context.Context, r *ingest.Reader, e *Engine) error {
	workers := runtime.GOMAXPROCS(0)
	if workers < 1 {
		workers = 1
	}
	inflight := workers * 3
	free := make(chan *batch, inflight)
	for i := 0; i < inflight; i++ {
		free <- &batch{}
	}
	work := make(chan *batch, inflight)
	done := make(chan *batch, inflight)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := e.NewMatcher()
			for b := range work {
				parseBatch(r, m, b)
				select {
				case done <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	// The reader: frames records into batches.
	readErr := make(chan error, 1)
	go func() {
		defer close(work)
		seq := 0
		var b *batch
		for {
			rec, line, ok := r.NextRecord()
			if b == nil && ok {
				select {
				case b = <-free:
				case <-ctx.Done():
					readErr <- ctx.Err()
					return
				}
				b.seq, b.data, b.ends, b.lines = seq, b.data[:0], b.ends[:0], b.lines[:0]
				seq++
			}
			if ok {
				b.data = append(b.data, rec...)
				b.ends = append(b.ends, len(b.data))
				b.lines = append(b.lines, line)
			}
			if b != nil && (!ok || len(b.ends) >= batchRecords || len(b.data) >= batchBytes) {
				select {
				case work <- b:
				case <-ctx.Done():
					readErr <- ctx.Err()
					return
				}
				b = nil
			}
			if !ok {
				readErr <- nil
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(done)
	}()

	// Apply in order.
	pending := map[int]*batch{}
	next := 0
	var applyErr error
	for b := range done {
		pending[b.seq] = b
		for {
			nb := pending[next]
			if nb == nil {
				break
			}
			delete(pending, next)
			next++
			if applyErr == nil {
				applyErr = applyBatch(ctx, r, e, nb)
				if applyErr != nil {
					cancel()
				}
			}
			free <- nb
		}
	}
	if err := <-readErr; err != nil && applyErr == nil && ctx.Err() == nil {
		return err
	}
	return applyErr
}

func parseBatch(r *ingest.Reader, m *sigma.Matcher, b *batch) {
	n := len(b.ends)
	for len(b.events) < n {
		b.events = append(b.events, event.Event{})
	}
	b.ok = append(b.ok[:0], make([]bool, n)...)
	b.bad = b.bad[:0]
	for len(b.matches) < n {
		b.matches = append(b.matches, nil)
	}
	start := 0
	for i, end := range b.ends {
		ev := &b.events[i]
		ev.Reset()
		rec := b.data[start:end]
		start = end
		if err := r.Parse(rec, ev); err != nil {
			b.bad = append(b.bad, ingest.Malformed{Line: b.lines[i], Reason: err.Error()})
			continue
		}
		b.ok[i] = true
		b.matches[i] = append(b.matches[i][:0], m.Match(ev)...)
	}
}

func applyBatch(ctx context.Context, r *ingest.Reader, e *Engine, b *batch) error {
	good := int64(0)
	for i := range b.ends {
		if !b.ok[i] {
			continue
		}
		good++
		if err := e.Apply(ctx, &b.events[i], b.matches[i]); err != nil {
			return err
		}
	}
	r.CountParsed(good, b.bad)
	return ctx.Err()
}

// Summary is what a run reports at the end.
type Summary struct {
	Events    int64 `json:"events"`
	Malformed int64 `json:"malformed"`
	Alerts    int64 `json:"alerts"`
	// ClockSkewed counts events dated too far ahead to believe (Stats).
	ClockSkewed int64         `json:"clock_skewed"`
	Elapsed     time.Duration `json:"elapsed"`
}

// EventsPerSecond is the throughput of the run.
func (s Summary) EventsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Events) / s.Elapsed.Seconds()
}
