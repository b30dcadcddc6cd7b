package risk_test

import (
	"context"
	"errors"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/risk"
	"github.com/attest-hq/attest/store"
)

func seeded(t *testing.T, db *store.DB, name string) (attest.Actor, map[string]string) {
	t.Helper()
	ctx := context.Background()
	owner := testutil.Org(t, db, name, "owner@"+name+".example")
	must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
		_, err := control.SeedLibrary(ctx, tx, owner.OrgID)
		return err
	}))
	cs, err := control.List(ctx, db.Q(), owner.OrgID, control.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]string{}
	for _, c := range cs {
		codes[c.Code] = c.ID
	}
	return owner, codes
}

func TestRegisterAndAssessment(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner, codes := seeded(t, db, "acme")
		other, otherCodes := seeded(t, db, "other")
		var phish risk.Risk
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
			phish, err = risk.Create(ctx, tx, owner.OrgID, risk.Input{Title: "Phishing takes over an admin account", Category: "security",
				Likelihood: 4, Impact: 5, ResidualLikelihood: 2, ResidualImpact: 4, OwnerID: owner.UserID,
				ControlIDs: []string{codes["RA-02"], codes["RA-01"], codes["RA-01"]}, ReviewDate: "2020-01-01"})
			if err != nil {
				return err
			}
			_, err = risk.Create(ctx, tx, owner.OrgID, risk.Input{Title: "Region outage", Likelihood: 2, Impact: 4, Treatment: risk.TreatAccept})
			return err
		}))
		if phish.InherentScore != 20 || phish.ResidualScore != 8 || len(phish.Controls) != 2 || phish.Controls[0].Code != "RA-01" || !phish.ReviewOverdue {
			t.Fatalf("created %+v", phish)
		}
		bad := []struct {
			name, field string
			in          risk.Input
		}{
			{"likelihood of 7", "likelihood", risk.Input{Title: "x", Likelihood: 7, Impact: 3}},
			{"no impact", "impact", risk.Input{Title: "x", Likelihood: 3}},
			{"residual above inherent", "residual_likelihood", risk.Input{Title: "x", Likelihood: 2, Impact: 2, ResidualLikelihood: 5, ResidualImpact: 5}},
			{"treatment", "treatment", risk.Input{Title: "x", Likelihood: 2, Impact: 2, Treatment: "ignore"}},
			{"unknown control", "control_ids", risk.Input{Title: "x", Likelihood: 2, Impact: 2, ControlIDs: []string{"ctl_nope"}}},
			{"control of another org", "control_ids", risk.Input{Title: "x", Likelihood: 2, Impact: 2, ControlIDs: []string{otherCodes["RA-01"]}}},
			{"owner of another org", "owner_id", risk.Input{Title: "x", Likelihood: 2, Impact: 2, OwnerID: other.UserID}},
			{"review date", "review_date", risk.Input{Title: "x", Likelihood: 2, Impact: 2, ReviewDate: "next year"}},
		}
		for _, c := range bad {
			err := db.InTx(ctx, owner, func(tx *store.Tx) error {
				_, err := risk.Create(ctx, tx, owner.OrgID, c.in)
				return err
			})
			var ae *attest.Error
			if !errors.As(err, &ae) || ae.Kind != attest.KindInvalid || ae.Field != c.field {
				t.Errorf("%s: got %v, want invalid %s", c.name, err, c.field)
			}
		}
		all, err := risk.List(ctx, db.Q(), owner.OrgID, risk.Filter{})
		if err != nil || len(all) != 2 || all[0].ID != phish.ID {
			t.Fatalf("list: %d, %v", len(all), err)
		}
		inh, res := risk.HeatMaps(all)
		if inh.Cells[3][4] != 1 || res.Cells[1][3] != 2 || inh.Total != 2 {
			t.Fatalf("heat maps %+v %+v", inh, res)
		}
		linked, _ := risk.List(ctx, db.Q(), owner.OrgID, risk.Filter{ControlID: codes["RA-01"]})
		if len(linked) != 1 {
			t.Fatalf("filter by control: %d", len(linked))
		}
		seven := 7
		err = db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := risk.Update(ctx, tx, owner.OrgID, phish.ID, risk.Patch{Likelihood: &seven})
			return err
		})
		if ae := (*attest.Error)(nil); !errors.As(err, &ae) || ae.Field != "likelihood" {
			t.Fatalf("patch likelihood 7: %v", err)
		}
		// Org isolation.
		if _, err := risk.Get(ctx, db.Q(), other.OrgID, phish.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org read the risk: %v", err)
		}

		var a risk.Assessment
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
			a, err = risk.Assess(ctx, tx, owner.OrgID, "", "Reviewed with leadership.")
			return err
		}))
		if a.RiskCount != 2 || len(a.EvidenceIDs) != 2 || len(a.SHA256) != 64 {
			t.Fatalf("assessment %+v", a)
		}
		got, err := risk.GetAssessment(ctx, db.Q(), owner.OrgID, a.ID)
		if err != nil || !got.Intact || got.SHA256 != a.SHA256 || len(got.Snapshot) == 0 {
			t.Fatalf("stored assessment %+v, %v", got, err)
		}
		ev, err := evidence.List(ctx, db.Q(), owner.OrgID, codes["RA-01"])
		if err != nil || len(ev) != 1 || ev[0].Kind != evidence.KindNote {
			t.Fatalf("RA-01 evidence: %+v, %v", ev, err)
		}
		// Changing the register afterwards leaves the snapshot as it was.
		title := "Renamed"
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := risk.Update(ctx, tx, owner.OrgID, phish.ID, risk.Patch{Title: &title})
			return err
		}))
		again, _ := risk.GetAssessment(ctx, db.Q(), owner.OrgID, a.ID)
		if string(again.Snapshot) != string(got.Snapshot) || !again.Intact {
			t.Fatal("the snapshot changed with the register")
		}
		if _, err := risk.GetAssessment(ctx, db.Q(), other.OrgID, a.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org read the assessment: %v", err)
		}
		entries, _, _ := auditlog.List(ctx, db.Q(), owner.OrgID, auditlog.Filter{Action: "risk.", Limit: 100})
		seen := map[string]bool{}
		for _, e := range entries {
			seen[e.Action] = true
		}
		for _, want := range []string{"risk.create", "risk.update", "risk.assessment.create"} {
			if !seen[want] {
				t.Errorf("no %s in the audit log", want)
			}
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
