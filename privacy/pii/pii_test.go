package pii

import (
	"encoding/json"
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
