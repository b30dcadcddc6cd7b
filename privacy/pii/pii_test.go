package pii

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestTypeBitsFollowAllTypes(t *testing.T) {
	for i, typ := range AllTypes {
		if typ.bit() != 1<<i {
			t.Errorf("%s has bit %b, want %b", typ, typ.bit(), 1<<i)
		}
	}
	if Type("shoe_size").bit() != 0 {
		t.Error("unknown type has a bit")
	}
	if len(AllTypes) != numTypes {
		t.Errorf("numTypes is %d, AllTypes has %d", numTypes, len(AllTypes))
	}
	consts := []typeSet{bitEmail, bitPhone, bitCreditCard, bitUSSSN, bitUSITIN, bitCASIN, bitUKNINO, bitIBAN,
		bitUSDriversLicense, bitPassportNumber, bitDateOfBirth, bitIPAddress}
	for i, typ := range AllTypes {
		if consts[i] != typ.bit() || typeOfBit(consts[i]) != typ {
			t.Errorf("%s: the detector's bit constant disagrees", typ)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	sum := &Summary{Files: 2, Bytes: 100, Findings: 3, ByType: map[Type]int64{Email: 2, USSSN: 1},
		ByFile:   map[string]map[Type]int64{"a.csv": {Email: 2}},
		ByColumn: map[string]map[Type]int64{"public.users.ssn": {USSSN: 1}}}
	r := NewReport(sum, []string{"postgres://u:secret@db/x", "a.csv"}, time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "secret") {
		t.Fatalf("password in report: %s", data)
	}
	back, err := ParseReport(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Locations) != 2 || back.Locations[0].Where() != "a.csv" || back.Locations[1].Where() != "public.users.ssn" {
		t.Errorf("locations %+v", back.Locations)
	}
	for _, bad := range []string{`nope`, `{}`, `{"format":"attest.pii-inventory/1"}`,
		`{"format":"attest.pii-inventory/1","scanned_at":"2026-01-01T00:00:00Z","by_type":{"shoe_size":1}}`,
		`{"format":"attest.pii-inventory/1","scanned_at":"2026-01-01T00:00:00Z","files":-1}`,
		`{"format":"attest.pii-inventory/1","scanned_at":"2026-01-01T00:00:00Z","locations":[{"types":{}}]}`} {
		if _, err := ParseReport([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// TestFindingJSONMatchesEncodingJSON checks the hand-written encoding
// against encoding/json on the same shape.
func TestFindingJSONMatchesEncodingJSON(t *testing.T) {
	ref := func(f Finding) []byte {
		conf := math.Round(f.Confidence*100) / 100
		var v any = struct {
			Type       Type    `json:"type"`
			Path       string  `json:"path"`
			Line       int64   `json:"line"`
			Column     int64   `json:"column"`
			Confidence float64 `json:"confidence"`
			Redacted   string  `json:"redacted"`
		}{f.Type, f.Path, f.Line, f.Col, conf, f.Redacted}
		if f.IsDatabase() {
			v = struct {
				Type       Type    `json:"type"`
				Table      string  `json:"table"`
				Column     string  `json:"column"`
				Row        int64   `json:"row"`
				Confidence float64 `json:"confidence"`
				Redacted   string  `json:"redacted"`
			}{f.Type, f.Table, f.Column, f.Row, conf, f.Redacted}
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	strs := []string{"", "/tmp/a b/c.txt", `C:\data\x.csv`, "quote\"d", "<html>&", "é/ü.txt", "bad\xff\xfeutf8", "tab\tnl\n\x00\x1f",
		"\u2028\u2029", "export.zip/2024/users.csv", "***-**-1234", "****@corp.io", "\x7f"}
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 5000; n++ {
		f := Finding{Type: AllTypes[r.IntN(len(AllTypes))], Confidence: r.Float64(), Redacted: strs[r.IntN(len(strs))]}
		if r.IntN(4) == 0 {
			f.Table, f.Column, f.Row = strs[r.IntN(len(strs))]+"t", strs[r.IntN(len(strs))], r.Int64N(1e12)
		} else {
			f.Path, f.Line, f.Col = strs[r.IntN(len(strs))], r.Int64N(1e12), r.Int64N(1e6)
		}
		if n%7 == 0 {
			f.Confidence = []float64{0, 1, 0.5, 0.95, 0.005, 0.994999, 0.125}[(n/7)%7]
		}
		got, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if want := ref(f); string(got) != string(want) {
			t.Fatalf("%+v:\n got %s\nwant %s", f, got, want)
		}
		if direct := f.AppendJSON(nil); string(direct) != string(ref(f)) {
			t.Fatalf("%+v: AppendJSON %s", f, direct)
		}
	}
}
