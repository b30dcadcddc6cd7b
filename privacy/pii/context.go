package pii

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Context: the words around a candidate, and the column or key it sits in,
// raise or lower its confidence. Words are matched whole (lower-cased), so
// "sin" in "using" or "dl" in "handle" never counts.

// ctxInfo is what context says about a candidate: the types its words point
// to, and whether a word says "this is an order, tracking, version ... number".
type ctxInfo struct {
	pos     typeSet
	neg     bool
	near    typeSet // the types named by the keyword closest before the candidate
	nearNeg bool    // the closest meaningful word is a negative one ("SSN 536-22-1234, order 123-45-6789")
}

// or adds structural context (a column or key name) to the words around.
func (c ctxInfo) or(o ctxInfo) ctxInfo {
	return ctxInfo{c.pos | o.pos, c.neg || o.neg, c.near | o.pos, c.nearNeg && o.pos == 0}
}

// keywords maps a lower-case word to the types it points to.
var keywords = map[string]typeSet{}

// negativeWords name identifiers that look like personal data but are not.
var negativeWords = map[string]bool{}

func init() {
	add := func(t Type, words ...string) {
		for _, w := range words {
			keywords[w] |= t.bit()
		}
	}
	add(USSSN, "ssn", "ssns", "ss", "socsec", "socialsecurity", "socialsecuritynumber", "ssnumber")
	add(USITIN, "itin", "itins", "taxpayer", "tin")
	add(CASIN, "sin", "sins", "socialinsurance", "socialinsurancenumber", "nas")
	add(UKNINO, "nino", "ninumber", "nationalinsurance", "nationalinsurancenumber", "ni", "nin")
	add(PassportNumber, "passport", "passports", "passportno", "passportnum", "passportnumber", "ppn")
	add(USDriversLicense, "dl", "dln", "dlno", "dlnum", "dlnumber", "licence", "license", "lic",
		"driver", "drivers", "driving", "driverslicense", "driverlicense", "drivinglicence", "licenseno",
		"licensenumber", "licencenumber")
	add(DateOfBirth, "dob", "birth", "birthday", "birthdate", "born", "bday", "dateofbirth", "birthdt")
	add(Phone, "phone", "phones", "tel", "telephone", "mobile", "cell", "cellphone", "fax", "ph",
		"phonenumber", "mobilephone", "homephone", "workphone", "msisdn", "sms", "call", "contact", "whatsapp")
	add(Email, "email", "emails", "mail", "mailto", "emailaddress", "e-mail")
	add(CreditCard, "card", "cards", "cc", "ccn", "ccnum", "visa", "mastercard", "amex", "discover",
		"credit", "creditcard", "cardnumber", "cardno", "pan", "payment")
	add(IBAN, "iban", "bank", "account", "acct", "bic", "swift")
	add(IPAddress, "ip", "ips", "ipaddr", "ipaddress", "ipv4", "ipv6", "client", "remote", "remoteaddr",
		"src", "dst", "source", "peer", "from", "xff", "forwarded")
	for _, w := range []string{"order", "orders", "ord", "tracking", "track", "trk", "shipment",
		"shipping", "invoice", "inv", "ref", "reference", "uuid", "guid", "sku", "serial", "build",
		"version", "ver", "txn", "transaction", "confirmation", "ticket", "po", "isbn", "upc", "ean",
		"hash", "sha", "sha1", "sha256", "md5", "checksum", "crc", "pid", "uid", "gid", "port",
		"zip", "zipcode", "postal", "amount", "total", "price", "qty", "quantity", "batch", "lot",
		"claim", "policy", "release", "commit", "revision", "rev", "part", "model", "issue", "bug",
		"pr", "oid", "snmp", "timestamp", "epoch", "ts", "seq", "sequence", "offset", "size", "bytes",
		"count", "duration", "ms", "pin", "otp", "code", "token", "nonce", "key", "vin", "imei"} {
		negativeWords[w] = true
	}
}

