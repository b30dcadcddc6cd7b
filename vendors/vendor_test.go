package vendors_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/vendors"
)

func TestFreshness(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		period, bridge string
		want           string
		soon, bridged  bool
	}{
		{"", "", vendors.StateNone, false, false},
		{"2026-03-31", "", vendors.StateCurrent, false, false},
		{"2025-07-31", "", vendors.StateCurrent, true, false},       // leaves "current" on 2026-07-31
		{"2025-06-15", "", vendors.StateBridgeNeeded, false, false}, // exactly 12 months
		{"2025-04-30", "", vendors.StateBridgeNeeded, false, false},
		{"2025-04-30", "2026-03-31", vendors.StateCurrent, true, true},
		{"2025-04-30", "2025-01-31", vendors.StateBridgeNeeded, false, false}, // an older letter does not bridge
		{"2025-03-14", "2026-03-31", vendors.StateStale, false, false},        // a letter cannot rescue a stale report
	}
	for _, c := range cases {
		f := vendors.FreshnessOf(c.period, c.bridge, now)
		if f.State != c.want || f.ExpiresSoon != c.soon || f.Bridged != c.bridged {
			t.Errorf("period %s bridge %s: %+v, want %s soon=%v bridged=%v", c.period, c.bridge, f, c.want, c.soon, c.bridged)
		}
	}
}

func TestVendors(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		other := testutil.Org(t, db, "other", "owner@other.example")
		var cloud vendors.Vendor
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
			cloud, err = vendors.Create(ctx, tx, owner.OrgID, vendors.Input{Name: "Cloudy", Tier: "1", OwnerID: owner.UserID,
				DataShared: "Customer data", Services: "Hosting", Website: "https://cloudy.example", Subprocessor: true})
			if err != nil {
				return err
			}
			_, err = vendors.Create(ctx, tx, owner.OrgID, vendors.Input{Name: "Snacks", Tier: "low"})
			return err
		}))
		if cloud.Tier != vendors.TierHigh || cloud.OwnerEmail != owner.Email || cloud.Report.State != vendors.StateNone {
			t.Fatalf("created %+v", cloud)
		}
		yes := true
		subs, err := vendors.List(ctx, db.Q(), owner.OrgID, vendors.Filter{Subprocessor: &yes})
		if err != nil || len(subs) != 1 || subs[0].ID != cloud.ID {
			t.Fatalf("subprocessors: %+v, %v", subs, err)
		}
		bad := []struct {
			name, field string
			run         func(tx *store.Tx) error
		}{
			{"tier", "tier", func(tx *store.Tx) error {
				_, err := vendors.Create(ctx, tx, owner.OrgID, vendors.Input{Name: "X", Tier: "4"})
				return err
			}},
			{"duplicate", "name", func(tx *store.Tx) error {
				_, err := vendors.Create(ctx, tx, owner.OrgID, vendors.Input{Name: "Cloudy"})
				return err
			}},
			{"website", "website", func(tx *store.Tx) error {
				_, err := vendors.Create(ctx, tx, owner.OrgID, vendors.Input{Name: "X", Website: "javascript:alert(1)"})
				return err
			}},
			{"owner from another org", "owner_id", func(tx *store.Tx) error {
				_, err := vendors.Create(ctx, tx, owner.OrgID, vendors.Input{Name: "X", OwnerID: other.UserID})
				return err
			}},
			{"review without outcome", "outcome", func(tx *store.Tx) error {
				_, err := vendors.AddReview(ctx, tx, owner.OrgID, cloud.ID, vendors.Review{Outcome: "fine"})
				return err
			}},
			{"rejection without notes", "notes", func(tx *store.Tx) error {
				_, err := vendors.AddReview(ctx, tx, owner.OrgID, cloud.ID, vendors.Review{Outcome: vendors.OutcomeRejected})
				return err
			}},
		}
		for _, c := range bad {
			err := db.InTx(ctx, owner, c.run)
			var ae *attest.Error
			if !errors.As(err, &ae) || ae.Kind != attest.KindInvalid || ae.Field != c.field {
				t.Errorf("%s: got %v, want invalid %s", c.name, err, c.field)
			}
		}
		// Reports are stored encrypted and decide freshness.
		master := make([]byte, keyring.KeySize)
		rand.Read(master)
		kr, _ := keyring.FromBytes(master)
		blobs, err := blob.NewDisk(t.TempDir(), kr)
		if err != nil {
			t.Fatal(err)
		}
		period := db.Now().AddDate(0, -2, 0).Format("2006-01-02")
		rep, err := vendors.AddReport(ctx, db, blobs, owner, cloud.ID, vendors.ReportMeta{PeriodEnd: period, Filename: "soc2.pdf"}, strings.NewReader("%PDF report"), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := vendors.AddReport(ctx, db, blobs, owner, cloud.ID, vendors.ReportMeta{PeriodEnd: "31/12/2025"}, strings.NewReader("x"), 1<<20); attest.KindOf(err) != attest.KindInvalid {
			t.Fatalf("bad period end: %v", err)
		}
		got, _ := vendors.Get(ctx, db.Q(), owner.OrgID, cloud.ID)
		if got.Report.State != vendors.StateCurrent || got.Report.PeriodEnd != period {
			t.Fatalf("after report: %+v", got.Report)
		}
		stored, err := vendors.GetReport(ctx, db.Q(), owner.OrgID, cloud.ID, rep.ID)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := vendors.OpenReport(ctx, blobs, stored)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "%PDF report" {
			t.Fatalf("report content %q", b)
		}
		// Org isolation.
		if _, err := vendors.Get(ctx, db.Q(), other.OrgID, cloud.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org read the vendor: %v", err)
		}
		if _, err := vendors.GetReport(ctx, db.Q(), other.OrgID, cloud.ID, rep.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org read the report: %v", err)
		}
		if _, err := vendors.AddReport(ctx, db, blobs, other, cloud.ID, vendors.ReportMeta{PeriodEnd: period}, strings.NewReader("x"), 1<<20); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org added a report: %v", err)
		}
		off := vendors.StatusOffboarded
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := vendors.Update(ctx, tx, owner.OrgID, cloud.ID, vendors.Patch{Status: &off})
			if err != nil {
				return err
			}
			_, err = vendors.AddReview(ctx, tx, owner.OrgID, cloud.ID, vendors.Review{Outcome: vendors.OutcomeApproved})
			return err
		}))
		got, _ = vendors.Get(ctx, db.Q(), owner.OrgID, cloud.ID)
		if got.Status != vendors.StatusOffboarded || got.LastReview == "" {
			t.Fatalf("after update and review: %+v", got)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
