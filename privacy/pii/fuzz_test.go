package pii

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// The fuzz tests run their seed corpus in every `go test`; `go test -fuzz
// FuzzX` explores further.

func seedTexts(f *testing.F) {
	for _, s := range []string{sample, "SSN 536-22-1234", "jane@corp.io", "+44 20 7946 0958", "(415) 555-2671",
		"GB82 WEST 1234 5698 7654 32", "AB 12 34 56 C", "2001:db8::1", "DOB: March 15, 1985", "@@@", "1.2.3.4.5",
		"::ffff:192.0.2.1", "é 4111 1111 1111 1111", "\xff\xfe\x00", strings.Repeat("9", 40), "a@" + strings.Repeat("b.", 200) + "com"} {
		f.Add([]byte(s))
	}
}

// FuzzScan checks the detector and the streaming layer on any input: no
// panic, matches inside the text, the redacted form never longer than the
// value nor showing more than four of its characters, and chunking never
// changing the result.
func FuzzScan(f *testing.F) {
	seedTexts(f)
	d := &detector{types: allTypeSet, minConf: 0.5, maxYear: 2025}
	f.Fuzz(func(t *testing.T, text []byte) {
		d.scan(text, 0, len(text), 0, nil, func(m match) {
			if m.start < 0 || m.end > len(text) || m.start >= m.end {
				t.Fatalf("match %+v outside text of %d bytes", m, len(text))
			}
			v := text[m.start:m.end]
			r := redact(m.typ, v)
			if len(r) != len(v) {
				t.Fatalf("redacted %q of %q changes length", r, v)
			}
			shown := 0
			for i := range r {
				if r[i] != '*' && isAlnum(r[i]) {
					shown++
				}
			}
			if shown > 4 {
				t.Fatalf("redacted %q shows %d characters", r, shown)
			}
			if m.conf < 0.5 || m.conf > 1 {
				t.Fatalf("confidence %v", m.conf)
			}
		})
		whole := streamFindings(t, text, 1<<20, nil)
		small := streamFindings(t, text, 3, nil)
		if len(whole) != len(small) {
			t.Fatalf("chunking changed the findings: %v vs %v", whole, small)
		}
		for i := range whole {
			if whole[i] != small[i] {
				t.Fatalf("chunking changed the findings: %v vs %v", whole, small)
			}
		}
	})
}

// FuzzCSVTracker and FuzzJSONTracker: any bytes, fed in any split, give the
// same hints as fed whole.
func FuzzCSVTracker(f *testing.F) {
	f.Add([]byte("a,ssn,\"x,y\"\n1,2,\"3\"\"\"\n"), uint8(3))
	f.Add([]byte("\"unterminated\n,,,\n"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		a, b := newCSVTracker(','), newCSVTracker(',')
		a.feed(data)
		k := int(split) % (len(data) + 1)
		b.feed(data[:k])
		b.feed(data[k:])
		if a.hint() != b.hint() || a.field != b.field || a.record != b.record {
			t.Fatalf("split at %d changed the state", k)
		}
	})
}

func FuzzJSONTracker(f *testing.F) {
	f.Add([]byte(`{"ssn":"1","a":{"phone":["x"]}}`), uint8(5))
	f.Add([]byte(`{"a\"b":1,"c\\":2`), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		a, b := newJSONTracker(), newJSONTracker()
		a.feed(data)
		k := int(split) % (len(data) + 1)
		b.feed(data[:k])
		b.feed(data[k:])
		if a.hint() != b.hint() {
			t.Fatalf("split at %d changed the hint", k)
		}
	})
}

// FuzzOfficeXML feeds any bytes to the document and spreadsheet extractors.
func FuzzOfficeXML(f *testing.F) {
	f.Add([]byte(`<w:p><w:t>SSN 536-22-1234</w:t><w:tab/></w:p>`))
	f.Add([]byte(`<row r="3"><c r="C3" t="s"><v>0</v></c><c r="A3"><is><t>x,"y"</t></is></c></row>`))
	f.Add([]byte(`<row r="99999999"><c r="ZZZZ1"><v>1</v></c>`))
	f.Add([]byte(`<si><t>a</t></si><si>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		w := bufio.NewWriter(io.Discard)
		paragraphs(bytes.NewReader(data), w)
		sheetRows(bytes.NewReader(data), w, []string{"email"})
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		if err := sheetRows(bytes.NewReader(data), bw, nil); err != nil && strings.Contains(err.Error(), string(data)) && len(data) > 8 {
			t.Fatalf("error quotes the input: %v", err)
		}
	})
}

// FuzzInputs feeds any bytes as a file (sniffed as gzip, zip, tar, office,
// UTF-16, CSV or text) through the scanner with small caps.
func FuzzInputs(f *testing.F) {
	docx, xlsx, _ := officeDocs(&testing.T{})
	f.Add([]byte("SSN 536-22-1234"), "a.txt")
	f.Add(docx, "r.docx")
	f.Add(xlsx, "s.xlsx")
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("in/a.csv")
	w.Write([]byte("ssn\n536221234\n"))
	zw.Close()
	f.Add(zb.Bytes(), "a.zip")
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, "t.gz")
	f.Add([]byte{0xff, 0xfe, 'S', 0, 'S', 0}, "u.txt")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		sc, err := New(Config{MaxExpanded: 1 << 20, MaxInMemory: 1 << 20, MaxDepth: 3, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			OnSkip: func(s Skip) {
				if len(data) > 8 && strings.Contains(s.Reason, string(data)) {
					t.Fatalf("skip reason quotes the input: %v", s)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		b := &budget{sc.cfg.MaxExpanded}
		sc.scanInput(context.Background(), input{name: name, format: name, r: bytes.NewReader(data), ra: bytes.NewReader(data), size: int64(len(data))}, b)
	})
}

// FuzzValidators checks the checksum and range validators never panic and
// agree with their definitions on any digits.
func FuzzValidators(f *testing.F) {
	f.Add([]byte("4111111111111111"))
	f.Add([]byte("GB82WEST12345698765432"))
	f.Add([]byte("0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		digitsOnly := len(b) > 0
		for _, c := range b {
			if !isDigit(c) {
				digitsOnly = false
			}
		}
		if digitsOnly {
			luhn(b)
			cardIssuer(b)
			callingCodeLen(b)
			if len(b) == 9 {
				validSSN(b[:3], b[3:5], b[5:])
				validITIN(b[:3], b[3:5], b[5:])
				validSIN(b)
			}
		}
		upper := len(b) >= 4
		for _, c := range b {
			if !isDigit(c) && !isUpper(c) {
				upper = false
			}
		}
		if upper && len(b) <= 34 {
			ibanMod97(b)
		}
		monthOf(b)
		ParseTypes(string(b))
		nameContext(string(b))
	})
}
