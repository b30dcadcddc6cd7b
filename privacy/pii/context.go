package pii

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
func lowerWord(dst *[32]byte, w []byte) []byte {
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

// scanWords feeds ctx with the words of text. Two-word phrases ("social
// security", "national insurance", "date of birth") are checked as one word.
func scanWords(text []byte, ctx *ctxInfo) {
	var buf, prevBuf [32]byte
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
		w := lowerWord(&buf, text[s:i])
		if w == nil {
			prev = nil
			continue
		}
		if k := keywords[string(w)]; k != 0 {
			ctx.pos |= k
			ctx.near = k
			ctx.nearNeg = false
		}
		if negativeWords[string(w)] {
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

// contextAround reads the words on the same line within the window around
// buf[start:end]. lo is the lowest index that may be read.
func contextAround(buf []byte, start, end, lo int) ctxInfo {
	var ctx ctxInfo
	s := start
	for s > lo && start-s < windowBefore && buf[s-1] != '\n' {
		s--
	}
	// Do not start in the middle of a word: it would read a different word.
	if s > lo && buf[s-1] != '\n' {
		for s < start && isAlnum(buf[s]) {
			s++
		}
	}
	scanWords(buf[s:start], &ctx)
	near, nearNeg := ctx.near, ctx.nearNeg
	e := end
	for e < len(buf) && e-end < windowAfter && buf[e] != '\n' {
		e++
	}
	if e < len(buf) && buf[e] != '\n' {
		for e > end && isAlnum(buf[e-1]) {
			e--
		}
	}
	after := ctxInfo{}
	scanWords(buf[end:e], &after)
	ctx.pos |= after.pos
	ctx.neg = ctx.neg || after.neg
	ctx.near, ctx.nearNeg = near, nearNeg
	if near == 0 && !nearNeg {
		ctx.near, ctx.nearNeg = after.pos, after.neg && after.pos == 0
	}
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
	var buf [32]byte
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
