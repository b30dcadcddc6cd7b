package evidence_test

import (
	"context"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

func TestAddNote(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		var ctl control.Control
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
			ctl, err = control.Create(ctx, tx, owner.OrgID, control.Control{Code: "T-1", Title: "t", Frequency: control.FrequencyMonthly})
			return err
		}))
		add := func(m evidence.Meta) (evidence.Item, error) {
			var it evidence.Item
			err := db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
				it, err = evidence.AddNote(ctx, tx, owner.OrgID, ctl.ID, m)
				return err
			})
			return it, err
		}
		march := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
		cases := []struct {
			name   string
			meta   evidence.Meta
			field  string
			source string
		}{
			{"person's note", evidence.Meta{Title: "Review", Note: "done", EffectiveAt: march}, "", "note"},
			{"filed by a feature", evidence.Meta{Title: "Policy v2", Note: "published", Source: "policy:pol_abc"}, "", "policy:pol_abc"},
			{"bad source", evidence.Meta{Title: "x", Note: "y", Source: "Policy pol abc"}, "source", ""},
			{"no text", evidence.Meta{Title: "x"}, "note", ""},
			{"no title", evidence.Meta{Note: "y"}, "title", ""},
			{"future", evidence.Meta{Title: "x", Note: "y", EffectiveAt: time.Now().Add(72 * time.Hour)}, "effective_at", ""},
			{"supersedes unknown", evidence.Meta{Title: "x", Note: "y", SupersedesID: "evd_nope"}, "supersedes", ""},
		}
		for _, c := range cases {
			it, err := add(c.meta)
			if c.field != "" {
				if e, ok := err.(*attest.Error); !ok || e.Field != c.field {
					t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
				}
				continue
			}
			if err != nil || it.Source != c.source || len(it.SHA256) != 64 || it.AddedBy != owner.Email {
				t.Errorf("%s: %+v, %v", c.name, it, err)
			}
			if !c.meta.EffectiveAt.IsZero() && !it.EffectiveAt.Equal(c.meta.EffectiveAt) {
				t.Errorf("%s: effective %v, want %v", c.name, it.EffectiveAt, c.meta.EffectiveAt)
			}
		}
		items, err := evidence.List(ctx, db.Q(), owner.OrgID, ctl.ID)
		if err != nil || len(items) != 2 {
			t.Fatalf("list: %d items, %v", len(items), err)
		}
		sums, err := evidence.Summaries(ctx, db.Q(), owner.OrgID)
		if err != nil || sums[ctl.ID].Count != 2 || sums[ctl.ID].Newest.Before(march) {
			t.Fatalf("summaries: %+v, %v", sums, err)
		}
		if !evidence.Fresh(control.FrequencyMonthly, sums[ctl.ID].Newest, time.Now()) {
			t.Error("evidence added today is not fresh")
		}
		if evidence.Fresh(control.FrequencyMonthly, march, march.Add(60*24*time.Hour)) {
			t.Error("monthly evidence 60 days old counted as fresh")
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
