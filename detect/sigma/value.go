package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/attest-hq/attest/detect/event"
)

// Limits that keep a hostile rule from costing more than a normal one.
const (
	maxRegexpLen   = 4096
	maxExpansions  = 256 // windash permutations and similar
	maxValuesField = 10000
)

// scalar is one YAML value of a detection: its text and whether it was null.
type scalar struct {
	text   string
	null   bool
	quoted bool // a YAML string, not a number or bool
}

// fieldSpec is "field|mod1|mod2" taken apart.
type fieldSpec struct {
	field    string
	match    string // "", contains, startswith, endswith, re, cidr, gt, gte, lt, lte, exists, fieldref
	all      bool
	cased    bool
	neq      bool
	reFlags  string
	encoders []string // base64, base64offset, utf16le, utf16be, utf16, wide, windash in order
}

// unsupportedError marks a rule feature Attest does not run; the reason is
// what `attest rules check` prints.
type unsupportedError struct{ reason string }

func (e *unsupportedError) Error() string { return e.reason }

func unsupported(format string, args ...any) error {
	return &unsupportedError{fmt.Sprintf(format, args...)}
}

func parseFieldSpec(key string) (fieldSpec, error) {
	parts := strings.Split(key, "|")
	fs := fieldSpec{field: parts[0]}
	for _, m := range parts[1:] {
		switch m {
		case "contains", "startswith", "endswith", "re", "cidr", "gt", "gte", "lt", "lte", "exists", "fieldref":
			if fs.match != "" && !(fs.match == "fieldref" && (m == "contains" || m == "startswith" || m == "endswith")) &&
				!(m == "fieldref" && (fs.match == "contains" || fs.match == "startswith" || fs.match == "endswith")) {
				return fs, unsupported("modifiers %s and %s cannot be combined", fs.match, m)
			}
			if m == "fieldref" && fs.match != "" {
				fs.reFlags = fs.match // remember the comparison for fieldref
				fs.match = "fieldref"
				continue
			}
			if fs.match == "fieldref" {
				fs.reFlags = m
				continue
			}
			fs.match = m
		case "all":
			fs.all = true
		case "cased":
			fs.cased = true
		case "neq":
			fs.neq = true
		case "i", "m", "s":
			if fs.match != "re" {
				return fs, unsupported("modifier %s only applies after re", m)
			}
			fs.reFlags += m
		case "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "windash":
			fs.encoders = append(fs.encoders, m)
		case "expand":
			return fs, unsupported("modifier expand needs placeholder values from a processing pipeline, which Attest does not have")
		case "minute", "hour", "day", "week", "month", "year":
			return fs, unsupported("time modifier %s is not supported", m)
		case "":
			return fs, unsupported("empty modifier in %q", key)
		default:
			return fs, unsupported("unknown modifier %q", m)
		}
	}
	return fs, nil
}