// lowerWord writes w lower-cased into dst (up to 32 bytes) and returns it.
func lowerWord(dst *[maxWordLen]byte, w []byte) []byte {
	if len(w) > len(dst) {
		return nil
	}
	for i, c := range w {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
	return dst[:len(w)]
}

// wordInfo is what one word says: the types it names, or that it is negative.
type wordInfo struct {
	word  string
	types typeSet
	neg   bool
}

// wordTable is an open-addressing hash table of keywords and negative words:
// context is read for many candidates, and a plain map's string hashing was a
// fifth of the scan's time.
var wordTable [2048]wordInfo

const maxWordLen = 32

func wordHash(w []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range w {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

func addWord(w string, types typeSet, neg bool) {
	i := int(wordHash([]byte(w))) & (len(wordTable) - 1)
	for wordTable[i].word != "" && wordTable[i].word != w {
		i = (i + 1) & (len(wordTable) - 1)
	}
	e := &wordTable[i]
	e.word = w
	e.types |= types
	e.neg = e.neg || neg
}

// lookupWord finds a lower-case word.
func lookupWord(w []byte) (typeSet, bool) {
	i := int(wordHash(w)) & (len(wordTable) - 1)
	for {
		e := &wordTable[i]
		if e.word == "" {
			return 0, false
		}
		if e.word == string(w) {
			return e.types, e.neg
		}
		i = (i + 1) & (len(wordTable) - 1)
	}
}

func init() {
	for w, t := range keywords {
		addWord(w, t, false)
		addFilter(w)
	}
	for w := range negativeWords {
		addWord(w, 0, true)
		addFilter(w)
	}
	for _, w := range phraseWords {
		addFilter(w)
	}
}

// phraseWords are the words of the two-word phrases (see phrase).
var phraseWords = []string{"social", "security", "insurance", "national", "tax", "taxpayer", "id", "of", "birth", "d", "o"}

// wordFilter says, for a word's first and last character, which lengths a
// keyword, negative or phrase word can have (bit n for length n): most words
// of a text are none of them and are passed over without lower-casing or
// hashing.
var wordFilter [36 * 36]uint64

// filterIndex maps a letter (either case) to 0..25 and a digit to 26..35.
func filterIndexOf(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	}
	return 26 + int(c-'0')
}

// filterIndexTable is filterIndexOf for every letter and digit.
var filterIndexTable = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if b := byte(c); (b|0x20) >= 'a' && (b|0x20) <= 'z' || b >= '0' && b <= '9' {
			t[c] = uint8(filterIndexOf(b))
		}
	}
	return t
}()

func filterIndex(c byte) int { return int(filterIndexTable[c]) }

func addFilter(w string) {
	for i := 0; i < len(w); i++ {
		// Not isAlnum: its table may not be filled yet when this init runs.
		if c := w[i] | 0x20; !(c >= 'a' && c <= 'z') && !(w[i] >= '0' && w[i] <= '9') {
			return // never read as one word ("e-mail")
		}
	}
	wordFilter[filterIndex(w[0])*36+filterIndex(w[len(w)-1])] |= 1 << len(w)
}

// mayMatter reports whether the alphanumeric word w (at most maxWordLen
// bytes) can be a keyword, a negative word or part of a phrase.
func mayMatter(w []byte) bool {
	return wordFilter[filterIndex(w[0])*36+filterIndex(w[len(w)-1])]&(1<<len(w)) != 0
}

