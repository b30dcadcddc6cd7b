package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// framer cuts a byte stream into records: lines for text logs, JSON values
// for JSON logs. JSON mode understands a top-level array of records, the
// CloudTrail delivery file ({"Records": [...]}), API list responses
// ({"items": [...]}) and concatenated or line-delimited values, all without
// holding more than one record in memory.
type framer struct {
	r   io.Reader
	buf []byte
	pos int // next unread byte
	end int // end of valid data
	eof bool
	err error // read error, reported once the buffer is drained

	maxRecord int
	json      bool
	// state of JSON mode
	inArray   bool // inside the array whose elements are records
	inWrapper bool // inside the wrapper object holding that array
	line      int  // 1-based line of the current record (line mode and NDJSON)
	lineAt    int  // buffer offset up to which newlines were counted

	// malformed is called for every record that is skipped.
	malformed func(line int, reason string)
}

const readChunk = 256 << 10

func newFramer(r io.Reader, maxRecord int, malformed func(int, string)) *framer {
	return &framer{r: r, buf: make([]byte, 0, readChunk*2), maxRecord: maxRecord, malformed: malformed}
}

// fill reads more data, keeping buf[keep:end]. It returns false at the end
// of input. Offsets held by the caller are shifted by the returned delta.
func (f *framer) fill(keep int) (delta int, ok bool) {
	if f.eof {
		return 0, false
	}
	if keep > 0 {
		n := copy(f.buf[:cap(f.buf)], f.buf[keep:f.end])
		f.buf = f.buf[:n]
		f.pos -= keep
		f.lineAt -= keep
		if f.lineAt < 0 {
			f.lineAt = 0
		}
		f.end = n
		delta = keep
	}
	if cap(f.buf)-f.end < readChunk {
		nb := make([]byte, f.end, 2*cap(f.buf)+readChunk)
		copy(nb, f.buf[:f.end])
		f.buf = nb
	}
	n, err := io.ReadAtLeast(f.r, f.buf[f.end:cap(f.buf)], 1)
	f.end += n
	f.buf = f.buf[:f.end]
	if err != nil {
		f.eof = true
		switch {
		case errors.Is(err, io.EOF):
		case errors.Is(err, io.ErrUnexpectedEOF):
			// gzip reports a truncated member this way.
			f.err = fmt.Errorf("input truncated: %w", err)
		default:
			f.err = err
		}
	}
	return delta, n > 0
}

// countLines advances the line counter to offset upto.
func (f *framer) countLines(upto int) {
	if upto > f.lineAt {
		f.line += bytes.Count(f.buf[f.lineAt:upto], []byte{'\n'})
		f.lineAt = upto
	}
}

// nextLine returns the next non-empty line without its newline.
func (f *framer) nextLine() ([]byte, bool) {
	for {
		nl := bytes.IndexByte(f.buf[f.pos:f.end], '\n')
		if nl < 0 {
			if f.end-f.pos > f.maxRecord {
				f.skipLongLine()
				continue
			}
			if _, ok := f.fill(f.pos); ok {
				continue
			}
			if f.pos >= f.end {
				return nil, false
			}
			nl = f.end - f.pos // last line without newline
		}
		start := f.pos
		f.pos = min(start+nl+1, f.end)
		f.line++
		f.lineAt = f.pos
		rec := bytes.TrimRight(f.buf[start:start+nl], "\r")
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		return rec, true
	}
}

// skipLongLine drops a line longer than maxRecord, reading it in chunks.
func (f *framer) skipLongLine() {
	f.line++
	f.malformed(f.line, fmt.Sprintf("record longer than %d bytes skipped", f.maxRecord))
	for {
		if nl := bytes.IndexByte(f.buf[f.pos:f.end], '\n'); nl >= 0 {
			f.pos += nl + 1
			f.lineAt = f.pos
			return
		}
		f.pos = f.end
		f.lineAt = f.end
		if _, ok := f.fill(f.pos); !ok {
			return
		}
	}
}

// valueEnd returns the offset just past the JSON value starting at d[i], or
// -1 if d ends first, or -2 if the bytes are not JSON.
func valueEnd(d []byte, i int) int {
	depth := 0
	for i < len(d) {
		switch c := d[i]; c {
		case '"':
			j := i + 1
			for {
				q := bytes.IndexByte(d[j:], '"')
				if q < 0 {
					return -1
				}
				j += q
				// Count the backslashes before the quote: odd means escaped.
				bs := 0
				for k := j - 1; k > i && d[k] == '\\'; k-- {
					bs++
				}
				j++
				if bs%2 == 0 {
					break
				}
			}
			i = j
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return -2
			}
			if depth == 0 {
				return i + 1
			}
		default:
			if depth == 0 {
				// A scalar at top level: runs to a delimiter.
				j := i
				for j < len(d) && !bytes.ContainsRune([]byte(",]} \t\r\n"), rune(d[j])) {
					j++
				}
				if j == len(d) {
					return -1
				}
				return j
			}
		}
		i++
	}
	return -1
}

