package pii

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func testDetector() *detector {
	return &detector{types: allTypeSet, minConf: 0.5, maxYear: 2025}
}

type hit struct {
	typ   Type
	value string
}

// detectAll returns the typed values found in text.
func detectAll(d *detector, text string, hint ctxInfo) []hit {
	var out []hit
	b := []byte(text)
	var h hintFunc
	if hint.pos != 0 || hint.neg {
		h = func(int) ctxInfo { return hint }
	}
	d.scan(b, 0, len(b), 0, h, func(m match) {
		out = append(out, hit{m.typ, text[m.start:m.end]})
	})
	return out
}

func TestDetectors(t *testing.T) {
	tests := []struct {
		text string
		want []hit // nil: nothing
	}{
		// email
		{"contact jane.doe+tag@mail.co.uk today", []hit{{Email, "jane.doe+tag@mail.co.uk"}}},
		{"mail me at bob@example.com.", []hit{{Email, "bob@example.com"}}},
		{"logo@2x.png", nil},
		{"npm i lodash@4.17.21", nil},
		{"git@github.com:attest/attest.git", nil},
		{"user@localhost", nil},
		{"a..b@mail.com", nil},
		{"john2@corp.io", []hit{{Email, "john2@corp.io"}}},
		// phone
		{"call (415) 555-2671 now", []hit{{Phone, "(415) 555-2671"}}},
		{"call 415-555-2671", []hit{{Phone, "415-555-2671"}}},
		{"call +1 415 555 2671", []hit{{Phone, "+1 415 555 2671"}}},
		{"1-800-555-0199", []hit{{Phone, "1-800-555-0199"}}},
		{"ring +44 20 7946 0958", []hit{{Phone, "+44 20 7946 0958"}}},
		{"ring +442079460958", []hit{{Phone, "+442079460958"}}},
		{"phone: 4155552671", []hit{{Phone, "4155552671"}}},
		{"value 4155552671", nil},  // bare without context
		{"call 123-456-7890", nil}, // NPA starts with 1
		{"call 415-155-2671", nil}, // exchange starts with 1
		{"call 415-911-2671", nil}, // N11 exchange
		{"+999 123 456 789", nil},  // unassigned country code
		{"+1 123 555 2671", nil},   // bad NANP behind +1
		// credit card
		{"card 4111 1111 1111 1111 exp", []hit{{CreditCard, "4111 1111 1111 1111"}}},
		{"4111-1111-1111-1111", []hit{{CreditCard, "4111-1111-1111-1111"}}},
		{"5500005555555559", []hit{{CreditCard, "5500005555555559"}}},
		{"amex 3782 822463 10005", []hit{{CreditCard, "3782 822463 10005"}}},
		{"6011111111111117", []hit{{CreditCard, "6011111111111117"}}},
		{"4111 1111 1111 1112", nil}, // Luhn
		{"9111111111111111", nil},    // no issuer
		{"order #4111111111111111", nil},
		// SSN / ITIN
		{"SSN 123-45-6789", []hit{{USSSN, "123-45-6789"}}},
		{"id 536-22-1234 x", []hit{{USSSN, "536-22-1234"}}},
		{"ssn: 536221234", []hit{{USSSN, "536221234"}}},
		{"536221234", nil},
		{"000-12-3456", nil},
		{"666-12-3456", nil},
		{"123-00-4567", nil},
		{"123-45-0000", nil},
		{"order 123-45-6789", nil},
		{"ITIN 912-70-1234", []hit{{USITIN, "912-70-1234"}}},
		{"912-70-1234", []hit{{USITIN, "912-70-1234"}}},
		{"912-40-1234", nil},
		// SIN
		{"SIN 046 454 286", []hit{{CASIN, "046 454 286"}}},
		{"sin: 046454286", []hit{{CASIN, "046454286"}}},
		{"SIN 046 454 287", nil},
		// NINO
		{"NI AB123456C", []hit{{UKNINO, "AB123456C"}}},
		{"AB 12 34 56 C", []hit{{UKNINO, "AB 12 34 56 C"}}},
		{"QQ123456C", nil},
		{"GB123456A", nil},
		{"AB123456", nil},
		// IBAN
		{"IBAN GB82 WEST 1234 5698 7654 32 ok", []hit{{IBAN, "GB82 WEST 1234 5698 7654 32"}}},
		{"DE89370400440532013000", []hit{{IBAN, "DE89370400440532013000"}}},
		{"DE89370400440532013001", nil},
		{"XX89370400440532013000", nil},
		// DL
		{"DL# D1234567", []hit{{USDriversLicense, "D1234567"}}},
		{"driver's license: 123 456 789", []hit{{USDriversLicense, "123 456 789"}}},
		{"D1234567", nil},
		// passport
		{"passport no. 912345678", []hit{{PassportNumber, "912345678"}}},
		{"Passport: C03005988", []hit{{PassportNumber, "C03005988"}}},
		{"912345678", nil},
		// DOB
		{"DOB: 1985-03-02", []hit{{DateOfBirth, "1985-03-02"}}},
		{"born 03/15/1985", []hit{{DateOfBirth, "03/15/1985"}}},
		{"date of birth: March 15, 1985", []hit{{DateOfBirth, "March 15, 1985"}}},
		{"birthday 15 Mar 1985", []hit{{DateOfBirth, "15 Mar 1985"}}},
		{"created 1985-03-02", nil},
		{"dob 2024-01-15T10:23:45Z", nil},
		{"dob 1985-02-30", nil},
		// IP
		{"from 203.0.113.9 port", []hit{{IPAddress, "203.0.113.9"}}},
		{"client 10.0.0.1:8080", []hit{{IPAddress, "10.0.0.1"}}},
		{"2001:db8:85a3::8a2e:370:7334", []hit{{IPAddress, "2001:db8:85a3::8a2e:370:7334"}}},
		{"peer fe80::1ff:fe23:4567:890a", []hit{{IPAddress, "fe80::1ff:fe23:4567:890a"}}},
		{"version 1.2.3.4", nil},
		{"v1.2.3.4", nil},
		{"oid 1.3.6.1.4.1.311", nil},
		{"256.1.1.1", nil},
		{"01.2.3.4", nil},
		{"at 12:34:56", nil},
		{"mac 00:1a:2b:3c:4d:5e", nil},
		{"::1", nil},
		// look-alikes
		{"id 123e4567-e89b-12d3-a456-426614174000", nil},
		{"sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", nil},
		{"tracking 1Z999AA10123456784", nil},
		{"ts 1700000000000", nil},
		{"at 2024-01-15T10:23:45.123Z", nil},
		{"build 20240115.1", nil},
	}
	d := testDetector()
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := detectAll(d, tt.text, ctxInfo{})
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("%q: got %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestHints(t *testing.T) {
	d := testDetector()
	for _, tt := range []struct {
		name, value string
		want        Type
	}{
		{"ssn", "536221234", USSSN},
		{"customerSSN", "536221234", USSSN},
		{"date_of_birth", "1985-03-02", DateOfBirth},
		{"Passport Number", "912345678", PassportNumber},
		{"phone", "4155552671", Phone},
		{"drivers_license", "D1234567", USDriversLicense},
	} {
		got := detectAll(d, tt.value, nameContext(tt.name))
		if len(got) != 1 || got[0].typ != tt.want {
			t.Errorf("column %q value %q: got %v, want %s", tt.name, tt.value, got, tt.want)
		}
	}
	if got := detectAll(d, "123-45-6789", nameContext("order_number")); got != nil {
		t.Errorf("order_number column: got %v", got)
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range []struct {
		typ      Type
		in, want string
	}{
		{USSSN, "123-45-6789", "***-**-6789"},
		{CreditCard, "4111 1111 1111 1111", "**** **** **** 1111"},
		{Email, "jane@example.com", "************.com"},
		{IPAddress, "10.0.0.1", "**.*.0.1"},
		{Phone, "(415) 555-2671", "(***) ***-2671"},
	} {
		if got := redact(tt.typ, []byte(tt.in)); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(redact(tt.typ, []byte(tt.in)), tt.in[:len(tt.in)/2]) {
			t.Errorf("redact(%q) shows the value's first half", tt.in)
		}
	}
}

func TestNextTrigger(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 19; pos++ {
			buf := bytes.Repeat([]byte{'x'}, 20)
			buf[pos] = byte(c)
			want := 20
			if class[c]&clTrigger != 0 {
				want = pos
			}
			if got := nextTrigger(buf, 0, 20); got != want {
				t.Fatalf("byte %#x at %d: got %d, want %d", c, pos, got, want)
			}
		}
	}
}

func TestWordEnd(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 20; pos++ {
			b := []byte("abcdefghijklmnopqrst")
			b[pos] = byte(c)
			want := 0
			for want < len(b) && isAlnum(b[want]) {
				want++
			}
			if got := wordEnd(b, 0); got != want {
				t.Fatalf("byte %#x at %d: wordEnd %d, want %d", c, pos, got, want)
			}
		}
	}
}

