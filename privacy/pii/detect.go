package pii

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// The detector walks text once. Only two kinds of byte start work: a digit
// and '@' (every type but email contains a digit; every email an '@'). At a
// trigger each matcher parses the shape it knows by hand, validates it, and
// the candidate with the best confidence after context wins. Everything else
// is skipped by a table lookup, which is what makes the scan fast without a
// regular-expression alternation.

const (
	clDigit = 1 << iota
	clUpper
	clLower
	clTrigger
	clHex
	clLocal  // email local part
	clDomain // email domain
)

var class [256]uint8

func init() {
	for c := '0'; c <= '9'; c++ {
		class[c] |= clDigit | clTrigger | clHex | clLocal | clDomain
	}
	for c := 'A'; c <= 'Z'; c++ {
		class[c] |= clUpper | clLocal | clDomain
	}
	for c := 'a'; c <= 'z'; c++ {
		class[c] |= clLower | clLocal | clDomain
	}
	for _, c := range "abcdefABCDEF" {
		class[c] |= clHex
	}
	for _, c := range "._%+-" {
		class[c] |= clLocal
	}
	class['.'] |= clDomain
	class['-'] |= clDomain
	class['@'] |= clTrigger
}

func isDigit(c byte) bool  { return c-'0' < 10 }
func isUpper(c byte) bool  { return c-'A' < 26 }
func isLetter(c byte) bool { return class[c]&(clUpper|clLower) != 0 }
func isAlnum(c byte) bool  { return class[c]&(clDigit|clUpper|clLower) != 0 }
func isHex(c byte) bool    { return class[c]&clHex != 0 }

// detector finds personal data in a byte buffer. It holds no state between
// calls; the streaming layer feeds it overlapping windows.
type detector struct {
	types   typeSet
	minConf float64
	maxYear int // latest plausible birth year
}

// match is an accepted finding inside a buffer.
type match struct {
	typ        Type
	start, end int
	conf       float64
}

// Bounds the streaming layer relies on: a match and the context words read
// around it never reach further than this before its trigger byte or after it.
const (
	maxLookbehind = 64 + windowBefore + 16 + maxWordLen + 4 // + the word before a window (wordCache.resync)
	maxLookahead  = 254 + windowAfter + 64
)

// hintFunc returns what the structure says about position pos: the CSV
// column or JSON key it sits under. nil when the text has no structure.
type hintFunc func(pos int) ctxInfo

// scan looks for personal data whose trigger byte lies in buf[from:to].
// Matches never start before lo (the end of the previous match). It returns
// where scanning stopped (a skipped token may run past to) and the new lo.
func (d *detector) scan(buf []byte, from, to, lo int, hint hintFunc, emit func(match)) (next, floor int) {
	var st scanState
	return d.scanWith(&st, buf, from, to, lo, hint, emit)
}

// scanWith is scan with scratch space the caller keeps between calls (its
// word cache is reset: positions are only valid within one buffer).
func (d *detector) scanWith(st *scanState, buf []byte, from, to, lo int, hint hintFunc, emit func(match)) (next, floor int) {
	st.words.reset()
	i := from
	for i < to {
		i = nextTrigger(buf, i, to)
		if i >= to {
			break
		}
		var m match
		var ok bool
		skip := i + 1
		if buf[i] == '@' {
			m, ok = d.email(buf, i, lo)
		} else {
			m, ok, skip = d.numeric(buf, i, lo, st, hint)
		}
		if ok {
			emit(m)
			lo, i = m.end, m.end
		} else {
			i = skip
		}
	}
	return i, lo
}

// Eight bytes at a time (SWAR): a mask with the high bit set in each byte
// that is a digit, and in the lowest '@' byte.
const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

func triggerMask(x uint64) uint64 {
	t := x & (lo8 * 127)
	digits := (lo8*(127+'9'+1) - t) & ^x & (t + lo8*(127-('0'-1))) & hi8
	y := x ^ (lo8 * '@')
	at := (y - lo8) & ^y & hi8
	return digits | at
}