// nextJSON returns the next record in JSON mode.
func (f *framer) nextJSON() ([]byte, bool) {
	for {
		// Skip whitespace and separators, refilling as needed.
		for {
			for f.pos < f.end {
				c := f.buf[f.pos]
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' || (c == ',' && (f.inArray || f.inWrapper)) {
					f.pos++
					continue
				}
				break
			}
			if f.pos < f.end {
				break
			}
			if _, ok := f.fill(f.pos); !ok {
				return nil, false
			}
		}
		c := f.buf[f.pos]
		switch {
		case f.inArray && c == ']':
			f.pos++
			f.inArray = false
			continue
		case f.inWrapper && !f.inArray && c == '}':
			f.pos++
			f.inWrapper = false
			continue
		case f.inWrapper && !f.inArray:
			// A member of the wrapper object after its record array: skip it.
			if !f.skipMember() {
				return nil, false
			}
			continue
		case !f.inArray && c == '[':
			f.pos++
			f.inArray = true
			continue
		case c != '{':
			f.resync("expected a JSON object")
			continue
		}
		end := f.findEnd()
		if end == -1 {
			return nil, false
		}
		if end == -2 {
			f.resync("not valid JSON")
			continue
		}
		start := f.pos
		f.countLines(start)
		f.pos = end
		rec := f.buf[start:end]
		if !f.inArray && c == '{' {
			if inner, ok := recordArrayStart(rec); ok {
				// A wrapper: continue inside its record array.
				f.pos = start + inner
				f.inArray, f.inWrapper = true, true
				continue
			}
		}
		return rec, true
	}
}

// findEnd finds the end of the value at f.pos, reading more input as
// needed; -1 means input ended (a truncated record is reported), -2 means a
// syntax error.
func (f *framer) findEnd() int {
	for {
		e := valueEnd(f.buf[:f.end], f.pos)
		if e >= 0 || e == -2 {
			return e
		}
		if f.end-f.pos > f.maxRecord {
			// Too large to be a record, but perhaps a wrapper whose array
			// opens early: look for it before giving up.
			if inner, ok := recordArrayStart(f.buf[f.pos:f.end]); ok {
				f.pos += inner
				f.inArray, f.inWrapper = true, true
				return f.findEnd()
			}
			f.countLines(f.pos)
			f.malformed(f.line+1, fmt.Sprintf("record longer than %d bytes skipped", f.maxRecord))
			f.skipToNewline()
			continue
		}
		if _, ok := f.fill(f.pos); !ok {
			if f.pos < f.end {
				f.countLines(f.pos)
				f.malformed(f.line+1, "record truncated at end of input")
				f.pos = f.end
			}
			return -1
		}
	}
}

// skipToNewline drops input up to the next newline, reading as needed.
func (f *framer) skipToNewline() {
	for {
		if nl := bytes.IndexByte(f.buf[f.pos:f.end], '\n'); nl >= 0 {
			f.pos += nl + 1
			return
		}
		f.pos = f.end
		if _, ok := f.fill(f.pos); !ok {
			return
		}
	}
}

// resync reports a malformed record and continues at the next line, which
// recovers JSON-lines input; inside one-line arrays the rest is lost.
func (f *framer) resync(reason string) {
	f.countLines(f.pos)
	f.malformed(f.line+1, reason)
	f.inArray, f.inWrapper = false, false
	f.skipToNewline()
}

// skipMember skips one "name": value member of the wrapper object.
func (f *framer) skipMember() bool {
	for {
		d := f.buf[:f.end]
		i := f.pos
		if d[i] != '"' {
			f.resync("invalid wrapper object")
			return true
		}
		k := valueEnd(d, i)
		if k >= 0 {
			k = skipSpace(d, k)
			if k < len(d) && d[k] == ':' {
				k = skipSpace(d, k+1)
				if k < len(d) {
					if e := valueEnd(d, k); e >= 0 {
						f.pos = e
						return true
					} else if e == -2 {
						f.resync("invalid wrapper object")
						return true
					}
				}
			} else if k < len(d) {
				f.resync("invalid wrapper object")
				return true
			}
		}
		if _, ok := f.fill(f.pos); !ok {
			return false
		}
	}
}

// recordArrayStart reports whether the object obj has a top-level member
// "Records" or "items" holding an array, and returns the offset just inside
// that array. Other members before it are skipped.
func recordArrayStart(obj []byte) (int, bool) {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		k := valueEnd(obj, i)
		if k < 0 {
			return 0, false
		}
		name := obj[i+1 : k-1]
		k = skipSpace(obj, k)
		if k >= len(obj) || obj[k] != ':' {
			return 0, false
		}
		k = skipSpace(obj, k+1)
		if k < len(obj) && obj[k] == '[' && (string(name) == "Records" || string(name) == "items") {
			return k + 1, true
		}
		e := valueEnd(obj, k)
		if e < 0 {
			return 0, false
		}
		i = skipSpace(obj, e)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return 0, false
}