// compileValues turns the values of one field into patterns.
func compileValues(fs fieldSpec, vals []scalar) ([]pattern, error) {
	if len(vals) > maxValuesField {
		return nil, unsupported("field %s has more than %d values", fs.field, maxValuesField)
	}
	var out []pattern
	for _, v := range vals {
		ps, err := compileValue(fs, v)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

func compileValue(fs fieldSpec, v scalar) ([]pattern, error) {
	switch fs.match {
	case "re":
		if len(v.text) > maxRegexpLen {
			return nil, unsupported("regular expression longer than %d bytes", maxRegexpLen)
		}
		expr := v.text
		if fs.reFlags != "" {
			expr = "(?" + fs.reFlags + ")" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			// Go's RE2 has no backreferences or lookaround: those rules
			// are reported, not run with a different meaning.
			return nil, unsupported("regular expression %q: %v", v.text, err)
		}
		return []pattern{{kind: patRegexp, re: re, segs: requiredLiterals(expr)}}, nil
	case "cidr":
		p, err := netip.ParsePrefix(strings.TrimSpace(v.text))
		if err != nil {
			return nil, unsupported("cidr value %q: %v", v.text, err)
		}
		return []pattern{{kind: patCIDR, prefix: p.Masked()}}, nil
	case "gt", "gte", "lt", "lte":
		n, err := strconv.ParseFloat(v.text, 64)
		if err != nil {
			return nil, unsupported("%s needs a number, got %q", fs.match, v.text)
		}
		op := map[string]numOp{"gt": opGT, "gte": opGTE, "lt": opLT, "lte": opLTE}[fs.match]
		return []pattern{{kind: patNumber, num: n, op: op}}, nil
	case "fieldref":
		kind := patExact
		switch fs.reFlags {
		case "contains":
			kind = patContains
		case "startswith":
			kind = patPrefix
		case "endswith":
			kind = patSuffix
		}
		return []pattern{{kind: patFieldRef, ref: event.FieldKey(v.text), refKind: kind}}, nil
	}
	if v.null {
		if fs.match != "" || len(fs.encoders) > 0 {
			return nil, unsupported("null cannot take modifier %s", fs.match)
		}
		return []pattern{{kind: patNull}}, nil
	}
	// Plain strings: decode wildcards, apply encoders, then the match shape.
	var texts []string
	var wild [][]bool // per text: which bytes are wildcards
	if len(fs.encoders) == 0 {
		t, w := unescapeWildcards(v.text)
		texts, wild = []string{t}, [][]bool{w}
	} else {
		// Encoded values are literal: wildcards inside base64 make no sense.
		t, _ := unescapeWildcards(v.text)
		enc, err := encode([]string{t}, fs.encoders)
		if err != nil {
			return nil, err
		}
		texts = enc
		wild = make([][]bool, len(enc))
		for i := range enc {
			wild[i] = make([]bool, len(enc[i]))
		}
	}
	var out []pattern
	for i, t := range texts {
		p, err := shapePattern(fs, t, wild[i])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// requiredLiterals returns strings that every match of the regular
// expression must contain, so most values are rejected by a substring
// search before the regexp runs (".+:assumed-role/aws:.+" needs
// ":assumed-role/aws:"). Case-insensitive expressions get none.
func requiredLiterals(expr string) [][]byte {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	var parts []*syntax.Regexp
	switch re.Op {
	case syntax.OpConcat:
		parts = re.Sub
	case syntax.OpLiteral:
		parts = []*syntax.Regexp{re}
	case syntax.OpCapture:
		if len(re.Sub) == 1 && re.Sub[0].Op == syntax.OpConcat {
			parts = re.Sub[0].Sub
		}
	}
	var out [][]byte
	for _, p := range parts {
		if p.Op == syntax.OpLiteral && p.Flags&syntax.FoldCase == 0 && len(p.Rune) > 1 {
			out = append(out, []byte(string(p.Rune)))
		}
	}
	return out
}

// unescapeWildcards returns the text with Sigma escapes resolved and a mask
// marking the bytes that are the wildcards * and ?.
func unescapeWildcards(s string) (string, []bool) {
	var b strings.Builder
	var mask []bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			n := s[i+1]
			if n == '*' || n == '?' || n == '\\' {
				b.WriteByte(n)
				mask = append(mask, false)
				i++
				continue
			}
		}
		b.WriteByte(c)
		mask = append(mask, c == '*' || c == '?')
	}
	return b.String(), mask
}

// shapePattern builds the pattern for one literal text with wildcard mask.
func shapePattern(fs fieldSpec, t string, wild []bool) (pattern, error) {
	// Leading and trailing '*' from the match modifier.
	lead, trail := false, false
	switch fs.match {
	case "contains":
		lead, trail = true, true
	case "startswith":
		trail = true
	case "endswith":
		lead = true
	case "", "exists":
	default:
		return pattern{}, unsupported("modifier %s on a string", fs.match)
	}
	hasQ := false
	var segs []string
	var cur strings.Builder
	startsWild, endsWild := lead, trail
	for i := 0; i < len(t); i++ {
		if wild[i] {
			if t[i] == '?' {
				hasQ = true
			}
			if i == 0 {
				startsWild = true
			}
			if i == len(t)-1 {
				endsWild = true
			}
			if cur.Len() > 0 {
				segs = append(segs, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteByte(t[i])
	}
	if cur.Len() > 0 {
		segs = append(segs, cur.String())
	}
	norm := func(s string) []byte {
		if fs.cased {
			return []byte(s)
		}
		return lowerASCII(nil, []byte(s))
	}
	if hasQ {
		// '?' needs a regular expression; rare in practice.
		var re strings.Builder
		if !fs.cased {
			re.WriteString("(?is)")
		} else {
			re.WriteString("(?s)")
		}
		if !lead {
			re.WriteString("^")
		}
		for i := 0; i < len(t); i++ {
			switch {
			case wild[i] && t[i] == '*':
				re.WriteString(".*")
			case wild[i]:
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(t[i : i+1]))
			}
		}
		if !trail {
			re.WriteString("$")
		}
		rx, err := regexp.Compile(re.String())
		if err != nil {
			return pattern{}, unsupported("wildcard value %q: %v", t, err)
		}
		return pattern{kind: patRegexp, re: rx}, nil
	}
	switch {
	case len(segs) == 0:
		if startsWild || endsWild {
			// "*" alone: anything, including empty.
			return pattern{kind: patContains, s: []byte{}, cased: true}, nil
		}
		return pattern{kind: patExact, s: []byte{}, cased: fs.cased}, nil
	case len(segs) == 1 && !startsWild && !endsWild:
		return pattern{kind: patExact, s: norm(segs[0]), cased: fs.cased}, nil
	case len(segs) == 1 && !startsWild:
		return pattern{kind: patPrefix, s: norm(segs[0]), cased: fs.cased}, nil
	case len(segs) == 1 && !endsWild:
		return pattern{kind: patSuffix, s: norm(segs[0]), cased: fs.cased}, nil
	case len(segs) == 1:
		return pattern{kind: patContains, s: norm(segs[0]), cased: fs.cased}, nil
	}
	p := pattern{kind: patGlob, cased: fs.cased, anchorStart: !startsWild, anchorEnd: !endsWild}
	for _, s := range segs {
		p.segs = append(p.segs, norm(s))
	}
	return p, nil
}

// encode applies the value-transforming modifiers left to right.
func encode(vals []string, encoders []string) ([]string, error) {
	for _, e := range encoders {
		var next []string
		for _, v := range vals {
			switch e {
			case "base64":
				next = append(next, base64.StdEncoding.EncodeToString([]byte(v)))
			case "base64offset":
				next = append(next, base64Offsets(v)...)
			case "utf16le", "wide":
				next = append(next, utf16Bytes(v, false, false))
			case "utf16be":
				next = append(next, utf16Bytes(v, true, false))
			case "utf16":
				next = append(next, utf16Bytes(v, false, true))
			case "windash":
				w, err := windash(v)
				if err != nil {
					return nil, err
				}
				next = append(next, w...)
			}
		}
		vals = next
	}
	return vals, nil
}

// base64Offsets returns the three base64 forms of v as it appears at byte
// offsets 0, 1 and 2 of a longer encoded string, trimmed to the characters
// that do not depend on the surrounding bytes (the pySigma definition).
func base64Offsets(v string) []string {
	start := []int{0, 2, 3}
	end := []int{0, -3, -2}
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), v...))
		e := len(enc)
		if pad := (len(v) + i) % 3; pad != 0 {
			e += end[pad]
		}
		enc = strings.TrimRight(enc, "=")
		if e > len(enc) {
			e = len(enc)
		}
		if start[i] < e {
			out = append(out, enc[start[i]:e])
		}
	}
	return out
}