// nextTrigger returns the index of the first digit or '@' in buf[i:to], or to.
func nextTrigger(buf []byte, i, to int) int {
	for i+8 <= to {
		if m := triggerMask(binary.LittleEndian.Uint64(buf[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < to && class[buf[i]]&clTrigger == 0 {
		i++
	}
	return i
}

// skipToken returns the end of the identifier-like token at i (letters,
// digits and . - / _ :), so a UUID, hash, path or timestamp is passed over
// whole once its first digit failed every matcher.
func skipToken(buf []byte, i int) int {
	for i+8 <= len(buf) {
		if m := ^tokenMask(binary.LittleEndian.Uint64(buf[i:])) & hi8; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(buf) {
		c := buf[i]
		if isAlnum(c) || c == '.' || c == '-' || c == '/' || c == '_' || c == ':' {
			i++
			continue
		}
		break
	}
	return i
}

// tokenMask sets the high bit of each byte of x that skipToken passes over:
// a letter, a digit, or one of - . / : _ ('-' to ':' is one range in ASCII).
func tokenMask(x uint64) uint64 {
	t := x & (lo8 * 0x7f)
	y := t | (lo8 * 0x20)
	letters := (y + lo8*(0x80-'a')) & ^(y + lo8*(0x7f-'z'))
	punct := (t + lo8*(0x80-'-')) & ^(t + lo8*(0x7f-':'))
	under := (t + lo8*(0x80-'_')) & ^(t + lo8*(0x7f-'_'))
	return (letters | punct | under) & ^x & hi8
}

// leftOK reports whether a candidate may start at s: it is not glued to a
// word, a currency sign, or a longer dotted/dashed identifier.
func leftOK(buf []byte, s int) bool {
	if s == 0 {
		return true
	}
	p := buf[s-1]
	if isAlnum(p) {
		return false
	}
	switch p {
	case '_', '@', '$':
		return false
	case '.', '-', '/', '\\':
		return !(s >= 2 && isAlnum(buf[s-2]))
	case ':':
		return !(s >= 2 && isDigit(buf[s-2]))
	}
	return true
}

// rightOK reports whether a candidate may end at e: the next byte does not
// continue it as a word or as a longer number.
func rightOK(buf []byte, e int) bool {
	if e >= len(buf) {
		return true
	}
	c := buf[e]
	if isAlnum(c) || c == '_' || c == '@' {
		return false
	}
	if e+1 < len(buf) {
		switch c {
		case '.':
			return !isDigit(buf[e+1])
		case '-', '/':
			return !isAlnum(buf[e+1]) // 12345678-e89b-... is a UUID
		}
	}
	return true
}

// scanState is the scratch space of one scan call.
type scanState struct {
	cands  candList
	groups groups
	words  wordCache
}

// The bits of the types in a typeSet (positions in AllTypes): candidates
// carry these rather than the Type strings, so the scratch list holds no
// pointers and picking one needs no string comparison.
const (
	bitEmail typeSet = 1 << iota
	bitPhone
	bitCreditCard
	bitUSSSN
	bitUSITIN
	bitCASIN
	bitUKNINO
	bitIBAN
	bitUSDriversLicense
	bitPassportNumber
	bitDateOfBirth
	bitIPAddress
)

// typeOfBit returns the type of a single-bit set.
func typeOfBit(b typeSet) Type { return AllTypes[bits.TrailingZeros16(uint16(b))] }

// candidate is a validated shape before context decides its confidence.
type candidate struct {
	typ           typeSet // one bit
	start, end    int
	base, withCtx float64 // confidence without and with a context word for its type
	needCtx       bool    // only reported when context names its type
}

type candList struct {
	c [10]candidate
	n int
}

func (l *candList) add(t typeSet, s, e int, base, withCtx float64, needCtx bool) {
	if l.n < len(l.c) {
		l.c[l.n] = candidate{t, s, e, base, withCtx, needCtx}
		l.n++
	}
}

// Context adjustments.
const (
	negativePenalty  = 0.4 // "order", "tracking", "version" nearby and nothing for the type
	otherTypePenalty = 0.1 // context names another type only
	nearBonus        = 0.1 // the closest keyword names the type
)

// choose scores the candidates with their context and returns the best.
func (d *detector) choose(buf []byte, l *candList, words *wordCache, hint hintFunc) (match, bool) {
	s, e := l.c[0].start, l.c[0].end
	need, all := l.c[0].typ, l.c[0].needCtx
	for _, c := range l.c[1:l.n] {
		s, e = min(s, c.start), max(e, c.end)
		need |= c.typ
		all = all && c.needCtx
	}
	if all && hint == nil && words.typesAround(buf, s, e)&need == 0 {
		// Every candidate needs a word naming its type, and none is near
		// (the common case: a bare number). around would read the same
		// window (it is read once) and drop them all.
		return match{}, false
	}
	ctx := words.around(buf, s, e)
	if hint != nil {
		ctx = ctx.or(hint(s))
	}
	best, bestConf := -1, 0.0
	for k, c := range l.c[:l.n] {
		var conf float64
		switch {
		case ctx.nearNeg && !c.needCtx:
			conf = c.base - negativePenalty
		case ctx.nearNeg:
			continue
		case ctx.pos&c.typ != 0:
			conf = c.withCtx
			if ctx.near&c.typ != 0 {
				// "passport C03005988 DL# D1234567": DL is nearer.
				conf = min(conf+nearBonus, 0.99)
			}
		case c.needCtx:
			continue
		default:
			conf = c.base
			if ctx.neg {
				conf -= negativePenalty
			}
			if ctx.pos != 0 {
				conf -= otherTypePenalty
			}
		}
		if conf > bestConf {
			best, bestConf = k, conf
		}
	}
	if best < 0 || bestConf < d.minConf {
		return match{}, false
	}
	c := l.c[best]
	if d.types&c.typ == 0 {
		return match{}, false
	}
	return match{typeOfBit(c.typ), c.start, c.end, bestConf}, true
}

// numeric handles a digit trigger at i. skip is where to resume when nothing
// matched.
func (d *detector) numeric(buf []byte, i, lo int, st *scanState, hint hintFunc) (m match, ok bool, skip int) {
	if i > 0 && isDigit(buf[i-1]) {
		// Inside a digit run already judged (the buffer started mid-run).
		return match{}, false, skipToken(buf, i)
	}
	n := len(buf)
	j := i
	for j < n && isDigit(buf[j]) && j-i <= 20 {
		j++
	}
	k := 0
	for p := i - 1; p >= lo && isLetter(buf[p]) && k < 3; p-- {
		k++
	}
	if j-i > 19 && k != 2 { // only an IBAN has a longer digit run
		return match{}, false, skipToken(buf, i)
	}
	l := &st.cands
	l.n = 0
	if nearColon(buf, i, j) {
		d.ipv6(buf, i, lo, l)
	}
	if k == 0 && l.n == 0 && j < n && gluedRun(buf, i, j) {
		return match{}, false, skipToken(buf, i)
	}
	if k > 0 {
		if k <= 2 && isUpper(buf[i-1]) && (k == 1 || isUpper(buf[i-2])) && leftOK(buf, i-k) {
			d.lettered(buf, i, k, l, &st.groups)
		}
	} else {
		d.digitsFirst(buf, i, j, lo, l, &st.groups)
	}
	if l.n == 0 {
		return match{}, false, skipToken(buf, i)
	}
	if m, ok := d.choose(buf, l, &st.words, hint); ok {
		return m, true, m.end
	}
	return match{}, false, skipToken(buf, i)
}

// gluedRun reports a digit run buf[i:j] that no matcher can use, decided
// before any of them runs: a run glued to a letter ("200ms", the hex of a
// hash or UUID) ends no candidate, as every matcher wants a separator or the
// end of the token after its digits ("15th" after a month name and the
// letter-suffixed "AB 123456C" are left to the matchers); nor does an ISO
// timestamp ("2024-01-15T10:00"), which is not a date of birth.
func gluedRun(buf []byte, i, j int) bool {
	c := buf[j]
	if isLetter(c) || c == '_' {
		return !(i >= 2 && buf[i-1] == ' ' && isLetter(buf[i-2]))
	}
	return c == '-' && j-i == 4 && j+6 < len(buf) && isDigit(buf[j+1]) && isDigit(buf[j+2]) && buf[j+3] == '-' &&
		isDigit(buf[j+4]) && isDigit(buf[j+5]) && (buf[j+6] == 'T' || buf[j+6] == 't')
}

// groups is a run of digit groups joined by single separators, as in
// 123-45-6789, 4111 1111 1111 1111 or 192.168.0.1.
type groups struct {
	n    int
	s, e [8]int
	sep  [8]byte // sep[k] joins group k and k+1
}

// parseGroups fills g (scratch space: only the first g.n groups and
// separators are set) with the groups starting at i.
func parseGroups(g *groups, buf []byte, i int) {
	p := i
	g.n = 0
	for g.n < len(g.s) {
		q := p
		for q < len(buf) && isDigit(buf[q]) && q-p < 20 {
			q++
		}
		g.s[g.n], g.e[g.n], g.sep[g.n] = p, q, 0
		g.n++
		if q+1 >= len(buf) {
			break
		}
		c := buf[q]
		if (c == '-' || c == ' ' || c == '.' || c == '/') && isDigit(buf[q+1]) {
			g.sep[g.n-1] = c
			p = q + 1
			continue
		}
		break
	}
}

func (g *groups) len(k int) int { return g.e[k] - g.s[k] }

// uniform returns the separator joining the first k groups, if it is one.
func (g *groups) uniform(k int) (byte, bool) {
	if k <= 1 {
		return 0, true
	}
	for x := 1; x < k-1; x++ {
		if g.sep[x] != g.sep[0] {
			return 0, false
		}
	}
	return g.sep[0], true
}

// continues reports whether the first k groups are followed by another
// group joined the same way (so they are part of a longer number). A bare
// run (k=1) continues unless a space follows.
func (g *groups) continues(k int, sep byte) bool {
	if k >= g.n {
		return false
	}
	if k == 1 {
		return g.sep[0] != ' '
	}
	return g.sep[k-1] == sep
}

// digits copies the digits of the first k groups into dst.
func (g *groups) digits(buf []byte, k int, dst []byte) []byte {
	dst = dst[:0]
	for x := 0; x < k; x++ {
		dst = append(dst, buf[g.s[x]:g.e[x]]...)
	}
	return dst
}

// digitsFirst runs the matchers for a candidate that starts with the digit
// run buf[i:j]. Each matcher is only called when the run's length and the
// bytes around it allow its shapes (the conditions are those its own code
// checks first), which spares most triggers of a log the full set.
func (d *detector) digitsFirst(buf []byte, i, j, lo int, l *candList, g *groups) {
	n := len(buf)
	r := j - i
	var sep byte // the separator parseGroups would see after the first group
	if j+1 < n && isDigit(buf[j+1]) {
		switch buf[j] {
		case '-', ' ', '.', '/':
			sep = buf[j]
		}
	}
	// ssnLike: 3 then a separator, or 9; card: 13-19, or 4 then ' ' or '-';
	// ipv4 and numeric dates: up to 4 then a separator, or 8; bare ids: 6-13,
	// or groups joined by ' ' or '-'.
	if (r >= 6 && r <= 19) || sep == ' ' || sep == '-' || (sep != 0 && r <= 4) {
		parseGroups(g, buf, i)
		if leftOK(buf, i) {
			d.ssnLike(buf, g, l)
			d.card(buf, g, l)
			d.ipv4(buf, g, l)
			d.dateNumeric(buf, g, l)
			d.bareIDs(buf, g, l)
		}
	}
	var before byte
	if i > 0 {
		before = buf[i-1]
	}
	// phone: after '+' or '(', a trunk '1', or 3, 6 or 10 digits.
	if before == '+' || before == '(' || r == 1 || r == 3 || r == 6 || r == 10 {
		d.phone(buf, i, l)
	}
	if before == ' ' && i >= 3 && isUpper(buf[i-2]) {
		d.ninoSpaced(buf, i, lo, l)
	}
	// dateWords: a word (the month's name) before, or a day of one or two digits then ' ' or '-'.
	// Both forms need a day of one or two digits at i.
	if r <= 2 && ((before == ' ' && i >= 2 && isLetter(buf[i-2])) || (j < n && (buf[j] == ' ' || buf[j] == '-'))) {
		d.dateWords(buf, i, lo, l)
	}
}

// ssnLike finds US SSNs and ITINs (3-2-4) and Canadian SINs (3-3-3), and
// bare nine-digit numbers that are only reported with context.
func (d *detector) ssnLike(buf []byte, g *groups, l *candList) {
	if g.n >= 3 && g.len(0) == 3 && g.len(1) == 2 && g.len(2) == 4 && g.sep[0] == g.sep[1] &&
		(g.sep[0] == '-' || g.sep[0] == ' ' || g.sep[0] == '.') && !g.continues(3, g.sep[0]) && rightOK(buf, g.e[2]) {
		a, b, s := buf[g.s[0]:g.e[0]], buf[g.s[1]:g.e[1]], buf[g.s[2]:g.e[2]]
		base, withCtx := 0.75, 0.95
		if g.sep[0] != '-' {
			base, withCtx = 0.45, 0.9
		}
		if validSSN(a, b, s) {
			l.add(bitUSSSN, g.s[0], g.e[2], base, withCtx, false)
		} else if validITIN(a, b, s) {
			l.add(bitUSITIN, g.s[0], g.e[2], base, withCtx, false)
		}
	}
	if g.n >= 3 && g.len(0) == 3 && g.len(1) == 3 && g.len(2) == 3 && g.sep[0] == g.sep[1] &&
		(g.sep[0] == '-' || g.sep[0] == ' ') && !g.continues(3, g.sep[0]) && rightOK(buf, g.e[2]) {
		var tmp [24]byte
		if validSIN(g.digits(buf, 3, tmp[:])) {
			l.add(bitCASIN, g.s[0], g.e[2], 0.55, 0.95, false)
		}
	}
	if g.len(0) == 9 && !g.continues(1, 0) && rightOK(buf, g.e[0]) {
		dd := buf[g.s[0]:g.e[0]]
		if allSame(dd) {
			return
		}
		if validSSN(dd[:3], dd[3:5], dd[5:]) {
			l.add(bitUSSSN, g.s[0], g.e[0], 0, 0.85, true)
		}
		if validITIN(dd[:3], dd[3:5], dd[5:]) {
			l.add(bitUSITIN, g.s[0], g.e[0], 0, 0.85, true)
		}
		if validSIN(dd) {
			l.add(bitCASIN, g.s[0], g.e[0], 0, 0.85, true)
		}
	}
}

// card finds payment card numbers: 13-19 digits, bare or in groups joined by
// spaces or dashes, in an issuer's range and length, passing Luhn.
func (d *detector) card(buf []byte, g *groups, l *candList) {
	if g.len(0) > 19 {
		return // every k includes the first group
	}
	top := g.n
	if g.sep[0] != ' ' && g.sep[0] != '-' {
		top = 1 // more groups need uniform spaces or dashes
	}
	for k := top; k >= 1; k-- {
		sep, ok := g.uniform(k)
		if !ok || (k > 1 && sep != ' ' && sep != '-') {
			continue
		}
		if g.continues(k, sep) && sep != ' ' {
			continue
		}
		total := 0
		for x := 0; x < k; x++ {
			total += g.len(x)
		}
		if total < 13 || total > 19 {
			continue
		}
		if k > 1 && !cardGrouping(g, k) {
			continue
		}
		if !rightOK(buf, g.e[k-1]) {
			return
		}
		var tmp [24]byte
		if !validCard(g.digits(buf, k, tmp[:])) {
			return
		}
		if k == 1 {
			l.add(bitCreditCard, g.s[0], g.e[0], 0.7, 0.95, false)
		} else {
			l.add(bitCreditCard, g.s[0], g.e[k-1], 0.9, 0.98, false)
		}
		return
	}
}

// cardGrouping accepts the ways cards are printed: fours (the last group
// shorter), 4-6-5 (Amex) and 4-6-4 (Diners).
func cardGrouping(g *groups, k int) bool {
	if k == 3 && g.len(0) == 4 && g.len(1) == 6 && (g.len(2) == 5 || g.len(2) == 4) {
		return true
	}
	for x := 0; x < k-1; x++ {
		if g.len(x) != 4 {
			return false
		}
	}
	return g.len(k-1) >= 1 && g.len(k-1) <= 4
}

// ipv4 finds dotted-quad addresses, rejecting leading zeros, the
// unspecified and broadcast addresses, masks, and longer dotted numbers
// (OIDs, versions).
func (d *detector) ipv4(buf []byte, g *groups, l *candList) {
	if g.n < 4 || g.sep[0] != '.' || g.sep[1] != '.' || g.sep[2] != '.' || (g.n > 4 && g.sep[3] == '.') {
		return
	}
	e := g.e[3]
	if e < len(buf) && (isAlnum(buf[e]) || buf[e] == '_' || buf[e] == '@') {
		return
	}
	var o [4]int
	small := true
	for x := 0; x < 4; x++ {
		n := g.len(x)
		if n > 3 || (n > 1 && buf[g.s[x]] == '0') {
			return
		}
		o[x] = num(buf[g.s[x]:g.e[x]])
		if o[x] > 255 {
			return
		}
		if o[x] > 9 {
			small = false
		}
	}
	if o[0] == 0 || o[0] == 255 || o[0] >= 224 {
		return
	}
	base, withCtx := 0.8, 0.95
	switch {
	case small:
		base, withCtx = 0.5, 0.8 // 1.2.3.4 is as often a version as an address
	case o[0] == 10 || o[0] == 127 || (o[0] == 172 && o[1]&0xf0 == 16) || (o[0] == 192 && o[1] == 168) ||
		(o[0] == 169 && o[1] == 254) || (o[0] == 100 && o[1]&0xc0 == 64):
		base, withCtx = 0.7, 0.9
	}
	l.add(bitIPAddress, g.s[0], e, base, withCtx, false)
}

// nearColon reports whether a ':' sits within a hex word of the digit run
// buf[i:j], the cheap test before trying an IPv6 address.
func nearColon(buf []byte, i, j int) bool {
	for p := j; p < len(buf) && p < j+5; p++ {
		if buf[p] == ':' {
			return true
		}
		if !isHex(buf[p]) {
			break
		}
	}
	for p := i - 1; p >= 0 && p >= i-5; p-- {
		if buf[p] == ':' {
			return true
		}
		if !isHex(buf[p]) {
			break
		}
	}
	return false
}

// ipv6 finds IPv6 addresses around the digit at i.
func (d *detector) ipv6(buf []byte, i, lo int, l *candList) {
	n := len(buf)
	s := i
	for s > lo && i-s < 40 && (isHex(buf[s-1]) || buf[s-1] == ':') {
		s--
	}
	e := i
	for e < n && e-s < 46 && (isHex(buf[e]) || buf[e] == ':' || buf[e] == '.') {
		e++
	}
	for e > i && buf[e-1] == '.' {
		e--
	}
	if e > i+1 && buf[e-1] == ':' && buf[e-2] != ':' {
		e-- // "addr 2001:db8::1: refused"
	}
	if (s > 0 && (isAlnum(buf[s-1]) || buf[s-1] == ':' || buf[s-1] == '_')) || (e < n && (isAlnum(buf[e]) || buf[e] == '_' || buf[e] == ':')) {
		return
	}
	seg := buf[s:e]
	colons := bytes.Count(seg, []byte{':'})
	if colons < 2 || colons > 7 {
		return
	}
	if !bytes.Contains(seg, []byte("::")) && colons != 7 && !(colons == 6 && bytes.IndexByte(seg, '.') >= 0) {
		return
	}
	addr, err := netip.ParseAddr(string(seg))
	if err != nil || !addr.Is6() || addr.IsUnspecified() || addr.IsLoopback() {
		return
	}
	base, withCtx := 0.8, 0.95
	if addr.IsLinkLocalUnicast() || addr.IsPrivate() || addr.IsMulticast() {
		base, withCtx = 0.6, 0.85
	}
	l.add(bitIPAddress, s, e, base, withCtx, false)
}

// notTimestamp reports whether a date ending at e is not followed by a time
// (2024-01-15T10:00, 2024-01-15 10:00).
func notTimestamp(buf []byte, e int) bool {
	if e+1 < len(buf) && (buf[e] == 'T' || buf[e] == 't') && isDigit(buf[e+1]) {
		return false
	}
	if e+3 < len(buf) && buf[e] == ' ' && isDigit(buf[e+1]) && isDigit(buf[e+2]) && buf[e+3] == ':' {
		return false
	}
	return true
}

// dateNumeric finds numeric dates (only reported with context: a date is a
// date of birth only when something says so).
func (d *detector) dateNumeric(buf []byte, g *groups, l *candList) {
	if g.n >= 3 {
		sep := g.sep[0]
		if g.sep[1] == sep && (sep == '-' || sep == '/' || sep == '.') && !g.continues(3, sep) {
			e := g.e[2]
			if rightOK(buf, e) && notTimestamp(buf, e) {
				a, b, c := buf[g.s[0]:g.e[0]], buf[g.s[1]:g.e[1]], buf[g.s[2]:g.e[2]]
				ok := false
				switch {
				case len(a) == 4 && len(b) <= 2 && len(c) <= 2:
					ok = validDate(num(a), num(b), num(c), d.maxYear)
				case len(a) <= 2 && len(b) <= 2 && len(c) == 4:
					y := num(c)
					ok = validDate(y, num(a), num(b), d.maxYear) || validDate(y, num(b), num(a), d.maxYear)
				case len(a) <= 2 && len(b) <= 2 && len(c) == 2 && sep == '/':
					y := 1900 + num(c)
					if num(c) <= d.maxYear%100 {
						y += 100
					}
					ok = validDate(y, num(a), num(b), d.maxYear) || validDate(y, num(b), num(a), d.maxYear)
				}
				if ok {
					l.add(bitDateOfBirth, g.s[0], e, 0, 0.85, true)
				}
			}
		}
	}
	if g.len(0) == 8 && !g.continues(1, 0) && rightOK(buf, g.e[0]) {
		dd := buf[g.s[0]:g.e[0]]
		if validDate(num(dd[:4]), num(dd[4:6]), num(dd[6:]), d.maxYear) {
			l.add(bitDateOfBirth, g.s[0], g.e[0], 0, 0.8, true)
		}
	}
}

// dateWords finds "March 15, 1985", "Mar 15 1985" and "15 March 1985",
// "15-Mar-1985" (reported with context only).
func (d *detector) dateWords(buf []byte, i, lo int, l *candList) {
	n := len(buf)
	day := func(p int) (int, int) { // value, end
		q := p
		for q < n && isDigit(buf[q]) && q-p < 3 {
			q++
		}
		if q-p < 1 || q-p > 2 {
			return 0, p
		}
		return num(buf[p:q]), q
	}
	year := func(p int) (int, int, bool) {
		if p+4 > n || !isDigit(buf[p]) || !isDigit(buf[p+1]) || !isDigit(buf[p+2]) || !isDigit(buf[p+3]) {
			return 0, p, false
		}
		return num(buf[p : p+4]), p + 4, rightOK(buf, p+4)
	}
	// Month first: the word before i.
	if i >= 2 && buf[i-1] == ' ' {
		ws := i - 1
		for ws > lo && isLetter(buf[ws-1]) && i-1-ws < 10 {
			ws--
		}
		if m := monthOf(buf[ws : i-1]); m > 0 && leftOK(buf, ws) {
			dv, p := day(i)
			if p > i {
				if p+2 <= n && (string(buf[p:p+2]) == "st" || string(buf[p:p+2]) == "nd" ||
					string(buf[p:p+2]) == "rd" || string(buf[p:p+2]) == "th") {
					p += 2
				}
				if p < n && buf[p] == ',' {
					p++
				}
				if p < n && buf[p] == ' ' {
					if y, e, ok := year(p + 1); ok && validDate(y, m, dv, d.maxYear) {
						l.add(bitDateOfBirth, ws, e, 0, 0.85, true)
						return
					}
				}
			}
		}
	}
	// Day first.
	if !leftOK(buf, i) {
		return
	}
	dv, p := day(i)
	if p == i || p >= n || (buf[p] != ' ' && buf[p] != '-') {
		return
	}
	sep := buf[p]
	ws := p + 1
	we := ws
	for we < n && isLetter(buf[we]) && we-ws < 10 {
		we++
	}
	m := monthOf(buf[ws:we])
	if m == 0 || we >= n {
		return
	}
	q := we
	if buf[q] == ',' {
		q++
	}
	if q >= n || (buf[q] != sep && buf[q] != ' ') {
		return
	}
	if y, e, ok := year(q + 1); ok && validDate(y, m, dv, d.maxYear) {
		l.add(bitDateOfBirth, i, e, 0, 0.85, true)
	}
}

// bareIDs finds digit-only passport and driver's licence numbers, which are
// only reported with context.
func (d *detector) bareIDs(buf []byte, g *groups, l *candList) {
	if n := g.len(0); n >= 6 && n <= 9 && !g.continues(1, 0) && rightOK(buf, g.e[0]) && !allSame(buf[g.s[0]:g.e[0]]) {
		l.add(bitPassportNumber, g.s[0], g.e[0], 0, 0.8, true)
	}
	d.licenceDigits(buf, g, g.s[0], 7, 13, l)
}

// licenceDigits adds a driver's licence candidate from start to the end of
// the digit groups when they hold minDigits..maxDigits digits joined
// uniformly by dashes or spaces (state formats vary: A1234567, 123 456 789,
// D123-4567-8901 ...).
func (d *detector) licenceDigits(buf []byte, g *groups, start, minDigits, maxDigits int, l *candList) {
	if g.len(0) > maxDigits {
		return // every k includes the first group
	}
	top := g.n
	if g.sep[0] != ' ' && g.sep[0] != '-' {
		top = 1 // more groups need uniform dashes or spaces
	}
	for k := top; k >= 1; k-- {
		sep, ok := g.uniform(k)
		if !ok || (k > 1 && sep != '-' && sep != ' ') || (g.continues(k, sep) && sep != ' ') {
			continue
		}
		total := 0
		for x := 0; x < k; x++ {
			total += g.len(x)
		}
		if total < minDigits || total > maxDigits || !rightOK(buf, g.e[k-1]) {
			continue
		}
		l.add(bitUSDriversLicense, start, g.e[k-1], 0, 0.8, true)
		return
	}
}

// lettered runs the matchers for digits preceded by one or two capital
// letters: IBAN, UK National Insurance number, passport and licence numbers.
func (d *detector) lettered(buf []byte, i, k int, l *candList, g *groups) {
	s := i - k
	n := len(buf)
	if k == 2 {
		d.iban(buf, s, l)
	}
	parseGroups(g, buf, i)
	if k == 2 && g.len(0) == 6 && validNINOPrefix(buf[s], buf[s+1]) {
		e := g.e[0]
		switch {
		case e < n && buf[e] >= 'A' && buf[e] <= 'D' && rightOK(buf, e+1):
			l.add(bitUKNINO, s, e+1, 0.85, 0.97, false)
		case e+1 < n && buf[e] == ' ' && buf[e+1] >= 'A' && buf[e+1] <= 'D' && rightOK(buf, e+2):
			l.add(bitUKNINO, s, e+2, 0.85, 0.97, false)
		case rightOK(buf, e) && !g.continues(1, 0):
			l.add(bitUKNINO, s, e, 0, 0.85, true)
		}
	}
	if m := g.len(0); m >= 6 && m <= 9 && !g.continues(1, 0) && rightOK(buf, g.e[0]) {
		l.add(bitPassportNumber, s, g.e[0], 0, 0.85, true)
	}
	d.licenceDigits(buf, g, s, 4, 14, l)
}

// ninoSpaced finds "AB 12 34 56 C" (the letters before i, then a space).
func (d *detector) ninoSpaced(buf []byte, i, lo int, l *candList) {
	n := len(buf)
	if i < 3 || i-3 < lo || buf[i-1] != ' ' || !isUpper(buf[i-2]) || !isUpper(buf[i-3]) || !leftOK(buf, i-3) {
		return
	}
	if !validNINOPrefix(buf[i-3], buf[i-2]) {
		return
	}
	p := i
	digits := 0
	for p < n && digits < 6 {
		if isDigit(buf[p]) {
			digits++
			p++
			continue
		}
		if buf[p] == ' ' && digits%2 == 0 && digits > 0 && p+1 < n && isDigit(buf[p+1]) {
			p++
			continue
		}
		break
	}
	if digits != 6 {
		return
	}
	switch {
	case p+1 < n && buf[p] == ' ' && buf[p+1] >= 'A' && buf[p+1] <= 'D' && rightOK(buf, p+2):
		l.add(bitUKNINO, i-3, p+2, 0.9, 0.97, false)
	case p < n && buf[p] >= 'A' && buf[p] <= 'D' && rightOK(buf, p+1):
		l.add(bitUKNINO, i-3, p+1, 0.9, 0.97, false)
	case rightOK(buf, p):
		l.add(bitUKNINO, i-3, p, 0, 0.85, true)
	}
}

// iban finds an IBAN starting at s (two capital letters, two check digits,
// the country's BBAN length, compact or in groups of four), checked mod 97.
func (d *detector) iban(buf []byte, s int, l *candList) {
	want := ibanLength[[2]byte{buf[s], buf[s+1]}]
	if want == 0 {
		return
	}
	n := len(buf)
	var b [34]byte
	nb := 0
	p := s
	for p < n && nb < want {
		c := buf[p]
		if isDigit(c) || isUpper(c) {
			b[nb] = c
			nb++
			p++
			continue
		}
		if c == ' ' && nb%4 == 0 && p+1 < n && (isDigit(buf[p+1]) || isUpper(buf[p+1])) {
			p++
			continue
		}
		break
	}
	if nb != want || !isDigit(b[2]) || !isDigit(b[3]) || !rightOK(buf, p) || ibanMod97(b[:nb]) != 1 {
		return
	}
	l.add(bitIBAN, s, p, 0.95, 0.99, false)
}

// phone finds North American numbers (NANP rules: area code [2-9][0-8]X not
// N11, exchange [2-9]XX not N11) in their usual forms, and international
// numbers written with '+' and an assigned country code (E.164 length).
func (d *detector) phone(buf []byte, i int, l *candList) {
	n := len(buf)
	s := i
	plus := i > 0 && buf[i-1] == '+'
	paren := i > 0 && buf[i-1] == '('
	if plus || paren {
		s = i - 1
	}
	if !leftOK(buf, s) {
		return
	}
	if plus {
		d.e164(buf, s, l)
		return
	}
	q := i
	trunk := false
	if !paren && buf[q] == '1' && q+2 < n && (buf[q+1] == '-' || buf[q+1] == ' ' || buf[q+1] == '.') &&
		(isDigit(buf[q+2]) || buf[q+2] == '(') {
		trunk = true
		q += 2
	}
	var npa []byte
	var sep1 byte
	if paren || buf[q] == '(' {
		if !paren {
			q++
		}
		if q+4 > n || !digits(buf[q:q+3]) || buf[q+3] != ')' {
			return
		}
		npa = buf[q : q+3]
		q += 4
		if q < n && buf[q] == ' ' {
			q++
		}
		sep1 = ')'
	} else {
		if q+4 > n || !digits(buf[q:q+3]) {
			return
		}
		npa = buf[q : q+3]
		q += 3
		switch c := buf[q]; {
		case c == '-' || c == '.' || c == ' ':
			sep1 = c
			q++
		case isDigit(c):
		default:
			return
		}
	}
	if q+4 > n || !digits(buf[q:q+3]) {
		return
	}
	nxx := buf[q : q+3]
	q += 3
	var sep2 byte
	switch c := buf[q]; {
	case c == '-' || c == '.' || c == ' ':
		sep2 = c
		q++
	case isDigit(c):
	default:
		return
	}
	if q+4 > n || !digits(buf[q:q+4]) {
		return
	}
	e := q + 4
	switch sep1 {
	case ')':
		if sep2 == ' ' {
			return
		}
	default:
		if sep2 != sep1 {
			return
		}
	}
	if (e < n && isDigit(buf[e])) || !rightOK(buf, e) || !validNANP(npa, nxx) {
		return
	}
	var base, withCtx float64
	need := false
	switch sep1 {
	case ')', '-':
		base, withCtx = 0.7, 0.95
	case '.':
		base, withCtx = 0.6, 0.9
	case ' ':
		base, withCtx = 0.5, 0.9
	default:
		base, withCtx, need = 0, 0.8, true
	}
	if trunk && !need {
		base += 0.05
	}
	l.add(bitPhone, s, e, base, withCtx, need)
}

func digits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// e164 finds "+<country code><number>" with optional single spaces, dashes,
// dots and a parenthesised group ("+44 (0)20 7946 0958").
func (d *detector) e164(buf []byte, s int, l *candList) {
	n := len(buf)
	var dg [20]byte
	nd := 0
	p := s + 1
	end := p
	open := false
	for p < n && nd < 18 {
		c := buf[p]
		switch {
		case isDigit(c):
			dg[nd] = c
			nd++
			p++
			end = p
			continue
		case (c == ' ' || c == '-' || c == '.') && p == end && p+1 < n && (isDigit(buf[p+1]) || buf[p+1] == '(') && nd > 0:
			p++
			continue
		case c == '(' && !open && nd > 0 && p+1 < n && isDigit(buf[p+1]):
			open = true
			p++
			continue
		case c == ')' && open && p == end:
			open = false
			p++
			if p < n && buf[p] == ' ' && p+1 < n && isDigit(buf[p+1]) {
				p++
			}
			end = p
			continue
		}
		break
	}
	if open || nd < 8 || nd > 15 || !rightOK(buf, end) {
		return
	}
	dd := dg[:nd]
	if callingCodeLen(dd) == 0 {
		return
	}
	if dd[0] == '1' {
		if nd != 11 || !validNANP(dd[1:4], dd[4:7]) {
			return
		}
		l.add(bitPhone, s, end, 0.85, 0.95, false)
		return
	}
	if allSame(dd[1:]) {
		return
	}
	l.add(bitPhone, s, end, 0.8, 0.95, false)
}

// email finds an address around the '@' at at: a local part of up to 64
// characters, a domain of dot-separated labels with an alphabetic top-level
// label that is not a file extension ("icon@2x.png", "lodash@4.17.21").
func (d *detector) email(buf []byte, at, lo int) (match, bool) {
	if d.types&bitEmail == 0 {
		return match{}, false
	}
	n := len(buf)
	s := at
	for s > lo && at-s <= 64 && class[buf[s-1]]&clLocal != 0 {
		s--
	}
	for s < at && (buf[s] == '.' || buf[s] == '-' || buf[s] == '+') {
		s++
	}
	if s == at || at-s > 64 || buf[at-1] == '.' || bytes.Contains(buf[s:at], []byte("..")) {
		return match{}, false
	}
	e := at + 1
	for e < n && e-at <= 254 && class[buf[e]]&clDomain != 0 {
		e++
	}
	for e > at+1 && (buf[e-1] == '.' || buf[e-1] == '-') {
		e--
	}
	if e-at-1 > 253 || e-at-1 < 3 || (e < n && (buf[e] == '@' || buf[e] == '_')) {
		return match{}, false
	}
	dom := buf[at+1 : e]
	labels := 0
	last := 0
	for start := 0; start <= len(dom); {
		end := bytes.IndexByte(dom[start:], '.')
		if end < 0 {
			end = len(dom)
		} else {
			end += start
		}
		lab := dom[start:end]
		if len(lab) == 0 || len(lab) > 63 || lab[0] == '-' || lab[len(lab)-1] == '-' {
			return match{}, false
		}
		labels++
		last = start
		start = end + 1
	}
	tld := dom[last:]
	if labels < 2 || len(tld) < 2 || len(tld) > 24 {
		return match{}, false
	}
	for _, c := range tld {
		if !isLetter(c) {
			return match{}, false
		}
	}
	var low [maxWordLen]byte
	if fileExtensions[string(lowerWord(&low, tld))] || string(buf[s:at]) == "git" {
		return match{}, false
	}
	conf := 0.9
	if exampleDomain(dom) {
		conf = 0.6
	}
	if conf < d.minConf {
		return match{}, false
	}
	return match{Email, s, e, conf}, true
}

// fileExtensions are top-level labels that, after an '@', mean a file name
// ("logo@2x.png") or a package version rather than a mail domain.
var fileExtensions = map[string]bool{"png": true, "jpg": true, "jpeg": true, "gif": true, "svg": true,
	"webp": true, "ico": true, "bmp": true, "css": true, "js": true, "ts": true, "tsx": true, "jsx": true,
	"map": true, "json": true, "xml": true, "html": true, "htm": true, "php": true, "rb": true,
	"java": true, "txt": true, "lock": true, "log": true, "yaml": true, "yml": true, "toml": true,
	"woff": true, "woff2": true, "ttf": true, "mjs": true, "cjs": true, "scss": true, "vue": true}

// exampleDomain reports reserved documentation domains (RFC 2606).
func exampleDomain(dom []byte) bool {
	var low [maxWordLen]byte
	lw := dom
	if len(dom) > 32 {
		lw = dom[len(dom)-32:]
	}
	lw = lowerWord(&low, lw)
	for _, suf := range []string{"example.com", "example.org", "example.net", ".example", ".test", ".invalid", ".localhost"} {
		if bytes.HasSuffix(lw, []byte(suf)) {
			return true
		}
	}
	return false
}