// scanWords feeds ctx with the words of text. Two-word phrases ("social
// security", "national insurance", "date of birth") are checked as one word.
// Words starting with a digit are never keywords and are passed over.
func scanWords(text []byte, ctx *ctxInfo) {
	var buf, prevBuf [maxWordLen]byte
	var prev []byte
	i := 0
	for i < len(text) {
		for i < len(text) && !isAlnum(text[i]) {
			i++
		}
		s := i
		for i < len(text) && isAlnum(text[i]) {
			i++
		}
		if s == i {
			break
		}
		if isDigit(text[s]) || i-s > maxWordLen {
			prev = nil
			continue
		}
		w := lowerWord(&buf, text[s:i])
		k, neg := lookupWord(w)
		if k != 0 {
			ctx.pos |= k
			ctx.near = k
			ctx.nearNeg = false
		}
		if neg {
			ctx.neg = true
			ctx.nearNeg = true
			ctx.near = 0
		}
		if prev != nil {
			if k := phrase(prev, w); k != 0 {
				ctx.pos |= k
				ctx.near = k
			}
		}
		prevBuf = buf
		prev = prevBuf[:len(w)]
	}
}

// windowBefore and windowAfter bound how far context words are looked for
// around a candidate (on the same line).
const (
	windowBefore = 48
	windowAfter  = 24
)

// wordHit is a keyword, phrase or negative word found in the buffer.
type wordHit struct {
	start, end int
	types      typeSet
	neg        bool
}

// wordCache reads the words of one buffer once, as candidates ask for their
// context windows in increasing order, and keeps the meaningful ones; close
// candidates (a log line holds several) share the reading.
type wordCache struct {
	hits    []wordHit
	first   int // hits before this are behind every later window
	scanned int // buf[:scanned] has been read, up to a word boundary
	prev    [maxWordLen]byte
	prevLen int
	prevEnd int // -1 when there is no previous word to pair with

	// A stretch of the current line known to hold no newline, so the
	// candidates of one line find their window bounds without searching:
	// buf[segFrom:segTo] has no '\n'; segFrom is the line's start when
	// fromLine, segTo is a '\n' or the buffer's end when toLine.
	segFrom, segTo   int
	fromLine, toLine bool
}

// segmentSearch bounds the search for a line's end, so a very long line
// costs no more than its windows.
const segmentSearch = 4096

// read records the meaningful words of buf[from:to] (from and to are word
// boundaries). It walks the text eight bytes at a time with masks of its
// letters and digits and visits only the words that start with a letter
// (about half of a log's words start with a digit and never matter); of
// those, only the few whose first and last letters and length fit a keyword
// are lower-cased and hashed.
func (c *wordCache) read(buf []byte, from, to int) {
	b := buf[:to]    // lets the compiler drop the bounds checks below
	var carry uint64 // 0x80 when the byte before the block is a letter or digit
	for p := from; p < len(b); p += 8 {
		var x uint64
		if p+8 <= len(b) {
			x = binary.LittleEndian.Uint64(b[p:])
		} else {
			var tmp [8]byte
			copy(tmp[:], b[p:])
			x = binary.LittleEndian.Uint64(tmp[:]) // zero padding ends a word at to
		}
		a := alnumMask(x)
		starts := a &^ (a<<8 | carry) &^ digitMask(x)
		carry = a >> 56
		for starts != 0 {
			low := starts & -starts
			starts ^= low
			s := p + bits.TrailingZeros64(low)>>3
			var e int
			if z := ^(a | (low - 1)) & hi8; z != 0 {
				e = p + bits.TrailingZeros64(z)>>3
			} else {
				e = wordEnd(b, p+8) // the word goes on past the block
			}
			if e-s <= maxWordLen && mayMatter(b[s:e]) {
				c.word(b, s, e)
			}
		}
	}
}

// word records the word b[s:e], which may matter, if it is a keyword, a
// negative word or ends a phrase, and keeps it as the previous word: a
// phrase's words are at most three bytes apart on one line, with no other
// word between them.
func (c *wordCache) word(b []byte, s, e int) {
	var low [maxWordLen]byte
	w := lowerWord(&low, b[s:e])
	k, neg := lookupWord(w)
	if c.prevEnd >= 0 && c.prevEnd >= s-3 && plainGap(b[c.prevEnd:s]) {
		if p := phrase(c.prev[:c.prevLen], w); p != 0 {
			k |= p
		}
	}
	if k != 0 || neg {
		c.hits = append(c.hits, wordHit{s, e, k, neg})
	}
	c.prev = low
	c.prevLen = len(w)
	c.prevEnd = e
}

