package pii

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// seedSQL creates a small HR schema; {s} is the schema prefix.
const seedSQL = `
CREATE TABLE {s}employees (id INTEGER PRIMARY KEY, full_name TEXT, email VARCHAR(200), ssn TEXT, dob DATE, salary INTEGER, notes TEXT);
CREATE TABLE {s}orders (order_no TEXT, tracking TEXT, amount INTEGER);
CREATE TABLE {s}"Weird ""Name""" ("phone number" TEXT);
INSERT INTO {s}employees VALUES
 (1, 'Jane Roe', 'jane.roe@corp.io', '536-22-1234', '1985-03-02', 100000, 'card 4111 1111 1111 1111'),
 (2, 'John Doe', 'john@corp.io', '536221235', '1990-12-31', 90000, NULL),
 (3, 'Ann Poe', NULL, NULL, NULL, 80000, 'from 203.0.113.9');
INSERT INTO {s}orders VALUES ('123-45-6789', '1Z999AA10123456784', 5);
INSERT INTO {s}"Weird ""Name""" VALUES ('4155552671');
`

func seed(t *testing.T, db *sql.DB, schema string) {
	t.Helper()
	for _, stmt := range strings.Split(strings.ReplaceAll(seedSQL, "{s}", schema), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("seed: %v\n%s", err, stmt)
		}
	}
}

// wantDB is what the seed holds, as "type table.column:row".
func wantDB(table func(string) string) []string {
	return []string{
		"email " + table("employees") + ".email:1 ************p.io",
		"us_ssn " + table("employees") + ".ssn:1 ***-**-1234",
		"date_of_birth " + table("employees") + ".dob:1 ****-03-02",
		"credit_card " + table("employees") + ".notes:1 **** **** **** 1111",
		"email " + table("employees") + ".email:2 ********p.io",
		"us_ssn " + table("employees") + ".ssn:2 *****1235",
		"date_of_birth " + table("employees") + ".dob:2 ****-12-31",
		"ip_address " + table("employees") + ".notes:3 ***.*.113.9",
		"phone " + table(`Weird "Name"`) + ".phone number:1 ******2671",
	}
}

func dbLines(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s.%s:%d %s", f.Type, f.Table, f.Column, f.Row, f.Redacted))
	}
	return out
}

func sortDB(lines []string) []string {
	out := append([]string(nil), lines...)
	sort.Strings(out)
	return out
}

func TestSQLite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hr.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, db, "")
	db.Close()
	before, _ := os.Stat(p)

	fs, skips, sum := scanTargets(t, Config{}, "sqlite:"+p)
	got := sortDB(dbLines(fs))
	want := sortDB(wantDB(func(s string) string { return s }))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s\nskips %v", strings.Join(got, "\n"), strings.Join(want, "\n"), skips)
	}
	if sum.Tables != 3 || sum.Rows != 5 {
		t.Errorf("tables %d rows %d, want 3 and 5", sum.Tables, sum.Rows)
	}
	after, _ := os.Stat(p)
	if !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Error("the scan changed the database file")
	}
	// Sampling: one row per table.
	fs, _, sum = scanTargets(t, Config{Rows: 1}, "sqlite:"+p)
	if sum.Rows != 3 {
		t.Errorf("rows with Rows=1: %d, want 3", sum.Rows)
	}
	for _, f := range fs {
		if f.Row != 1 {
			t.Errorf("row %d read with Rows=1", f.Row)
		}
	}
	// Errors: a missing file and a file that is not a database; the scan goes on.
	bad := filepath.Join(t.TempDir(), "not.db")
	os.WriteFile(bad, []byte("hello, this is not sqlite"), 0o644)
	fs, skips, sum = scanTargets(t, Config{}, "sqlite:/nonexistent/x.db", "sqlite:"+bad, "sqlite:"+p)
	if len(fs) != len(want) || len(skips) != 2 || sum.TargetErrors != 2 {
		t.Errorf("with bad targets: %d findings, skips %v, target errors %d", len(fs), skips, sum.TargetErrors)
	}
}

// TestPostgres needs ATTEST_TEST_POSTGRES (a URL); it fails, never skips,
// when the variable is set and the server does not answer.
func TestPostgres(t *testing.T) {
	url := os.Getenv("ATTEST_TEST_POSTGRES")
	if url == "" {
		t.Skip("ATTEST_TEST_POSTGRES is not set; set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run this test")
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatalf("open ATTEST_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { db.Close() }) // registered first, so it runs after the drops
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("ATTEST_TEST_POSTGRES does not answer: %v", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "pii_test_" + hex.EncodeToString(rnd[:])
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	seed(t, db, schema+".")

	fs, skips, sum := scanTargets(t, Config{Schemas: []string{schema}}, url)
	got := sortDB(dbLines(fs))
	want := sortDB(wantDB(func(s string) string { return schema + "." + s }))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s\nskips %v", strings.Join(got, "\n"), strings.Join(want, "\n"), skips)
	}
	if sum.Tables != 3 || sum.Rows != 5 {
		t.Errorf("tables %d rows %d, want 3 and 5", sum.Tables, sum.Rows)
	}

	// A table the scanning role may not read is reported; the rest completes.
	role := schema + "_ro"
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT ON " + schema + ".employees TO " + role,
		"GRANT INSERT ON " + schema + ".orders TO " + role, // visible, not readable
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		db.Exec("DROP OWNED BY " + role)
		db.Exec("DROP ROLE " + role)
	})
	roURL := withUser(t, url, role)
	fs, skips, _ = scanTargets(t, Config{Schemas: []string{schema}}, roURL)
	if len(fs) != 8 || len(skips) == 0 || !strings.Contains(fmt.Sprint(skips), "permission denied") {
		t.Errorf("restricted role: %d findings (want 8), skips %v", len(fs), skips)
	}

	// A URL that does not answer is a clear message, and the other target completes.
	fs, skips, sum = scanTargets(t, Config{Schemas: []string{schema}}, "postgres://nobody:secret@127.0.0.1:1/x?connect_timeout=2", url)
	if len(fs) != len(want) || len(skips) != 1 || sum.TargetErrors != 1 || strings.Contains(fmt.Sprint(skips), "secret") ||
		!strings.Contains(skips[0].Reason, "cannot connect") {
		t.Errorf("bad URL: %d findings, skips %v", len(fs), skips)
	}
}

func withUser(t *testing.T, raw, user string) string {
	t.Helper()
	i := strings.Index(raw, "://")
	rest := raw[i+3:]
	if at := strings.IndexByte(rest, '@'); at >= 0 && at < strings.IndexAny(rest+"/", "/") {
		rest = rest[at+1:]
	}
	return raw[:i+3] + user + "@" + rest
}
