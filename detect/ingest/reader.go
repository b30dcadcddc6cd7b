// Package ingest turns log files into normalized events. It reads AWS
// CloudTrail (delivery files, gzip or not, and JSON lines), the GitHub
// organization audit log, the Okta System Log, Google Workspace activity
// reports, the Kubernetes audit log, Linux auth.log/secure and auditd.
//
// A Reader never stops at a bad record: it counts it, keeps a few samples
// with their line numbers and goes on. Only a failing io.Reader (or a
// truncated gzip stream) ends it early, and that is reported by Err after the
// records read so far.
package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/attest-hq/attest/detect/event"
)

// ErrUnknownFormat is returned by NewReader when sniffing cannot tell the
// format of the content.
var ErrUnknownFormat = errors.New("cannot tell the log format from the content; pass --format")

var (
	errNotSyslog = errors.New("not a syslog line")
	errNotAuditd = errors.New("not an auditd record")
)

// Formats lists the --format words, "auto" first.
var Formats = []string{"auto", "cloudtrail", "github", "okta", "gworkspace", "k8s", "authlog", "auditd"}

// ParseFormat returns the source named by a --format word; "auto" (or "")
// is event.SourceUnknown, which makes NewReader sniff.
func ParseFormat(name string) (event.Source, error) {
	if name == "" || name == "auto" {
		return event.SourceUnknown, nil
	}
	if s, ok := event.ParseSource(name); ok {
		return s, nil
	}
	return event.SourceUnknown, fmt.Errorf("unknown format %q (want one of %v)", name, Formats)
}

// Options tune a Reader. The zero value is usable.
type Options struct {
	// Format is the log format; SourceUnknown sniffs it from the content.
	Format event.Source
	// MaxRecord is the largest record (line or JSON object) kept; larger ones
	// are counted as malformed. Default 16 MiB.
	MaxRecord int
	// Now anchors syslog timestamps, which carry no year. Default time.Now.
	Now time.Time
	// MaxSamples is how many malformed records are kept with their reason.
	// Default 20.
	MaxSamples int
}

// Malformed describes one skipped record.
type Malformed struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Stats counts what a Reader did.
type Stats struct {
	Events    int64
	Malformed int64
	Samples   []Malformed
}

// Reader yields the events of one stream.
type Reader struct {
	mu     sync.Mutex // stats: the framer and Run's applier both count
	fr     *framer
	format event.Source
	now    time.Time
	stats  Stats
	max    int
	closer io.Closer
}

// NewReader prepares to read r. It reads ahead to detect gzip and, when
// opts.Format is SourceUnknown, the log format; an error means neither
// could be determined (empty input is not an error: it has no events).
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	if opts.MaxRecord <= 0 {
		opts.MaxRecord = 16 << 20
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = 20
	}
	rd := &Reader{format: opts.Format, now: opts.Now.UTC(), max: opts.MaxSamples}
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open gzip: %w", err)
		}
		rd.closer = zr
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		if !errors.Is(err, io.ErrUnexpectedEOF) || len(head) == 0 {
			return nil, fmt.Errorf("read: %w", err)
		}
	}
	if rd.format == event.SourceUnknown && len(bytes.TrimSpace(head)) > 0 {
		rd.format = Sniff(head)
		if rd.format == event.SourceUnknown {
			return nil, ErrUnknownFormat
		}
	}
	rd.fr = newFramer(br, opts.MaxRecord, rd.malformed)
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	rd.fr.json = len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && !lineDelimited(trimmed)
	return rd, nil
}

func (r *Reader) malformed(line int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.malformedLocked(line, reason)
}

func (r *Reader) malformedLocked(line int, reason string) {
	r.stats.Malformed++
	if len(r.stats.Samples) < r.max {
		r.stats.Samples = append(r.stats.Samples, Malformed{Line: line, Reason: reason})
	}
}

// Format is the format being read (after sniffing).
func (r *Reader) Format() event.Source { return r.format }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Samples = append([]Malformed(nil), s.Samples...)
	return s
}

