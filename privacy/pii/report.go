package pii

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// ReportFormat names the inventory report's JSON shape.
const ReportFormat = "attest.pii-inventory/1"

// Report is the data inventory a scan produces for the platform: which
// files and database columns hold which types of personal data, and how
// many. It carries types, counts and locations only, never a value or a
// redacted value.
type Report struct {
	Format     string         `json:"format"`
	ScannedAt  time.Time      `json:"scanned_at"`
	Targets    []string       `json:"targets"` // database URLs without passwords
	Files      int64          `json:"files"`
	Bytes      int64          `json:"bytes"`
	Tables     int64          `json:"tables"`
	Rows       int64          `json:"rows"`
	NotScanned int64          `json:"not_scanned"`
	Findings   int64          `json:"findings"`
	ByType     map[Type]int64 `json:"by_type"`
	Locations  []Location     `json:"locations"`
	Truncated  bool           `json:"truncated,omitempty"` // more locations than MaxReportLocations
}

// Location is one file (Path) or database column (Table, Column) and the
// counts of each type found there.
type Location struct {
	Path   string         `json:"path,omitempty"`
	Table  string         `json:"table,omitempty"`
	Column string         `json:"column,omitempty"`
	Types  map[Type]int64 `json:"types"`
}

// MaxReportLocations caps the locations in a report (the busiest first).
const MaxReportLocations = 20000

// NewReport turns a scan's summary into a report.
func NewReport(sum *Summary, targets []string, scannedAt time.Time) Report {
	r := Report{Format: ReportFormat, ScannedAt: scannedAt.UTC().Truncate(time.Second), Files: sum.Files, Bytes: sum.Bytes,
		Tables: sum.Tables, Rows: sum.Rows, NotScanned: sum.NotScanned, Findings: sum.Findings, ByType: map[Type]int64{}}
	for _, t := range targets {
		r.Targets = append(r.Targets, redactURL(t))
	}
	for t, n := range sum.ByType {
		r.ByType[t] = n
	}
	for p, m := range sum.ByFile {
		r.Locations = append(r.Locations, Location{Path: p, Types: copyCounts(m)})
	}
	for key, m := range sum.ByColumn {
		table, column := splitColumnKey(key)
		r.Locations = append(r.Locations, Location{Table: table, Column: column, Types: copyCounts(m)})
	}
	sort.Slice(r.Locations, func(i, j int) bool {
		a, b := r.Locations[i], r.Locations[j]
		if x, y := a.total(), b.total(); x != y {
			return x > y
		}
		return a.Where() < b.Where()
	})
	if len(r.Locations) > MaxReportLocations {
		r.Locations, r.Truncated = r.Locations[:MaxReportLocations], true
	}
	return r
}

func copyCounts(m map[Type]int64) map[Type]int64 {
	out := make(map[Type]int64, len(m))
	for t, n := range m {
		out[t] = n
	}
	return out
}

// splitColumnKey splits "schema.table.column" at its last dot.
func splitColumnKey(key string) (string, string) {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '.' {
			return key[:i], key[i+1:]
		}
	}
	return key, ""
}

func (l Location) total() int64 {
	var n int64
	for _, c := range l.Types {
		n += c
	}
	return n
}

// Where is the location in words: the path, or table.column.
func (l Location) Where() string {
	if l.Path != "" {
		return l.Path
	}
	return l.Table + "." + l.Column
}

// ParseReport reads and checks a report: its format, known types,
// non-negative counts, and a file or a table.column for each location.
func ParseReport(data []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return Report{}, fmt.Errorf("is not a JSON inventory report")
	}
	if r.Format != ReportFormat {
		return Report{}, fmt.Errorf("format must be %q", ReportFormat)
	}
	if r.ScannedAt.IsZero() {
		return Report{}, fmt.Errorf("scanned_at is required")
	}
	if r.Files < 0 || r.Bytes < 0 || r.Tables < 0 || r.Rows < 0 || r.NotScanned < 0 || r.Findings < 0 {
		return Report{}, fmt.Errorf("counts cannot be negative")
	}
	if len(r.Locations) > MaxReportLocations {
		return Report{}, fmt.Errorf("has more than %d locations", MaxReportLocations)
	}
	check := func(m map[Type]int64) error {
		for t, n := range m {
			if t.bit() == 0 {
				return fmt.Errorf("unknown type %q", t)
			}
			if n < 0 {
				return fmt.Errorf("counts cannot be negative")
			}
		}
		return nil
	}
	if err := check(r.ByType); err != nil {
		return Report{}, err
	}
	for _, l := range r.Locations {
		if (l.Path == "") == (l.Table == "") || (l.Table != "" && l.Column == "") || len(l.Where()) > 1024 {
			return Report{}, fmt.Errorf("each location needs a path, or a table and a column")
		}
		if err := check(l.Types); err != nil {
			return Report{}, err
		}
	}
	if r.ByType == nil {
		r.ByType = map[Type]int64{}
	}
	return r, nil
}
