package store

import (
	"database/sql"
	"encoding/base64"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
)

// Lists page by keyset: a page ends at the (key, id) of its last row, and
// the next page starts strictly after it, so rows added meanwhile neither
// repeat nor vanish as they would with OFFSET. The cursor handed to
// clients is that pair, opaque.

// EncodeCursor returns the cursor of a row ordered by key then id.
func EncodeCursor(key, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key + "|" + id))
}

// DecodeCursor reverses EncodeCursor, with an Invalid error on the field
// "cursor" for anything this server did not hand out.
func DecodeCursor(s string) (key, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if key, id, ok := strings.Cut(string(b), "|"); ok && id != "" {
			return key, id, nil
		}
	}
	return "", "", attest.Invalid("cursor", "is not a cursor this list handed out")
}

// TimeCursor is EncodeCursor for lists ordered by a timestamp.
func TimeCursor(at time.Time, id string) string {
	return EncodeCursor(at.UTC().Format(time.RFC3339Nano), id)
}

// DecodeTimeCursor reverses TimeCursor.
func DecodeTimeCursor(s string) (time.Time, string, error) {
	key, id, err := DecodeCursor(s)
	if err != nil {
		return time.Time{}, "", err
	}
	at, err := time.Parse(time.RFC3339Nano, key)
	if err != nil {
		return time.Time{}, "", attest.Invalid("cursor", "is not a cursor this list handed out")
	}
	return at, id, nil
}

// Trim cuts a page fetched with LIMIT limit+1 down to limit rows and
// returns the cursor of the next page ("" on the last page).
func Trim[T any](rows []T, limit int, cursor func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, cursor(rows[len(rows)-1])
}

// Collect scans every row with scan, closing rows and checking its error,
// so a list query is one call instead of a loop that can forget rows.Err.
func Collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