func TestSkipTokenSWAR(t *testing.T) {
	slow := func(b []byte) int {
		i := 0
		for i < len(b) && (isAlnum(b[i]) || b[i] == '.' || b[i] == '-' || b[i] == '/' || b[i] == '_' || b[i] == ':') {
			i++
		}
		return i
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 20; pos++ {
			b := []byte("ab-9.z/_:Q0x_^_^_^_^")
			if c == 0 {
				b[9] = '^' // a non-token byte right after '_' in the first word
			}
			b[pos] = byte(c)
			if got, want := skipToken(b, 0), slow(b); got != want {
				t.Fatalf("byte %#x at %d: skipToken %d, want %d", c, pos, got, want)
			}
		}
	}
}

func TestDigitMask(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			var b [8]byte
			copy(b[:], "a0Z9 _:/")
			b[pos] = byte(c)
			m := digitMask(binary.LittleEndian.Uint64(b[:]))
			for k := 0; k < 8; k++ {
				if got, want := m>>(8*k+7)&1 == 1, isDigit(b[k]); got != want {
					t.Fatalf("byte %#x at %d: digit bit of byte %d is %v, want %v", c, pos, k, got, want)
				}
			}
		}
	}
}

// TestContextWordsMatchPlainReading checks the masked word reader against a
// plain byte-by-byte reading of the same text: the same keywords, negative
// words and phrases, at the same places, however the text is split into reads.
func TestContextWordsMatchPlainReading(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"social", "security", "date", "of", "birth", "D", "O", "B", "ssn", "order", "dl", "x",
		"passport", "national", "insurance", "tax", "id", "12", "3a", "Phone", "e-mail", "verylongwordthatgoesonandonandonpastthirtytwo"}
	seps := []string{" ", "  ", ", ", "\n", ".", " - ", "_", "\t", "/", ""}
	plain := func(text []byte) []wordHit {
		var hits []wordHit
		var prev []byte
		prevEnd := -1
		for i := 0; i < len(text); {
			if !isAlnum(text[i]) {
				if text[i] == '\n' {
					prevEnd = -1
				}
				i++
				continue
			}
			s := i
			for i < len(text) && isAlnum(text[i]) {
				i++
			}
			if isDigit(text[s]) || i-s > maxWordLen {
				prevEnd = -1
				continue
			}
			var low [maxWordLen]byte
			w := lowerWord(&low, text[s:i])
			k, neg := lookupWord(w)
			if prevEnd >= 0 && prevEnd >= s-3 {
				k |= phrase(prev, w)
			}
			if k != 0 || neg {
				hits = append(hits, wordHit{s, i, k, neg})
			}
			prev = append([]byte(nil), w...)
			prevEnd = i
		}
		return hits
	}
	for n := 0; n < 2000; n++ {
		var sb strings.Builder
		for k := r.IntN(30); k >= 0; k-- {
			sb.WriteString(words[r.IntN(len(words))])
			sb.WriteString(seps[r.IntN(len(seps))])
		}
		text := []byte(sb.String())
		want := plain(text)
		var c wordCache
		c.reset()
		// Read in pieces split at word boundaries, as around does.
		at := 0
		for at < len(text) {
			to := min(at+1+r.IntN(16), len(text))
			for to < len(text) && to > 0 && isAlnum(text[to]) && isAlnum(text[to-1]) {
				to++
			}
			c.read(text, at, to)
			at = to
		}
		if fmt.Sprint(c.hits) != fmt.Sprint(want) {
			t.Fatalf("%q:\n got %v\nwant %v", text, c.hits, want)
		}
	}
}