// plainGap reports whether the bytes between two words hold no other word
// and no line break.
func plainGap(g []byte) bool {
	for _, ch := range g {
		if ch == '\n' || isAlnum(ch) {
			return false
		}
	}
	return true
}

// digitMask sets the high bit of each byte of x that is an ASCII digit.
func digitMask(x uint64) uint64 {
	t := x & (lo8 * 0x7f)
	return (t + lo8*(0x80-'0')) & ^(t + lo8*(0x7f-'9')) & ^x & hi8
}

// reset forgets the words read (keeping the space) for a new buffer.
func (c *wordCache) reset() {
	c.hits = c.hits[:0]
	c.first, c.scanned, c.prevLen, c.prevEnd = 0, 0, 0, -1
	c.segFrom, c.segTo, c.fromLine, c.toLine = 0, 0, false, false
}

// window reads the words of the candidate buf[start:end]'s context window
// (its line, windowBefore bytes before and windowAfter after, not starting
// or ending inside a word) and returns the window; c.hits[c.first:] are the
// words from its start on.
func (c *wordCache) window(buf []byte, start, end int) (ws, we int) {
	ws, we = max(start-windowBefore, 0), min(end+windowAfter, len(buf))
	if start >= c.segFrom && end <= c.segTo && (c.fromLine || ws >= c.segFrom) && (c.toLine || we <= c.segTo) {
		ws, we = max(ws, c.segFrom), min(we, c.segTo)
	} else {
		c.segFrom, c.fromLine = ws, ws == 0
		if k := bytes.LastIndexByte(buf[ws:start], '\n'); k >= 0 {
			ws += k + 1
			c.segFrom, c.fromLine = ws, true
		}
		limit := min(end+segmentSearch, len(buf))
		c.segTo, c.toLine = limit, limit == len(buf)
		if k := bytes.IndexByte(buf[end:limit], '\n'); k >= 0 {
			c.segTo, c.toLine = end+k, true
		}
		we = min(we, c.segTo)
	}
	if ws > 0 && buf[ws-1] != '\n' {
		for ws < start && isAlnum(buf[ws]) { // do not start inside a word
			ws++
		}
	}
	if we < len(buf) && buf[we] != '\n' {
		for we > end && isAlnum(buf[we-1]) {
			we--
		}
	}
	if c.scanned < ws {
		if k := resync(buf, ws); k > c.scanned {
			c.scanned, c.prevEnd = k, -1
		}
	}
	if we > c.scanned {
		c.read(buf, c.scanned, we)
		c.scanned = we
	}
	for c.first < len(c.hits) && c.hits[c.first].start < ws {
		c.first++
	}
	return ws, we
}

// resync returns where to start reading words afresh for a window that
// starts at ws, when what was read so far ends before it: the start of the
// word just before ws (at most three bytes of spaces or punctuation before
// it on the same line), or of the word ws is inside. Reading that word
// first leaves the cache as it would be had every byte before been read:
// its hit lies before the window and is passed over, but it is the previous
// word a phrase's second word pairs with ("social | insurance number 046
// 454 286"). Starting at ws itself made a candidate's context depend on
// whether an earlier window had read that word, and so on where the buffer,
// that is the read chunk, began.
func resync(buf []byte, ws int) int {
	r := ws
	for r > 0 && ws-r < 3 && !isAlnum(buf[r-1]) && buf[r-1] != '\n' {
		r--
	}
	k := r
	for k > 0 && isAlnum(buf[k-1]) && r-k <= maxWordLen {
		k--
	}
	return k
}

