// Package testutil holds what tests across packages share: above all the
// two-backend harness that runs one test body on SQLite and PostgreSQL.
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/attest-hq/attest/store"
)

// PostgresEnv names the variable holding the PostgreSQL URL for tests.
// When it is set, PostgreSQL tests must pass; a server that does not answer
// fails them rather than skipping them, so CI cannot go green by accident.
const PostgresEnv = "ATTEST_TEST_POSTGRES"

// Backend is one database the same test body runs against.
type Backend struct {
	Name string
	Cfg  store.Config
}

// Backends returns SQLite always and PostgreSQL when ATTEST_TEST_POSTGRES
// is set, each in a fresh place: a temp dir for SQLite, a new schema for
// PostgreSQL (dropped when the test ends).
func Backends(t testing.TB) []Backend {
	t.Helper()
	out := []Backend{{Name: "sqlite", Cfg: store.Config{DataDir: t.TempDir()}}}
	if pg := os.Getenv(PostgresEnv); pg != "" {
		out = append(out, Backend{Name: "postgres", Cfg: store.Config{DataDir: t.TempDir(), URL: freshSchema(t, pg)}})
	}
	return out
}

// ForEachBackend runs body once per backend as a subtest with an open DB.
func ForEachBackend(t *testing.T, body func(t *testing.T, db *store.DB)) {
	t.Helper()
	if os.Getenv(PostgresEnv) == "" {
		t.Logf("%s is not set: running on SQLite only", PostgresEnv)
	}
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db, err := store.Open(context.Background(), b.Cfg)
			if err != nil {
				t.Fatalf("open %s: %v", b.Name, err)
			}
			t.Cleanup(func() { db.Close() })
			body(t, db)
		})
	}
}

// freshSchema creates a uniquely named schema and returns a URL whose
// search_path points at it.
func freshSchema(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s=%s: %v", PostgresEnv, base, err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL from %s does not answer or refused CREATE SCHEMA: %v", PostgresEnv, err)
	}
	t.Cleanup(func() {
		c, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer c.Close()
		c.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
