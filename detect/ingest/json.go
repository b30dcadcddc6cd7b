package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/attest-hq/attest/detect/event"
)

// The JSON indexer below replaces encoding/json on the hot path: it walks one
// JSON value once and records every member as an event.Field (path hash and
// value bytes) without building maps or strings. Strings without escapes
// point straight into the input; only escaped strings are decoded, into the
// event's arena.

var (
	errTruncated = errors.New("unexpected end of JSON")
	errTooDeep   = errors.New("JSON nested deeper than 64 levels")
	errTooMany   = errors.New("JSON has more than 200000 values")
)

const (
	maxDepth  = 64
	maxFields = 200_000
)

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg) }

type indexer struct {
	data []byte
	ev   *event.Event
}

// indexJSON indexes the object or array starting at data[0] (after
// whitespace) into ev.Fields and returns the offset just past it.
func indexJSON(data []byte, ev *event.Event) (int, error) {
	ix := indexer{data: data, ev: ev}
	i := skipSpace(data, 0)
	if i >= len(data) {
		return i, errTruncated
	}
	switch data[i] {
	case '{':
		return ix.object(i, event.HashStart, 0)
	case '[':
		return ix.array(i, event.HashStart, 0)
	}
	return i, &syntaxError{i, "expected an object"}
}

func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// object indexes the object at d[i]=='{' whose path hash is h.
func (ix *indexer) object(i int, h uint64, depth int) (int, error) {
	if depth >= maxDepth {
		return i, errTooDeep
	}
	d := ix.data
	i++
	i = skipSpace(d, i)
	if i < len(d) && d[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(d) {
			return i, errTruncated
		}
		if d[i] != '"' {
			return i, &syntaxError{i, "expected a member name"}
		}
		key, next, err := ix.str(i)
		if err != nil {
			return next, err
		}
		i = skipSpace(d, next)
		if i >= len(d) {
			return i, errTruncated
		}
		if d[i] != ':' {
			return i, &syntaxError{i, "expected ':'"}
		}
		i = skipSpace(d, i+1)
		i, err = ix.value(i, event.HashChild(h, key), depth+1)
		if err != nil {
			return i, err
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return i, errTruncated
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, &syntaxError{i, "expected ',' or '}'"}
		}
	}
}

// array indexes the array at d[i]=='['; its elements share its path hash h.
func (ix *indexer) array(i int, h uint64, depth int) (int, error) {
	if depth >= maxDepth {
		return i, errTooDeep
	}
	d := ix.data
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		i, err = ix.value(i, h, depth+1)
		if err != nil {
			return i, err
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return i, errTruncated
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, &syntaxError{i, "expected ',' or ']'"}
		}
	}
}

// value indexes the value at d[i] under path hash h.
func (ix *indexer) value(i int, h uint64, depth int) (int, error) {
	d := ix.data
	if i >= len(d) {
		return i, errTruncated
	}
	if len(ix.ev.Fields) >= maxFields {
		return i, errTooMany
	}
	switch c := d[i]; {
	case c == '"':
		s, next, err := ix.str(i)
		if err != nil {
			return next, err
		}
		ix.ev.Fields = append(ix.ev.Fields, event.Field{Key: h, Value: s, Kind: event.KindString})
		return next, nil
	case c == '{' || c == '[':
		// Record the container before its members so "requestParameters"
		// is found first; its Value is patched once the end is known.
		at := len(ix.ev.Fields)
		kind := event.KindObject
		if c == '[' {
			kind = event.KindArray
		}
		ix.ev.Fields = append(ix.ev.Fields, event.Field{Key: h, Kind: kind})
		var end int
		var err error
		if c == '{' {
			end, err = ix.object(i, h, depth)
		} else {
			end, err = ix.array(i, h, depth)
		}
		if err != nil {
			return end, err
		}
		ix.ev.Fields[at].Value = d[i:end:end]
		return end, nil
	case c == 't':
		return ix.literal(i, h, "true", event.KindBool)
	case c == 'f':
		return ix.literal(i, h, "false", event.KindBool)
	case c == 'n':
		return ix.literal(i, h, "null", event.KindNull)
	case c == '-' || ('0' <= c && c <= '9'):
		j := i + 1
		for j < len(d) {
			c := d[j]
			if ('0' <= c && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
				j++
				continue
			}
			break
		}
		if j >= len(d) {
			return j, errTruncated
		}
		ix.ev.Fields = append(ix.ev.Fields, event.Field{Key: h, Value: d[i:j:j], Kind: event.KindNumber})
		return j, nil
	}
	return i, &syntaxError{i, fmt.Sprintf("unexpected %q", d[i])}
}

func (ix *indexer) literal(i int, h uint64, lit string, kind event.Kind) (int, error) {
	d := ix.data
	if len(d)-i < len(lit) {
		return len(d), errTruncated
	}
	if string(d[i:i+len(lit)]) != lit {
		return i, &syntaxError{i, "invalid literal"}
	}
	j := i + len(lit)
	ix.ev.Fields = append(ix.ev.Fields, event.Field{Key: h, Value: d[i:j:j], Kind: kind})
	return j, nil
}

// str returns the contents of the string at d[i]=='"' and the offset after
// its closing quote. Escaped strings are decoded into the event's arena.
func (ix *indexer) str(i int) ([]byte, int, error) {
	d := ix.data
	start := i + 1
	q := bytes.IndexByte(d[start:], '"')
	if q < 0 {
		return nil, len(d), errTruncated
	}
	end := start + q
	if bytes.IndexByte(d[start:end], '\\') < 0 {
		return d[start:end:end], end + 1, nil
	}
	return ix.unescape(start)
}

func (ix *indexer) unescape(start int) ([]byte, int, error) {
	d := ix.data
	ev := ix.ev
	from := len(ev.Arena)
	i := start
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s := ev.Arena[from:len(ev.Arena):len(ev.Arena)]
			return s, i + 1, nil
		case c != '\\':
			ev.Arena = append(ev.Arena, c)
			i++
			continue
		}
		if i+1 >= len(d) {
			return nil, len(d), errTruncated
		}
		e := d[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			ev.Arena = append(ev.Arena, e)
		case 'b':
			ev.Arena = append(ev.Arena, '\b')
		case 'f':
			ev.Arena = append(ev.Arena, '\f')
		case 'n':
			ev.Arena = append(ev.Arena, '\n')
		case 'r':
			ev.Arena = append(ev.Arena, '\r')
		case 't':
			ev.Arena = append(ev.Arena, '\t')
		case 'u':
			r, n := hex4(d[i:])
			if n < 0 {
				return nil, i, &syntaxError{i, "invalid \\u escape"}
			}
			i += n
			if utf16.IsSurrogate(r) {
				r2, n2 := rune(-1), -1
				if len(d)-i >= 6 && d[i] == '\\' && d[i+1] == 'u' {
					r2, n2 = hex4(d[i+2:])
				}
				if n2 > 0 {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 2 + n2
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			ev.Arena = utf8.AppendRune(ev.Arena, r)
		default:
			return nil, i, &syntaxError{i - 1, "invalid escape"}
		}
	}
	return nil, len(d), errTruncated
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, -1
		}
		r = r<<4 | rune(c)
	}
	return r, 4
}