// typesAround returns the types the words around the candidate
// buf[start:end] name: ctxInfo.pos of around without a hint, for a
// candidate list that is only reported with context (most are not, and
// need no more than this).
func (c *wordCache) typesAround(buf []byte, start, end int) typeSet {
	_, we := c.window(buf, start, end)
	var t typeSet
	for _, h := range c.hits[c.first:] {
		if h.end > we {
			break
		}
		if h.end <= start || h.start >= end {
			t |= h.types
		}
	}
	return t
}

// around returns the context of the candidate buf[start:end]: the words on
// its line within windowBefore bytes before and windowAfter bytes after.
func (c *wordCache) around(buf []byte, start, end int) ctxInfo {
	_, we := c.window(buf, start, end)
	var ctx, after ctxInfo
	for _, h := range c.hits[c.first:] {
		if h.end > we {
			break
		}
		switch {
		case h.end <= start:
			if h.types != 0 {
				ctx.pos |= h.types
				ctx.near, ctx.nearNeg = h.types, false
			}
			if h.neg {
				ctx.neg, ctx.near, ctx.nearNeg = true, 0, true
			}
		case h.start >= end:
			after.pos |= h.types
			after.neg = after.neg || h.neg
		}
	}
	near, nearNeg := ctx.near, ctx.nearNeg
	ctx.pos |= after.pos
	ctx.neg = ctx.neg || after.neg
	if near == 0 && !nearNeg {
		near, nearNeg = after.pos, after.neg && after.pos == 0
	}
	ctx.near, ctx.nearNeg = near, nearNeg
	return ctx
}

// nameContext reads a column or key name ("customer_ssn", "dateOfBirth",
// "Phone Number") as context: its words, camelCase split, and the whole name
// run together.
func nameContext(name string) ctxInfo {
	var ctx ctxInfo
	b := make([]byte, 0, len(name)*2)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if i > 0 && c >= 'A' && c <= 'Z' && name[i-1] >= 'a' && name[i-1] <= 'z' {
			b = append(b, ' ')
		}
		b = append(b, c)
	}
	scanWords(b, &ctx)
	// "date_of_birth" -> "dateofbirth", "PhoneNumber" -> "phonenumber".
	joined := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		if isAlnum(name[i]) {
			joined = append(joined, name[i])
		}
	}
	var buf [maxWordLen]byte
	if w := lowerWord(&buf, joined); w != nil {
		ctx.pos |= keywords[string(w)]
	}
	return ctx
}

// phrase returns the types a two-word phrase points to.
func phrase(a, b []byte) typeSet {
	switch string(a) {
	case "social":
		switch string(b) {
		case "security":
			return USSSN.bit()
		case "insurance":
			return CASIN.bit()
		}
	case "national":
		if string(b) == "insurance" {
			return UKNINO.bit()
		}
	case "tax", "taxpayer":
		if string(b) == "id" {
			return USITIN.bit()
		}
	case "of":
		if string(b) == "birth" {
			return DateOfBirth.bit()
		}
	case "d":
		if string(b) == "o" {
			return DateOfBirth.bit()
		}
	}
	return 0
}

// alnumMask sets the high bit of each byte of x that is an ASCII letter or
// digit (eight bytes at a time: words are read for every candidate's context).
func alnumMask(x uint64) uint64 {
	t := x & (lo8 * 0x7f)
	y := t | (lo8 * 0x20) // letters folded to lower case
	letters := (y + lo8*(0x80-'a')) & ^(y + lo8*(0x7f-'z'))
	digits := (t + lo8*(0x80-'0')) & ^(t + lo8*(0x7f-'9'))
	return (letters | digits) & ^x & hi8
}

// wordEnd returns the end of the run of letters and digits at b[i:].
func wordEnd(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := ^alnumMask(binary.LittleEndian.Uint64(b[i:])) & hi8; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && isAlnum(b[i]) {
		i++
	}
	return i
}
