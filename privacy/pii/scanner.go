package pii

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config controls a scan. Zero fields take the defaults noted.
type Config struct {
	Types         []Type  // types to report; empty means all
	MinConfidence float64 // findings below are dropped; 0 means 0.5
	Workers       int     // files scanned at once; 0 means GOMAXPROCS
	ChunkSize     int     // bytes read per step; 0 means 1 MiB

	// Databases.
	Rows    int      // rows read per table (every text-like column of each); 0 means 1000
	Full    bool     // read every row
	Schemas []string // PostgreSQL schemas to scan; empty means all but the system ones

	// Archives (zip, gzip, tar, office files).
	MaxDepth        int   // nesting of archives; 0 means 4
	MaxExpanded     int64 // bytes one top-level file may expand to; 0 means 8 GiB
	MaxRatio        int64 // expanded/compressed ratio per entry; 0 means 200
	MaxInMemory     int64 // a nested zip or office file is read into memory up to this; 0 means 256 MiB
	MaxCellBytes    int   // bytes of one database value scanned; 0 means 1 MiB
	Stdin           io.Reader
	Now             time.Time // for plausible birth years; zero means time.Now()
	OnFinding       func(Finding)
	OnSkip          func(Skip) // a file, entry, table or target not (fully) scanned
	OnProgressBytes func(int64)
}

// Skip says what was not scanned, or not to the end, and why. Reason never
// contains scanned content.
type Skip struct {
	Where  string
	Reason string
}

// Summary is what a scan covered and found.
type Summary struct {
	Files        int64 // text streams scanned (inner archive entries included)
	Bytes        int64 // bytes of text scanned
	Tables       int64
	Rows         int64
	Binary       int64 // files skipped as binary
	NotScanned   int64 // files, entries, tables or targets reported through OnSkip
	Findings     int64
	ByType       map[Type]int64
	ByFile       map[string]map[Type]int64 // path -> type -> count
	ByColumn     map[string]map[Type]int64 // "table.column" -> type -> count
	Elapsed      time.Duration
	TargetErrors int // targets that could not be opened at all
}

// MBPerSecond is the text throughput of the scan.
func (s *Summary) MBPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Bytes) / 1e6 / s.Elapsed.Seconds()
}

// Scanner runs scans. Its callbacks are called one at a time.
type Scanner struct {
	cfg Config
	det detector

	mu      sync.Mutex // serialises callbacks and the summary maps
	sum     Summary
	files   atomic.Int64
	bytes   atomic.Int64
	rows    atomic.Int64
	tables  atomic.Int64
	binary  atomic.Int64
	skipped atomic.Int64
	found   atomic.Int64
}

// New checks cfg and returns a scanner.
func New(cfg Config) (*Scanner, error) {
	if cfg.MinConfidence == 0 {
		cfg.MinConfidence = 0.5
	}
	if cfg.MinConfidence < 0 || cfg.MinConfidence > 1 {
		return nil, fmt.Errorf("min confidence %v is not in 0..1", cfg.MinConfidence)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = defaultChunk
	}
	if cfg.Rows < 0 {
		return nil, fmt.Errorf("rows %d is negative", cfg.Rows)
	}
	if cfg.Rows == 0 {
		cfg.Rows = 1000
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 4
	}
	if cfg.MaxExpanded <= 0 {
		cfg.MaxExpanded = 8 << 30
	}
	if cfg.MaxRatio <= 0 {
		cfg.MaxRatio = 200
	}
	if cfg.MaxInMemory <= 0 {
		cfg.MaxInMemory = 256 << 20
	}
	if cfg.MaxCellBytes <= 0 {
		cfg.MaxCellBytes = 1 << 20
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	types := cfg.Types
	if len(types) == 0 {
		types = AllTypes
	}
	s := &Scanner{cfg: cfg, det: detector{types: setOf(types), minConf: cfg.MinConfidence, maxYear: cfg.Now.Year()}}
	s.sum.ByType = map[Type]int64{}
	s.sum.ByFile = map[string]map[Type]int64{}
	s.sum.ByColumn = map[string]map[Type]int64{}
	return s, nil
}

// Progress returns files, bytes and findings so far; safe to call at any time.
func (s *Scanner) Progress() (files, bytes, findings int64) {
	return s.files.Load(), s.bytes.Load(), s.found.Load()
}

func (s *Scanner) report(f Finding) {
	s.found.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sum.ByType[f.Type]++
	key, m := f.Path, s.sum.ByFile
	if f.IsDatabase() {
		key, m = f.Table+"."+f.Column, s.sum.ByColumn
	}
	if m[key] == nil {
		m[key] = map[Type]int64{}
	}
	m[key][f.Type]++
	if s.cfg.OnFinding != nil {
		s.cfg.OnFinding(f)
	}
}

// findingBatch collects the findings of one file and reports them a batch
// at a time: a log can hold a finding every line, and taking the lock and
// the summary maps once per finding made the workers wait on each other.
type findingBatch struct {
	s     *Scanner
	items []Finding
}

const findingBatchSize = 256

// numTypes is len(AllTypes), the bits of a typeSet in use.
const numTypes = 12

func (b *findingBatch) add(f Finding) {
	if b.items == nil {
		b.items = make([]Finding, 0, findingBatchSize)
	}
	b.items = append(b.items, f)
	if len(b.items) == findingBatchSize {
		b.flush()
	}
}

// flush reports the findings collected, in order, under one lock.
func (b *findingBatch) flush() {
	if len(b.items) == 0 {
		return
	}
	s := b.s
	s.found.Add(int64(len(b.items)))
	s.mu.Lock()
	defer s.mu.Unlock()
	// Counts per type are kept in an array while the path stays the same
	// and added to the summary maps once (two map updates per finding were
	// a visible share of a scan full of findings).
	var last string
	var counts map[Type]int64
	var n [numTypes]int64
	apply := func() {
		for k, c := range n {
			if c != 0 {
				s.sum.ByType[AllTypes[k]] += c
				counts[AllTypes[k]] += c
			}
		}
		n = [numTypes]int64{}
	}
	for _, f := range b.items {
		if counts == nil || f.Path != last {
			apply()
			last = f.Path
			if counts = s.sum.ByFile[last]; counts == nil {
				counts = map[Type]int64{}
				s.sum.ByFile[last] = counts
			}
		}
		if bit := f.Type.bit(); bit != 0 {
			n[bits.TrailingZeros16(uint16(bit))]++
		} else {
			s.sum.ByType[f.Type]++
			counts[f.Type]++
		}
		if s.cfg.OnFinding != nil {
			s.cfg.OnFinding(f)
		}
	}
	apply()
	clear(b.items) // drop the strings
	b.items = b.items[:0]
}

func (s *Scanner) skip(where, reason string) {
	s.skipped.Add(1)
	if s.cfg.OnSkip != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.cfg.OnSkip(Skip{where, reason})
	}
}

