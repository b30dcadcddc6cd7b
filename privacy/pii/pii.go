// Package pii finds personal data in text, files, archives and databases.
//
// The scanner validates every candidate beyond its shape (checksums, issuer
// ranges, numbering-plan rules, calendar dates) and scores it with a
// confidence in 0..1 that nearby words ("SSN", "DOB", "passport") and
// column or key names raise or lower. A Finding never carries the value it
// found: only its type, where it is and a redacted form that shows at most the
// last four characters.
//
// Locations: for files, Line and Col are 1-based; Col counts characters
// (UTF-8 code points, an invalid byte counting as one) from the start of the
// line. Inside an archive or an office document Path is the outer path, a
// slash, and the inner entry's own name ("export.zip/2024/users.csv",
// "report.docx/word/document.xml"), and Line is the line of the text
// extracted from that entry. A PDF's text is extracted page after page
// (github.com/ledongthuc/pdf) and Line is the line of that text; a PDF that
// cannot be opened (encrypted, damaged) is reported as not scanned. A gzip
// file keeps its own path; its lines are
// those of the decompressed text. For databases, Table is the table (with
// its schema on PostgreSQL), Column the column and Row the 1-based ordinal of
// the row in the order it was read.
package pii

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Type is a kind of personal data.
type Type string

// The types the scanner knows.
const (
	Email            Type = "email"
	Phone            Type = "phone"
	CreditCard       Type = "credit_card"
	USSSN            Type = "us_ssn"
	USITIN           Type = "us_itin"
	CASIN            Type = "ca_sin"
	UKNINO           Type = "uk_nino"
	IBAN             Type = "iban"
	USDriversLicense Type = "us_drivers_license"
	PassportNumber   Type = "passport_number"
	DateOfBirth      Type = "date_of_birth"
	IPAddress        Type = "ip_address"
)

// AllTypes lists every type in a stable order (the order of reports).
var AllTypes = []Type{Email, Phone, CreditCard, USSSN, USITIN, CASIN, UKNINO, IBAN,
	USDriversLicense, PassportNumber, DateOfBirth, IPAddress}

// typeSet is a bit set of types, indexed by position in AllTypes.
type typeSet uint16

func (t Type) bit() typeSet {
	switch t {
	case Email:
		return 1 << 0
	case Phone:
		return 1 << 1
	case CreditCard:
		return 1 << 2
	case USSSN:
		return 1 << 3
	case USITIN:
		return 1 << 4
	case CASIN:
		return 1 << 5
	case UKNINO:
		return 1 << 6
	case IBAN:
		return 1 << 7
	case USDriversLicense:
		return 1 << 8
	case PassportNumber:
		return 1 << 9
	case DateOfBirth:
		return 1 << 10
	case IPAddress:
		return 1 << 11
	}
	return 0
}

func (s typeSet) has(t Type) bool { return s&t.bit() != 0 }

// allTypeSet has every type.
const allTypeSet typeSet = 1<<12 - 1

// ParseTypes turns "email,us_ssn" into a type list; empty means all types.
func ParseTypes(s string) ([]Type, error) {
	if strings.TrimSpace(s) == "" {
		return append([]Type(nil), AllTypes...), nil
	}
	var out []Type
	seen := map[Type]bool{}
	for _, f := range strings.Split(s, ",") {
		t := Type(strings.TrimSpace(f))
		if t == "" {
			continue
		}
		if t.bit() == 0 {
			names := make([]string, len(AllTypes))
			for i, a := range AllTypes {
				names[i] = string(a)
			}
			return nil, fmt.Errorf("unknown type %q (known: %s)", t, strings.Join(names, ", "))
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no types in %q", s)
	}
	return out, nil
}

func setOf(types []Type) typeSet {
	var s typeSet
	for _, t := range types {
		s |= t.bit()
	}
	return s
}

// Finding is one piece of personal data found. Either the file fields (Path,
// Line, Col) or the database fields (Table, Column, Row) are set.
type Finding struct {
	Type       Type
	Path       string
	Line       int64
	Col        int64
	Table      string
	Column     string
	Row        int64
	Confidence float64
	// Redacted shows at most the last four characters of the value (fewer
	// for short values), the rest masked with '*'.
	Redacted string
}

// IsDatabase reports whether the finding is in a database rather than a file.
func (f Finding) IsDatabase() bool { return f.Table != "" }

// MarshalJSON writes the contract's shape: {"type","path","line","column",
// "confidence","redacted"} for files and {"type","table","column","row",
// "confidence","redacted"} for databases.
func (f Finding) MarshalJSON() ([]byte, error) {
	return f.AppendJSON(make([]byte, 0, 128)), nil
}

// AppendJSON appends what MarshalJSON returns, byte for byte the same as
// encoding/json would write for it, without reflection: a scan can print
// millions of findings, and encoding them was a large share of the CLI's
// time.
func (f Finding) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, string(f.Type))
	if f.IsDatabase() {
		b = append(b, `,"table":`...)
		b = appendJSONString(b, f.Table)
		b = append(b, `,"column":`...)
		b = appendJSONString(b, f.Column)
		b = append(b, `,"row":`...)
		b = strconv.AppendInt(b, f.Row, 10)
	} else {
		b = append(b, `,"path":`...)
		b = appendJSONString(b, f.Path)
		b = append(b, `,"line":`...)
		b = strconv.AppendInt(b, f.Line, 10)
		b = append(b, `,"column":`...)
		b = strconv.AppendInt(b, f.Col, 10)
	}
	b = append(b, `,"confidence":`...)
	conf := math.Round(f.Confidence*100) / 100
	if conf >= 0 && conf <= 1 {
		b = strconv.AppendFloat(b, conf, 'f', -1, 64) // what encoding/json writes in this range
	} else {
		b = appendJSONValue(b, conf)
	}
	b = append(b, `,"redacted":`...)
	b = appendJSONString(b, f.Redacted)
	return append(b, '}')
}

// appendJSONString appends s as encoding/json writes it: plain printable
// ASCII as is, anything else (quotes, control and HTML characters, non-ASCII,
// invalid UTF-8) through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendJSONValue(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendJSONValue(b []byte, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil { // NaN or infinity: not a confidence the scanner makes
		return append(b, "null"...)
	}
	return append(b, data...)
}
