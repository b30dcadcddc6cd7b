package auditlog_test

import (
	"context"
	"errors"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

// seed writes five entries for org_a and two for org_b.
func seed(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for org, n := range map[attest.OrgID]int{"org_a": 5, "org_b": 2} {
		for i := 0; i < n; i++ {
			err := db.InTx(ctx, attest.Actor{Email: "x@example.com", OrgID: org}, func(tx *store.Tx) error {
				return tx.Record(ctx, "control.update", "control", "ctl_1", map[string]any{"status": "not_started"}, map[string]any{"status": i})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestVerify(t *testing.T) {
	cases := []struct {
		name    string
		tamper  string // SQL run after seeding; empty for none
		wantSeq int64  // 0: chain must verify
	}{
		{"intact", "", 0},
		{"edited", "UPDATE audit_log SET after_json = '{\"status\":\"implemented\"}' WHERE org_id = 'org_a' AND seq = 3", 3},
		{"edited actor", "UPDATE audit_log SET actor = 'mallory@example.com' WHERE org_id = 'org_a' AND seq = 2", 2},
		{"deleted middle", "DELETE FROM audit_log WHERE org_id = 'org_a' AND seq = 2", 3},
		{"deleted last", "DELETE FROM audit_log WHERE org_id = 'org_a' AND seq = 5", 4},
		{"inserted", "INSERT INTO audit_log (org_id, seq, at, actor, action, prev_hash, hash) SELECT org_id, 6, at, actor, action, hash, 'forged' FROM audit_log WHERE org_id='org_a' AND seq=5", 6},
		{"reordered", "UPDATE audit_log SET seq = CASE seq WHEN 2 THEN 3 ELSE 2 END WHERE org_id = 'org_a' AND seq IN (2, 3)", 2},
		{"chain deleted", "DELETE FROM audit_log WHERE org_id = 'org_b'", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
				seed(t, db)
				ctx := context.Background()
				if c.tamper != "" {
					if c.name == "reordered" {
						// Move through a free number: the primary key forbids a swap in one step.
						mustExec(t, db, "UPDATE audit_log SET seq = 100 WHERE org_id = 'org_a' AND seq = 2")
						mustExec(t, db, "UPDATE audit_log SET seq = 2 WHERE org_id = 'org_a' AND seq = 3")
						mustExec(t, db, "UPDATE audit_log SET seq = 3 WHERE org_id = 'org_a' AND seq = 100")
					} else {
						mustExec(t, db, c.tamper)
					}
				}
				rep, err := auditlog.Verify(ctx, db.Q())
				if c.wantSeq == 0 {
					if err != nil || rep.Entries != 7 || rep.Orgs != 2 {
						t.Fatalf("Verify = %+v, %v; want 7 entries in 2 orgs", rep, err)
					}
					return
				}
				var p *auditlog.Problem
				if !errors.As(err, &p) {
					t.Fatalf("Verify = %v, want a Problem", err)
				}
				if p.Seq != c.wantSeq {
					t.Fatalf("first bad entry %d (%s), want %d", p.Seq, p.Reason, c.wantSeq)
				}
			})
		})
	}
}

func TestListPagesNewestFirst(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		seed(t, db)
		ctx := context.Background()
		page, next, err := auditlog.List(ctx, db.Q(), "org_a", auditlog.Filter{Limit: 3})
		if err != nil || len(page) != 3 || page[0].Seq != 5 || next != "3" {
			t.Fatalf("page 1: %d entries, first %v, next %q, %v", len(page), page, next, err)
		}
		page, next, err = auditlog.List(ctx, db.Q(), "org_a", auditlog.Filter{Limit: 3, Before: 3})
		if err != nil || len(page) != 2 || page[0].Seq != 2 || next != "" {
			t.Fatalf("page 2: %d entries, next %q, %v", len(page), next, err)
		}
		other, _, err := auditlog.List(ctx, db.Q(), "org_b", auditlog.Filter{})
		if err != nil || len(other) != 2 {
			t.Fatalf("org_b sees %d entries, %v; want only its own 2", len(other), err)
		}
	})
}

func mustExec(t *testing.T, db *store.DB, q string) {
	t.Helper()
	if _, err := db.Q().ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