// IsDatabaseTarget reports whether a target names a database.
func IsDatabaseTarget(t string) bool {
	return strings.HasPrefix(t, "postgres://") || strings.HasPrefix(t, "postgresql://") || strings.HasPrefix(t, "sqlite:")
}

// job is one file (or stdin) for a worker.
type job struct {
	path  string
	stdin bool
}

// Scan scans the targets: files, directories (recursively, following
// symbolic links once), "-" for stdin, postgres://... and sqlite:PATH. A
// target or file that cannot be read is reported through OnSkip and the scan
// goes on; the error is only for a cancelled context.
func (s *Scanner) Scan(ctx context.Context, targets []string) (*Summary, error) {
	start := time.Now()
	jobs := make(chan job, 256)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if j.stdin {
					s.scanStdin(ctx)
				} else {
					s.scanFile(ctx, j.path)
				}
			}
		}()
	}
	var failed atomic.Int64
	var dbs []string
	w := walker{s: s, seen: map[fileKey]bool{}}
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		switch {
		case IsDatabaseTarget(t):
			dbs = append(dbs, t)
		case t == "-":
			jobs <- job{stdin: true}
		default:
			if !w.target(ctx, t, jobs) {
				failed.Add(1)
			}
		}
	}
	close(jobs)
	for _, t := range dbs {
		if ctx.Err() != nil {
			break
		}
		if err := s.scanDatabase(ctx, t); err != nil {
			s.skip(redactURL(t), err.Error())
			failed.Add(1)
		}
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := s.sum
	sum.Files, sum.Bytes, sum.Rows, sum.Tables = s.files.Load(), s.bytes.Load(), s.rows.Load(), s.tables.Load()
	sum.Binary, sum.NotScanned, sum.Findings = s.binary.Load(), s.skipped.Load(), s.found.Load()
	sum.Elapsed = time.Since(start)
	sum.TargetErrors = int(failed.Load())
	return &sum, ctx.Err()
}

// walker lists files under the targets, each file once (by device and
// inode), following symbolic links to directories without looping.
type walker struct {
	s    *Scanner
	seen map[fileKey]bool
}

// target queues a file or directory target; false when it cannot be read.
func (w *walker) target(ctx context.Context, path string, jobs chan<- job) bool {
	info, err := os.Stat(path)
	if err != nil {
		w.s.skip(path, describeFSError(err))
		return false
	}
	if info.IsDir() {
		if k, ok := keyOf(info); ok {
			w.seen[k] = true
		}
		w.dir(ctx, path, jobs)
		return true
	}
	w.file(path, info, jobs)
	return true
}

func (w *walker) file(path string, info os.FileInfo, jobs chan<- job) {
	if !info.Mode().IsRegular() {
		w.s.skip(path, "not a regular file")
		return
	}
	if k, ok := keyOf(info); ok {
		if w.seen[k] {
			return
		}
		w.seen[k] = true
	}
	jobs <- job{path: path}
}

func (w *walker) dir(ctx context.Context, dir string, jobs chan<- job) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.s.skip(dir, describeFSError(err))
		return
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		p := filepath.Join(dir, name)
		info, err := os.Stat(p) // follows symbolic links
		if err != nil {
			w.s.skip(p, describeFSError(err))
			continue
		}
		if info.IsDir() {
			k, ok := keyOf(info)
			if ok && w.seen[k] {
				continue // a link back up the tree, or a second way in
			}
			if ok {
				w.seen[k] = true
			}
			w.dir(ctx, p, jobs)
			continue
		}
		w.file(p, info, jobs)
	}
}

// describeFSError says why a path could not be read, without the path
// twice (the caller prints it).
func describeFSError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "does not exist (or is a broken link)"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}