// Err is the read error that ended the stream early, if any.
func (r *Reader) Err() error { return r.fr.err }

// Close releases the gzip reader, if any; it does not close the underlying
// io.Reader.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// NextRecord returns the next raw record and its line number. The slice is
// valid until the next call. Callers that parse on other goroutines copy it
// and call Parse.
func (r *Reader) NextRecord() ([]byte, int, bool) {
	if r.fr.json {
		rec, ok := r.fr.nextJSON()
		return rec, r.fr.line + 1, ok
	}
	rec, ok := r.fr.nextLine()
	return rec, r.fr.line, ok
}

// Next parses the next good record into ev (which it resets) and reports
// false at the end of the stream. Bad records are counted, not returned.
func (r *Reader) Next(ev *event.Event) bool {
	for {
		rec, line, ok := r.NextRecord()
		if !ok {
			return false
		}
		ev.Reset()
		if err := r.Parse(rec, ev); err != nil {
			r.malformed(line, err.Error())
			continue
		}
		r.mu.Lock()
		r.stats.Events++
		r.mu.Unlock()
		return true
	}
}

// Parse normalizes one record of the reader's format into ev (not reset).
// Safe for concurrent use with distinct events.
func (r *Reader) Parse(rec []byte, ev *event.Event) error {
	return Parse(r.format, rec, ev, r.now)
}

// CountParsed lets a caller that parses with Parse keep Stats right.
func (r *Reader) CountParsed(events int64, bad []Malformed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Events += events
	for _, m := range bad {
		r.malformedLocked(m.Line, m.Reason)
	}
}

// Parse normalizes one record of format f into ev. now anchors syslog dates.
func Parse(f event.Source, rec []byte, ev *event.Event, now time.Time) error {
	switch f {
	case event.SourceCloudTrail:
		return parseCloudTrail(rec, ev)
	case event.SourceGitHub:
		return parseGitHub(rec, ev)
	case event.SourceOkta:
		return parseOkta(rec, ev)
	case event.SourceGWorkspace:
		return parseGWorkspace(rec, ev)
	case event.SourceK8s:
		return parseK8s(rec, ev)
	case event.SourceAuthLog:
		return parseAuthLog(rec, ev, now)
	case event.SourceAuditd:
		return parseAuditd(rec, ev)
	}
	return fmt.Errorf("no parser for format %s", f)
}

// lineDelimited reports whether JSON input is one record per line (JSON
// lines): then a bad line costs only itself, where document framing could
// lose its place. The first line must be one whole object that is not a
// wrapper of records.
func lineDelimited(head []byte) bool {
	nl := bytes.IndexByte(head, '\n')
	if nl < 0 || head[0] != '{' {
		return false
	}
	line := bytes.TrimRight(head[:nl], " \t\r")
	if valueEnd(line, 0) != len(line) {
		return false
	}
	_, wrapper := recordArrayStart(line)
	return !wrapper
}

// Sniff guesses the format from the first bytes of a (decompressed) stream.
func Sniff(head []byte) event.Source {
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 {
		return event.SourceUnknown
	}
	has := func(s string) bool { return bytes.Contains(t, []byte(s)) }
	if t[0] == '{' || t[0] == '[' {
		switch {
		case has(`"eventVersion"`) || (has(`"eventSource"`) && has(`"eventName"`)):
			return event.SourceCloudTrail
		case has(`"auditID"`) || has(`audit.k8s.io/`):
			return event.SourceK8s
		case has(`"eventType"`) && has(`"published"`):
			return event.SourceOkta
		case has(`"applicationName"`) || has(`admin#reports#activit`):
			return event.SourceGWorkspace
		case has(`"action"`) && has(`"actor"`):
			return event.SourceGitHub
		}
		return event.SourceUnknown
	}
	if has("msg=audit(") {
		return event.SourceAuditd
	}
	line := t
	if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
		line = line[:nl]
	}
	var ev event.Event
	if parseAuthLog(line, &ev, time.Now()) == nil {
		return event.SourceAuthLog
	}
	return event.SourceUnknown
}
