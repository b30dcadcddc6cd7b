package privacy

import (
	"context"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/privacy/pii"
	"github.com/attest-hq/attest/store"
)

func orgWithControl(t *testing.T, db *store.DB, name string) (attest.Actor, string) {
	t.Helper()
	ctx := context.Background()
	owner := testutil.Org(t, db, name, "owner@"+name+".example")
	if err := db.InTx(ctx, owner, func(tx *store.Tx) error {
		_, err := control.SeedLibrary(ctx, tx, owner.OrgID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := control.List(ctx, db.Q(), owner.OrgID, control.Filter{})
	if err != nil || len(cs) == 0 {
		t.Fatalf("controls: %v", err)
	}
	return owner, cs[0].ID
}

func record(t *testing.T, db *store.DB, actor attest.Actor, ctl string, findings int64) Inventory {
	t.Helper()
	ctx := context.Background()
	r := pii.Report{Format: pii.ReportFormat, ScannedAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Findings: findings,
		ByType:    map[pii.Type]int64{pii.Email: findings},
		Locations: []pii.Location{{Path: "exports/users.csv", Types: map[pii.Type]int64{pii.Email: findings}}}}
	var in Inventory
	if err := db.InTx(ctx, actor, func(tx *store.Tx) error {
		ev, err := evidence.AddNote(ctx, tx, actor.OrgID, ctl, evidence.Meta{Title: "inventory", Note: "report"})
		if err != nil {
			return err
		}
		in, err = Record(ctx, tx, actor.OrgID, ctl, ev.ID, r)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestInventories(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		acme, ctl := orgWithControl(t, db, "acme")
		other, otherCtl := orgWithControl(t, db, "other")
		if _, err := Latest(ctx, db.Q(), acme.OrgID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("latest of none: %v", err)
		}
		first := record(t, db, acme, ctl, 3)
		db.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
		second := record(t, db, acme, ctl, 5)
		theirs := record(t, db, other, otherCtl, 7)

		latest, err := Latest(ctx, db.Q(), acme.OrgID)
		if err != nil || latest.ID != second.ID || latest.Report.Findings != 5 || latest.Report.Locations[0].Path != "exports/users.csv" ||
			latest.RecordedBy != acme.Email || !latest.ScannedAt.Equal(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("latest %+v, %v", latest, err)
		}
		list, err := List(ctx, db.Q(), acme.OrgID)
		if err != nil || len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
			t.Fatalf("list %+v, %v", list, err)
		}
		// Another org's inventory reads exactly like an unknown one.
		if _, err := Get(ctx, db.Q(), acme.OrgID, theirs.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Errorf("other org's inventory: %v", err)
		}
		if _, err := Get(ctx, db.Q(), acme.OrgID, "pin_unknown"); attest.KindOf(err) != attest.KindNotFound {
			t.Errorf("unknown inventory: %v", err)
		}
		if got, err := Get(ctx, db.Q(), other.OrgID, theirs.ID); err != nil || got.Findings != 7 {
			t.Errorf("own inventory: %+v %v", got, err)
		}
		var n int
		if err := db.Q().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE org_id = $1 AND action = 'privacy.inventory.record'`, acme.OrgID).Scan(&n); err != nil || n != 2 {
			t.Errorf("audit entries %d, %v", n, err)
		}
	})
}
