package control_test

import (
	"context"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

func seeded(t *testing.T, db *store.DB, name string) attest.Actor {
	t.Helper()
	ctx := context.Background()
	owner := testutil.Org(t, db, name, "owner@"+name+".example")
	if err := db.InTx(ctx, owner, func(tx *store.Tx) error {
		_, err := control.SeedLibrary(ctx, tx, owner.OrgID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return owner
}

func TestSeedListGetUpdate(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := seeded(t, db, "acme")
		lib, _ := control.Library()
		all, err := control.List(ctx, db.Q(), owner.OrgID, control.Filter{})
		if err != nil || len(all) != len(lib) {
			t.Fatalf("listed %d controls, %v; want %d", len(all), err, len(lib))
		}
		first := all[0]
		if len(first.Criteria) == 0 || first.Status != control.StatusNotStarted {
			t.Fatalf("seeded control %+v lacks criteria or status", first)
		}
		st := control.StatusImplemented
		owned := owner.UserID
		var updated control.Control
		if err := db.InTx(ctx, owner, func(tx *store.Tx) error {
			updated, err = control.Update(ctx, tx, owner.OrgID, first.ID, control.Patch{Status: &st, OwnerID: &owned})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, err := control.Get(ctx, db.Q(), owner.OrgID, first.ID)
		if err != nil || got.Status != control.StatusImplemented || got.OwnerEmail != owner.Email || updated.OwnerEmail != owner.Email {
			t.Fatalf("after update: %+v, %v", got, err)
		}
		impl, err := control.List(ctx, db.Q(), owner.OrgID, control.Filter{Status: control.StatusImplemented})
		if err != nil || len(impl) != 1 {
			t.Fatalf("filter by status: %d, %v", len(impl), err)
		}
	})
}

func TestInvalidChanges(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := seeded(t, db, "acme")
		all, _ := control.List(ctx, db.Q(), owner.OrgID, control.Filter{})
		na := control.StatusNotApplicable
		stranger := "usr_nobody"
		cases := []struct {
			name  string
			run   func(tx *store.Tx) error
			field string
		}{
			{"n/a without justification", func(tx *store.Tx) error {
				_, err := control.Update(ctx, tx, owner.OrgID, all[0].ID, control.Patch{Status: &na})
				return err
			}, "justification"},
			{"owner outside org", func(tx *store.Tx) error {
				_, err := control.Update(ctx, tx, owner.OrgID, all[0].ID, control.Patch{OwnerID: &stranger})
				return err
			}, "owner"},
			{"unknown criterion", func(tx *store.Tx) error {
				_, err := control.Create(ctx, tx, owner.OrgID, control.Control{Code: "X-1", Title: "x", Criteria: []string{"CC99.9"}})
				return err
			}, "criteria"},
			{"duplicate code", func(tx *store.Tx) error {
				_, err := control.Create(ctx, tx, owner.OrgID, control.Control{Code: all[0].Code, Title: "x"})
				return err
			}, "code"},
		}
		for _, c := range cases {
			err := db.InTx(ctx, owner, c.run)
			var ae *attest.Error
			if !asError(err, &ae) || ae.Kind != attest.KindInvalid || ae.Field != c.field {
				t.Errorf("%s: got %v, want invalid %s", c.name, err, c.field)
			}
		}
		// Nothing half-written: the failed changes left the control as it was.
		got, _ := control.Get(ctx, db.Q(), owner.OrgID, all[0].ID)
		if got.Status != control.StatusNotStarted || got.OwnerID != "" {
			t.Fatalf("failed changes leaked: %+v", got)
		}
	})
}

// One org must never read or change another's controls: the id of a
// control in org A answers NotFound to org B, like an unknown id.
func TestOrgIsolation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := seeded(t, db, "alpha")
		b := seeded(t, db, "beta")
		aControls, _ := control.List(ctx, db.Q(), a.OrgID, control.Filter{})
		target := aControls[0].ID
		if _, err := control.Get(ctx, db.Q(), b.OrgID, target); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("org B read org A's control: %v", err)
		}
		st := control.StatusImplemented
		err := db.InTx(ctx, b, func(tx *store.Tx) error {
			_, err := control.Update(ctx, tx, b.OrgID, target, control.Patch{Status: &st})
			return err
		})
		if attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("org B changed org A's control: %v", err)
		}
		bControls, _ := control.List(ctx, db.Q(), b.OrgID, control.Filter{})
		for _, c := range bControls {
			if c.OrgID != b.OrgID {
				t.Fatalf("org B's list holds %s of org %s", c.Code, c.OrgID)
			}
		}
	})
}
