package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

func TestMigrationsAreApplied(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		v, err := db.SchemaVersion(context.Background())
		if err != nil || v < 1 {
			t.Fatalf("schema version = %d, %v", v, err)
		}
	})
}

func TestRecordChainsEntries(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		actor := attest.Actor{UserID: "u1", Email: "a@example.com", OrgID: "org_a", Via: "cli"}
		for i := 0; i < 3; i++ {
			if err := db.InTx(ctx, actor, func(tx *store.Tx) error {
				return tx.Record(ctx, "thing.update", "thing", "t1", map[string]int{"n": i}, map[string]int{"n": i + 1})
			}); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := db.Q().QueryContext(ctx, "SELECT seq, prev_hash, hash FROM audit_log WHERE org_id = $1 ORDER BY seq", "org_a")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		prev := store.GenesisHash
		n := 0
		for rows.Next() {
			var seq int64
			var p, h string
			if err := rows.Scan(&seq, &p, &h); err != nil {
				t.Fatal(err)
			}
			n++
			if seq != int64(n) || p != prev {
				t.Fatalf("entry %d: seq %d prev %s, want prev %s", n, seq, p, prev)
			}
			prev = h
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("got %d entries, want 3", n)
		}
	})
}

func TestFailedTransactionLeavesNoEntry(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		actor := attest.Actor{Email: "a@example.com", OrgID: "org_a"}
		boom := errors.New("boom")
		err := db.InTx(ctx, actor, func(tx *store.Tx) error {
			if err := tx.Record(ctx, "x", "", "", nil, nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		var n int
		if err := db.Q().QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_log").Scan(&n); err != nil || n != 0 {
			t.Fatalf("entries after rollback = %d, %v", n, err)
		}
	})
}

// Concurrent writers must never chain two entries off the same hash.
func TestConcurrentWritersKeepOneChain(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		actor := attest.Actor{Email: "a@example.com", OrgID: "org_c"}
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.InTx(ctx, actor, func(tx *store.Tx) error {
					return tx.Record(ctx, "x", "", "", nil, nil)
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var n, distinct int
		if err := db.Q().QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT prev_hash) FROM audit_log WHERE org_id='org_c'").Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != 40 || distinct != 40 {
			t.Fatalf("entries %d, distinct prev hashes %d; want 40 and 40", n, distinct)
		}
	})
}

func TestUniqueViolationIsConflict(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		insert := func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)", attest.NewID("org"), "Acme", tx.Now())
			return err
		}
		if err := db.InTx(ctx, attest.Actor{}, insert); err != nil {
			t.Fatal(err)
		}
		err := db.InTx(ctx, attest.Actor{}, insert)
		if !errors.Is(err, attest.ErrConflict) {
			t.Fatalf("second insert: %v, want ErrConflict", err)
		}
	})
}

func TestOpenRejectsCorruptFile(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(dir+"/"+store.SQLiteFile, []byte("this is not a database, just some text that is long enough to look like a header......")); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(context.Background(), store.Config{DataDir: dir})
	if err == nil {
		t.Fatal("opened a corrupt database")
	}
	t.Log(err)
}

func TestOpenPostgresThatDoesNotAnswer(t *testing.T) {
	_, err := store.Open(context.Background(), store.Config{URL: "postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2"})
	if err == nil {
		t.Fatal("expected an error")
	}
	if msg := err.Error(); !contains(msg, "does not answer") || contains(msg, "secret") {
		t.Fatalf("message %q should say the server does not answer and hide the password", msg)
	}
}
