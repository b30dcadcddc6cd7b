package sigma

import (
	"bytes"
	"net/netip"
	"regexp"
	"strconv"

	"github.com/attest-hq/attest/detect/event"
)

// patternKind is how one rule value is compared with one event value.
type patternKind uint8

const (
	patExact    patternKind = iota // whole value equal
	patPrefix                      // startswith (or "abc*")
	patSuffix                      // endswith (or "*abc")
	patContains                    // contains (or "*abc*")
	patGlob                        // other wildcard shapes: segments in order
	patRegexp                      // re (RE2)
	patCIDR                        // cidr
	patNumber                      // gt, gte, lt, lte
	patNull                        // null: absent, JSON null or empty
	patFieldRef                    // fieldref: equal to another field
)

type numOp uint8

const (
	opGT numOp = iota
	opGTE
	opLT
	opLTE
)

// pattern is one compiled rule value. Strings are stored lowercased unless
// cased, so matching folds only the event side, and only ASCII: Sigma's
// case-insensitivity is about identifiers and commands, and full Unicode
// folding would cost every comparison.
type pattern struct {
	kind  patternKind
	cased bool
	s     []byte // exact, prefix, suffix, contains
	// glob: literal segments between '*'; regexp: literals every match
	// contains, checked first.
	segs [][]byte
	// glob: whether the value must start with segs[0] / end with the last.
	anchorStart, anchorEnd bool
	re                     *regexp.Regexp
	prefix                 netip.Prefix
	num                    float64
	op                     numOp
	ref                    uint64      // fieldref target key
	refKind                patternKind // fieldref comparison: exact, prefix, suffix, contains
}

func lowerASCII(dst, s []byte) []byte {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func hasUpper(s []byte) bool {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

// equalFold compares v with lower, which is already lowercase.
func equalFold(v, lower []byte) bool {
	if len(v) != len(lower) {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// matcher carries per-event scratch space so that folding a value for a
// substring search allocates nothing.
type matcher struct {
	scratch []byte
}

// fold returns v lowercased, reusing scratch; v itself when it has no
// uppercase letters.
func (m *matcher) fold(v []byte) []byte {
	if !hasUpper(v) {
		return v
	}
	m.scratch = lowerASCII(m.scratch[:0], v)
	return m.scratch
}

// matchValue reports whether event value v (of kind k) matches p. ev is
// needed for fieldref.
func (m *matcher) matchValue(p *pattern, v []byte, k event.Kind, ev *event.Event) bool {
	switch p.kind {
	case patExact:
		if p.cased {
			return bytes.Equal(v, p.s)
		}
		return equalFold(v, p.s)
	case patPrefix:
		if len(v) < len(p.s) {
			return false
		}
		if p.cased {
			return bytes.HasPrefix(v, p.s)
		}
		return equalFold(v[:len(p.s)], p.s)
	case patSuffix:
		if len(v) < len(p.s) {
			return false
		}
		if p.cased {
			return bytes.HasSuffix(v, p.s)
		}
		return equalFold(v[len(v)-len(p.s):], p.s)
	case patContains:
		if len(v) < len(p.s) {
			return false
		}
		if p.cased {
			return bytes.Contains(v, p.s)
		}
		return bytes.Contains(m.fold(v), p.s)
	case patGlob:
		if !p.cased {
			v = m.fold(v)
		}
		return globMatch(p, v)
	case patRegexp:
		for _, lit := range p.segs {
			if !bytes.Contains(v, lit) {
				return false
			}
		}
		return p.re.Match(v)
	case patCIDR:
		a, err := netip.ParseAddr(string(v))
		return err == nil && p.prefix.Contains(a.Unmap())
	case patNumber:
		if k != event.KindNumber && k != event.KindString {
			return false
		}
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return false
		}
		switch p.op {
		case opGT:
			return n > p.num
		case opGTE:
			return n >= p.num
		case opLT:
			return n < p.num
		default:
			return n <= p.num
		}
	case patNull:
		return k == event.KindNull || len(v) == 0
	case patFieldRef:
		for i := range ev.Fields {
			f := &ev.Fields[i]
			if f.Key != p.ref {
				continue
			}
			other := f.Value
			switch p.refKind {
			case patExact:
				if bytes.EqualFold(v, other) {
					return true
				}
			case patPrefix:
				if len(v) >= len(other) && bytes.EqualFold(v[:len(other)], other) {
					return true
				}
			case patSuffix:
				if len(v) >= len(other) && bytes.EqualFold(v[len(v)-len(other):], other) {
					return true
				}
			case patContains:
				if bytes.Contains(bytes.ToLower(v), bytes.ToLower(other)) {
					return true
				}
			}
		}
		return false
	}
	return false
}

// globMatch matches v against '*'-separated literal segments.
func globMatch(p *pattern, v []byte) bool {
	segs := p.segs
	if p.anchorStart {
		if !bytes.HasPrefix(v, segs[0]) {
			return false
		}
		v = v[len(segs[0]):]
		segs = segs[1:]
	}
	var last []byte
	if p.anchorEnd && len(segs) > 0 {
		last = segs[len(segs)-1]
		segs = segs[:len(segs)-1]
	}
	for _, s := range segs {
		i := bytes.Index(v, s)
		if i < 0 {
			return false
		}
		v = v[i+len(s):]
	}
	if p.anchorEnd {
		return bytes.HasSuffix(v, last)
	}
	return true
}
