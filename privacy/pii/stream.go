package pii

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Streaming: text is read in chunks into one buffer that keeps some bytes
// before the chunk (for look-behind and context words) and some after (for
// matches that start near its end). A trigger belongs to exactly one chunk,
// so nothing is reported twice, and memory stays at one buffer whatever the
// size of the file or of its longest line.

const (
	keepBehind   = 256 // >= maxLookbehind
	keepAhead    = 512 // >= maxLookahead + 3 (a chunk end moves to a character start)
	defaultChunk = 1 << 20
)

func init() {
	if keepBehind < maxLookbehind || keepAhead < maxLookahead+3 {
		panic("pii: stream overlap smaller than the detector's reach")
	}
}

// structure tracks where in a CSV or JSON document the scan is, to give the
// column or key name as context.
type structure interface {
	// feed consumes the next bytes of the stream, each byte exactly once.
	feed(b []byte)
	// hint is the context at the position reached.
	hint() ctxInfo
}

// located is a match with its place in the stream and its redacted form.
type located struct {
	typ       Type
	line, col int64
	conf      float64
	redacted  string
}

// lineTracker turns byte offsets into 1-based line and character columns.
type lineTracker struct {
	cursor    int64 // absolute offset counted up to
	line      int64 // line of cursor
	runes     int64 // characters from the line start to cursor
	lineStart int64
}

// advance counts buf[cursor-base : to]; to must be at a character boundary.
func (t *lineTracker) advance(buf []byte, base int64, to int) {
	from := int(t.cursor - base)
	if to <= from {
		return
	}
	seg := buf[from:to]
	if k := bytes.LastIndexByte(seg, '\n'); k >= 0 {
		t.line += int64(bytes.Count(seg[:k+1], []byte{'\n'}))
		t.lineStart = base + int64(from+k+1)
		t.runes = int64(utf8.RuneCount(seg[k+1:]))
	} else {
		t.runes += int64(utf8.RuneCount(seg))
	}
	t.cursor = base + int64(to)
}

// at returns line and column of buf[p], which is at or after the cursor, or
// before it on the same line (a look-behind never crosses a newline).
func (t *lineTracker) at(buf []byte, base int64, p int) (int64, int64) {
	cur := int(t.cursor - base)
	if p >= cur {
		t.advance(buf, base, p)
		return t.line, t.runes + 1
	}
	return t.line, t.runes - int64(utf8.RuneCount(buf[p:cur])) + 1
}

// nextRuneStart moves p forward past UTF-8 continuation bytes (at most
// three), so a chunk never ends inside a character. Moving forward keeps
// every chunk at least one byte long.
func nextRuneStart(buf []byte, p int) int {
	for k := 0; k < 3 && p < len(buf) && buf[p]&0xC0 == 0x80; k++ {
		p++
	}
	return p
}

var errNoProgress = errors.New("reader returned no data and no error")

// scanStream scans r to its end. It returns the bytes read; an error means
// the stream broke, and what was found before stays reported.
func (d *detector) scanStream(ctx context.Context, r io.Reader, st structure, chunk int, emit func(located)) (int64, error) {
	if chunk <= 0 {
		chunk = defaultChunk
	}
	buf := make([]byte, keepBehind+chunk+keepAhead)
	st0 := new(scanState)
	var (
		n, from, lo int
		base, skip  int64
		total       int64
		eof         bool
		lines       = lineTracker{line: 1}
		stCursor    int64 // absolute offset the structure has been fed to
	)
	feedTo := func(p int) {
		if st == nil {
			return
		}
		if from := int(stCursor - base); p > from {
			st.feed(buf[from:p])
			stCursor = base + int64(p)
		}
	}
	var hint hintFunc
	if st != nil {
		hint = func(p int) ctxInfo {
			feedTo(p)
			return st.hint()
		}
	}
	emitMatch := func(m match) {
		line, col := lines.at(buf, base, m.start)
		emit(located{m.typ, line, col, m.conf, redact(m.typ, buf[m.start:m.end])})
	}
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		empty := 0
		for n < len(buf) && !eof {
			k, err := r.Read(buf[n:])
			n += k
			total += int64(k)
			switch {
			case err == io.EOF:
				eof = true
			case err != nil:
				// Scan what arrived, then report the break.
				next, _ := d.scanWith(st0, buf[:n], max(from, int(skip-base)), n, lo, hint, emitMatch)
				_ = next
				return total, err
			case k == 0:
				if empty++; empty > 100 {
					return total, errNoProgress
				}
			}
		}
		to := n
		if !eof {
			to = nextRuneStart(buf, n-keepAhead)
		}
		start := max(from, int(skip-base))
		next, floor := d.scanWith(st0, buf[:n], start, to, lo, hint, emitMatch)
		skip = base + int64(next)
		if eof {
			return total, nil
		}
		lines.advance(buf, base, to)
		feedTo(to)
		keep := to - keepBehind
		copy(buf, buf[keep:n])
		n -= keep
		base += int64(keep)
		from = keepBehind
		lo = max(floor-keep, 0)
	}
}

