package pii

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The labelled corpus: generated lines, each with one known value of a type
// (in the phrasing people use around it) or a look-alike that is not
// personal data. TestCorpus scans each line and reports per-type precision
// and recall; `go test -run Corpus -v ./privacy/pii` prints the table.

type labelled struct {
	text  string
	typ   Type // "" for a look-alike
	value string
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func digitsN(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func luhnComplete(r *rand.Rand, prefix string, n int) string {
	s := prefix + digitsN(r, n-len(prefix)-1)
	for c := byte('0'); c <= '9'; c++ {
		if luhn([]byte(s + string(c))) {
			return s + string(c)
		}
	}
	panic("unreachable")
}

func group(s string, sizes []int, sep string) string {
	var parts []string
	for _, n := range sizes {
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return strings.Join(parts, sep)
}

func nanp(r *rand.Rand) (npa, nxx, line string) {
	for {
		npa = fmt.Sprintf("%d%d%d", 2+r.IntN(8), r.IntN(9), r.IntN(10))
		nxx = fmt.Sprintf("%d%02d", 2+r.IntN(8), r.IntN(100))
		if validNANP([]byte(npa), []byte(nxx)) {
			return npa, nxx, digitsN(r, 4)
		}
	}
}

func ibanFor(r *rand.Rand) string {
	country := pick(r, "GB", "DE", "FR", "NL", "ES", "IT")
	var bban string
	switch country {
	case "GB":
		bban = pick(r, "WEST", "NWBK", "BARC") + digitsN(r, 14)
	case "DE":
		bban = digitsN(r, 18)
	case "FR":
		bban = digitsN(r, 23)
	case "NL":
		bban = pick(r, "ABNA", "INGB", "RABO") + digitsN(r, 10)
	case "ES":
		bban = digitsN(r, 20)
	case "IT":
		bban = "X" + digitsN(r, 22)
	}
	check := 98 - ibanMod97([]byte(country+"00"+bban))
	return fmt.Sprintf("%s%02d%s", country, check, bban)
}

func dob(r *rand.Rand) (y, m, d int) { return 1930 + r.IntN(75), 1 + r.IntN(12), 1 + r.IntN(28) }

var months = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

func positive(r *rand.Rand, t Type) labelled {
	var v, text string
	switch t {
	case Email:
		v = fmt.Sprintf("%s.%s%d@%s", pick(r, "jane", "omar", "li", "ana"), pick(r, "roe", "diaz", "chen"), r.IntN(100), pick(r, "corp.io", "mail.co.uk", "example-hr.com", "uni.edu"))
		text = pick(r, "contact %s today", "%s", "Reply-To: <%s>", "sent by %s, 3 attachments")
	case Phone:
		npa, nxx, line := nanp(r)
		v = pick(r, "("+npa+") "+nxx+"-"+line, npa+"-"+nxx+"-"+line, npa+"."+nxx+"."+line, "+1 "+npa+" "+nxx+" "+line,
			"+44 20 7946 "+digitsN(r, 4), "+49 30 "+digitsN(r, 7), "+33 6 12 34 "+digitsN(r, 2)+" "+digitsN(r, 2))
		text = pick(r, "call %s", "Phone: %s", "%s (mobile)", "reach me at %s after 5pm")
	case CreditCard:
		raw := pick(r, luhnComplete(r, "4", 16), luhnComplete(r, "5"+fmt.Sprint(1+r.IntN(5)), 16),
			luhnComplete(r, pick(r, "34", "37"), 15), luhnComplete(r, "6011", 16))
		switch {
		case len(raw) == 15:
			v = group(raw, []int{4, 6, 5}, pick(r, " ", "-", ""))
		default:
			v = group(raw, []int{4, 4, 4, 4}, pick(r, " ", "-", ""))
		}
		text = pick(r, "card %s", "paid with %s exp 04/27", "%s", "CC#: %s")
	case USSSN:
		a := 1 + r.IntN(665)
		if a == 666 {
			a = 667
		}
		s := fmt.Sprintf("%03d%02d%04d", a, 1+r.IntN(99), 1+r.IntN(9999))
		if r.IntN(2) == 0 {
			v = group(s, []int{3, 2, 4}, "-")
			text = pick(r, "SSN %s", "%s", "social security number: %s", "employee %s on file")
		} else {
			v = s
			text = pick(r, "SSN: %s", "ssn=%s", "Social Security %s")
		}
	case USITIN:
		g := pick(r, 50+r.IntN(16), 70+r.IntN(19), 90+r.IntN(3), 94+r.IntN(6))
		v = fmt.Sprintf("9%02d-%02d-%04d", r.IntN(100), g, 1+r.IntN(9999))
		text = pick(r, "ITIN %s", "taxpayer id %s", "%s")
	case CASIN:
		s := luhnComplete(r, fmt.Sprint(pick(r, 1, 2, 3, 4, 5, 6, 7, 9)), 9)
		v = pick(r, group(s, []int{3, 3, 3}, " "), group(s, []int{3, 3, 3}, "-"), s)
		text = pick(r, "SIN %s", "social insurance number %s", "sin: %s")
	case UKNINO:
		var a, b byte
		for {
			a, b = byte('A'+r.IntN(26)), byte('A'+r.IntN(26))
			if validNINOPrefix(a, b) {
				break
			}
		}
		d := digitsN(r, 6)
		suf := string(rune('A' + r.IntN(4)))
		v = pick(r, string([]byte{a, b})+d+suf, string([]byte{a, b})+" "+group(d, []int{2, 2, 2}, " ")+" "+suf)
		text = pick(r, "NI number %s", "NINO: %s", "%s", "national insurance %s")
	case IBAN:
		raw := ibanFor(r)
		if r.IntN(2) == 0 {
			var parts []string
			for i := 0; i < len(raw); i += 4 {
				parts = append(parts, raw[i:min(i+4, len(raw))])
			}
			v = strings.Join(parts, " ")
		} else {
			v = raw
		}
		text = pick(r, "IBAN %s", "pay to %s by Friday", "%s")
	case USDriversLicense:
		v = pick(r, string(rune('A'+r.IntN(26)))+digitsN(r, 7), digitsN(r, 9), string(rune('A'+r.IntN(26)))+digitsN(r, 12),
			string(rune('A'+r.IntN(26)))+digitsN(r, 3)+"-"+digitsN(r, 4)+"-"+digitsN(r, 4))
		text = pick(r, "DL# %s", "driver's license %s", "License No: %s", "DLN %s issued 2019")
	case PassportNumber:
		v = pick(r, "5"+digitsN(r, 8), string(rune('A'+r.IntN(26)))+digitsN(r, 8), "C"+digitsN(r, 8))
		text = pick(r, "passport %s", "Passport No. %s", "passport number: %s expires 2030")
	case DateOfBirth:
		y, m, d := dob(r)
		v = pick(r, fmt.Sprintf("%d-%02d-%02d", y, m, d), fmt.Sprintf("%02d/%02d/%d", m, d, y), fmt.Sprintf("%s %d, %d", months[m-1], d, y),
			fmt.Sprintf("%d %s %d", d, months[m-1][:3], y))
		text = pick(r, "DOB: %s", "born %s", "date of birth %s", "birthday %s")
	case IPAddress:
		v = pick(r, fmt.Sprintf("%d.%d.%d.%d", 11+r.IntN(180), r.IntN(256), r.IntN(256), 1+r.IntN(254)),
			fmt.Sprintf("2001:db8:%x::%x", r.IntN(65536), 1+r.IntN(65535)),
			fmt.Sprintf("2a00:1450:%x:%x::%x", r.IntN(65536), r.IntN(65536), 1+r.IntN(65535)))
		text = pick(r, "client %s", "login from %s", "%s - - [10/Oct/2024] GET /", "peer=%s")
	}
	return labelled{fmt.Sprintf(text, v), t, v}
}

func lookAlike(r *rand.Rand) labelled {
	hex := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "0123456789abcdef"[r.IntN(16)]
		}
		return string(b)
	}
	npa, nxx, line := nanp(r)
	bad := luhnComplete(r, "4", 16)
	bad = bad[:15] + string(rune('0'+(int(bad[15]-'0')+1)%10))
	iban := ibanFor(r)
	iban = iban[:2] + fmt.Sprintf("%02d", (int(iban[2]-'0')*10+int(iban[3]-'0')+1)%100) + iban[4:]
	v := pick(r,
		"request id "+hex(8)+"-"+hex(4)+"-"+hex(4)+"-"+hex(4)+"-"+hex(12),
		"sha256 "+hex(64),
		"commit "+hex(40),
		fmt.Sprintf("version %d.%d.%d.%d", r.IntN(20), r.IntN(20), r.IntN(30000), r.IntN(100)),
		fmt.Sprintf("v%d.%d.%d", r.IntN(5), r.IntN(20), r.IntN(50)),
		fmt.Sprintf("at 2024-%02d-%02dT%02d:%02d:%02dZ", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60)),
		fmt.Sprintf("created 2024-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)),
		fmt.Sprintf("ts=%d", 1600000000+r.IntN(1e8)),
		fmt.Sprintf("ts=%d", 1600000000000+r.Int64N(1e11)),
		fmt.Sprintf("order #%03d-%02d-%04d", 100+r.IntN(500), 10+r.IntN(89), r.IntN(10000)),
		"Order number "+luhnComplete(r, "4", 16),
		"tracking 1Z"+digitsN(r, 3)+"AA"+digitsN(r, 10),
		"tracking 9400"+digitsN(r, 18),
		"card "+bad,
		// Invalid SSN areas; with a 9xx area, a group no ITIN uses either.
		fmt.Sprintf("ssn %03d-%02d-%04d", pick(r, 0, 666, 900+r.IntN(99)), pick(r, 1+r.IntN(49), 66+r.IntN(4), 89, 93), 1+r.IntN(9998)),
		fmt.Sprintf("%03d-00-%04d", 100+r.IntN(500), r.IntN(10000)),
		"call 1"+npa[1:]+"-"+nxx+"-"+line,
		"call "+npa+"-1"+nxx[1:]+"-"+line,
		"IBAN "+iban,
		"row "+digitsN(r, 9)+" updated",
		"invoice "+digitsN(r, 10),
		"logo@2x.png",
		"npm i left-pad@1."+fmt.Sprint(r.IntN(9))+".0",
		fmt.Sprintf("%d.%d.%d.%d", 256+r.IntN(100), r.IntN(256), r.IntN(256), r.IntN(256)),
		"oid 1.3.6.1.4.1."+fmt.Sprint(r.IntN(50000)),
		fmt.Sprintf("mac %s:%s:%s:%s:%s:%s", hex(2), hex(2), hex(2), hex(2), hex(2), hex(2)),
		fmt.Sprintf("price $%d,%03d.%02d", 1+r.IntN(99), r.IntN(1000), r.IntN(100)),
		fmt.Sprintf("port %d, pid %d", r.IntN(65536), r.IntN(99999)),
		fmt.Sprintf("QQ %02d %02d %02d C", r.IntN(100), r.IntN(100), r.IntN(100)),
		fmt.Sprintf("uptime %d:%02d:%02d", r.IntN(100), r.IntN(60), r.IntN(60)),
		"build 2024"+fmt.Sprintf("%02d%02d", 1+r.IntN(12), 1+r.IntN(28))+"."+fmt.Sprint(r.IntN(10)),
	)
	return labelled{text: v}
}

// corpus returns n positives per type and as many look-alikes in all.
func corpus(n int) []labelled {
	r := rand.New(rand.NewPCG(2024, 6))
	var out []labelled
	for _, t := range AllTypes {
		for range n {
			out = append(out, positive(r, t))
		}
	}
	for range n * len(AllTypes) {
		out = append(out, lookAlike(r))
	}
	return out
}

type prCount struct{ tp, fp, fn int }

func TestCorpus(t *testing.T) {
	d := testDetector()
	counts := map[Type]*prCount{}
	for _, typ := range AllTypes {
		counts[typ] = &prCount{}
	}
	var misses []string
	for _, l := range corpus(300) {
		found := false
		for _, h := range detectAll(d, l.text, ctxInfo{}) {
			if l.typ != "" && h.typ == l.typ && h.value == l.value {
				counts[h.typ].tp++
				found = true
				continue
			}
			counts[h.typ].fp++
			if len(misses) < 40 {
				misses = append(misses, fmt.Sprintf("false %s %q in %q", h.typ, h.value, l.text))
			}
		}
		if l.typ != "" && !found {
			counts[l.typ].fn++
			if len(misses) < 40 {
				misses = append(misses, fmt.Sprintf("missed %s %q in %q", l.typ, l.value, l.text))
			}
		}
	}
	t.Logf("%-20s %9s %9s", "type", "precision", "recall")
	for _, typ := range AllTypes {
		c := counts[typ]
		p := float64(c.tp) / float64(max(c.tp+c.fp, 1))
		rc := float64(c.tp) / float64(max(c.tp+c.fn, 1))
		t.Logf("%-20s %9.3f %9.3f   (tp %d fp %d fn %d)", typ, p, rc, c.tp, c.fp, c.fn)
		if p < 0.95 || rc < 0.9 {
			t.Errorf("%s: precision %.3f recall %.3f below 0.95/0.90", typ, p, rc)
		}
	}
	for _, m := range misses {
		t.Log(m)
	}
}
