package store

import (
	"fmt"
	"time"
)

// Time scans a timestamp that SQLite hands back as text, as it does for
// computed columns such as MAX(at) where the declared type is lost.
// PostgreSQL returns a time.Time either way.
type Time struct{ time.Time }

var sqliteLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999 -0700 MST",
	time.RFC3339Nano,
	"2006-01-02 15:04:05",
}

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
		return nil
	case time.Time:
		t.Time = x
		return nil
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	}
	return fmt.Errorf("cannot scan %T into a time", v)
}

func (t *Time) parse(s string) error {
	for _, l := range sqliteLayouts {
		if p, err := time.Parse(l, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("unrecognised timestamp %q", s)
}