// scanBytes scans one whole value (a database cell) with a fixed context.
func (d *detector) scanBytes(b []byte, ctx ctxInfo, emit func(match, string)) {
	var hint hintFunc
	if ctx.pos != 0 || ctx.neg {
		hint = func(int) ctxInfo { return ctx }
	}
	d.scan(b, 0, len(b), 0, hint, func(m match) {
		emit(m, redact(m.typ, b[m.start:m.end]))
	})
}

// csvTracker follows a CSV/TSV stream to know the column of each byte; the
// first record's fields are the column names.
type csvTracker struct {
	delim        byte
	inQuote      bool
	atFieldStart bool
	field        int
	record       int64
	name         []byte
	header       []ctxInfo
}

const (
	maxHeaderName    = 64
	maxHeaderColumns = 4096
)

func newCSVTracker(delim byte) *csvTracker {
	return &csvTracker{delim: delim, atFieldStart: true}
}

func (c *csvTracker) feed(b []byte) {
	for len(b) > 0 {
		if c.record > 0 && !c.inQuote {
			// Fast path past the header: only structure bytes matter.
			k := indexCSV(b, c.delim)
			if k < 0 {
				c.atFieldStart = false
				return
			}
			if k > 0 {
				c.atFieldStart = false
			}
			b = b[k:]
		}
		ch := b[0]
		b = b[1:]
		if c.inQuote {
			if ch == '"' {
				c.inQuote = false
			} else if c.record == 0 {
				c.collect(ch)
			}
			continue
		}
		switch ch {
		case '"':
			if c.atFieldStart {
				c.inQuote = true
			} else if c.record == 0 {
				c.collect(ch)
			}
			c.atFieldStart = false
		case c.delim:
			c.endField()
		case '\n':
			c.endField()
			c.record++
			c.field = 0
		case '\r':
		default:
			if c.record == 0 {
				c.collect(ch)
			}
			c.atFieldStart = false
		}
	}
}

// indexCSV finds the next byte that changes CSV state.
func indexCSV(b []byte, delim byte) int {
	for i, ch := range b {
		if ch == delim || ch == '\n' || ch == '"' {
			return i
		}
	}
	return -1
}

func (c *csvTracker) collect(ch byte) {
	if len(c.name) < maxHeaderName {
		c.name = append(c.name, ch)
	}
}

func (c *csvTracker) endField() {
	if c.record == 0 && len(c.header) < maxHeaderColumns {
		c.header = append(c.header, nameContext(string(c.name)))
		c.name = c.name[:0]
	}
	c.field++
	c.atFieldStart = true
}

func (c *csvTracker) hint() ctxInfo {
	if c.record == 0 || c.field >= len(c.header) {
		return ctxInfo{}
	}
	return c.header[c.field]
}

// jsonTracker follows a JSON or JSON Lines stream to know the most recent
// object key, which names the values after it.
type jsonTracker struct {
	inStr, esc bool
	closed     bool // a string just ended; a ':' makes it a key
	cur        []byte
	key        ctxInfo
	cache      map[string]ctxInfo
}

func newJSONTracker() *jsonTracker { return &jsonTracker{cache: map[string]ctxInfo{}} }

func (j *jsonTracker) feed(b []byte) {
	for _, ch := range b {
		if j.inStr {
			switch {
			case j.esc:
				j.esc = false
			case ch == '\\':
				j.esc = true
			case ch == '"':
				j.inStr = false
				j.closed = true
			default:
				if len(j.cur) < maxHeaderName {
					j.cur = append(j.cur, ch)
				}
			}
			continue
		}
		switch ch {
		case '"':
			j.inStr = true
			j.closed = false
			j.cur = j.cur[:0]
		case ':':
			if j.closed {
				j.key = j.keyContext(j.cur)
				j.closed = false
			}
		case ' ', '\t', '\n', '\r':
		default:
			j.closed = false
		}
	}
}

func (j *jsonTracker) keyContext(name []byte) ctxInfo {
	if c, ok := j.cache[string(name)]; ok {
		return c
	}
	c := nameContext(string(name))
	if len(j.cache) < 4096 {
		j.cache[string(name)] = c
	}
	return c
}

func (j *jsonTracker) hint() ctxInfo { return j.key }

// errString describes a stream error without any of the stream's content.
func errString(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of data (truncated)"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return fmt.Sprint(err)
}