func utf16Bytes(v string, bigEndian, bom bool) string {
	var b []byte
	if bom {
		b = append(b, 0xff, 0xfe)
	}
	for _, u := range utf16.Encode([]rune(v)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

var dashes = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// windash returns every spelling of v with each command-line flag dash
// written as -, /, en dash, em dash or horizontal bar. A flag dash is one at
// the start or after a space, as in pySigma.
func windash(v string) ([]string, error) {
	type pos struct{ at, size int }
	var positions []pos
	for i := 0; i < len(v); {
		for _, d := range dashes {
			if strings.HasPrefix(v[i:], d) && (i == 0 || v[i-1] == ' ') {
				positions = append(positions, pos{i, len(d)})
				break
			}
		}
		i++
	}
	total := 1
	for range positions {
		total *= len(dashes)
		if total > maxExpansions {
			return nil, unsupported("windash would expand %q into more than %d values", v, maxExpansions)
		}
	}
	out := make([]string, 0, total)
	for n := 0; n < total; n++ {
		var b strings.Builder
		last := 0
		k := n
		for _, p := range positions {
			b.WriteString(v[last:p.at])
			b.WriteString(dashes[k%len(dashes)])
			k /= len(dashes)
			last = p.at + p.size
		}
		b.WriteString(v[last:])
		out = append(out, b.String())
	}
	return out, nil
}
