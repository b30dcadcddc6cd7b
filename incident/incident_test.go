package incident_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/incident"
	"github.com/attest-hq/attest/internal/testutil"
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
	cs, _ := control.List(ctx, db.Q(), owner.OrgID, control.Filter{})
	codes := map[string]string{}
	for _, c := range cs {
		codes[c.Code] = c.ID
	}
	return owner, codes
}

func TestIncidentLifecycle(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner, codes := seeded(t, db, "acme")
		other, otherCodes := seeded(t, db, "other")
		detected := db.Now().Add(-3 * time.Hour)
		var inc incident.Incident
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
			inc, err = incident.Create(ctx, tx, owner.OrgID, incident.Input{Title: "Leaked API key", Severity: "high",
				DetectedAt: detected, ControlIDs: []string{codes["IR-01"]}})
			return err
		}))
		if inc.Severity != "sev2" || inc.Status != incident.StatusOpen || len(inc.Timeline) != 1 || len(inc.Controls) != 1 {
			t.Fatalf("created %+v", inc)
		}
		bad := []struct {
			name, field string
			run         func(tx *store.Tx) error
		}{
			{"severity", "severity", func(tx *store.Tx) error {
				_, err := incident.Create(ctx, tx, owner.OrgID, incident.Input{Title: "x", Severity: "sev9"})
				return err
			}},
			{"future", "detected_at", func(tx *store.Tx) error {
				_, err := incident.Create(ctx, tx, owner.OrgID, incident.Input{Title: "x", Severity: "sev1", DetectedAt: time.Now().Add(48 * time.Hour)})
				return err
			}},
			{"control of another org", "control_ids", func(tx *store.Tx) error {
				_, err := incident.Create(ctx, tx, owner.OrgID, incident.Input{Title: "x", Severity: "sev1", ControlIDs: []string{otherCodes["IR-01"]}})
				return err
			}},
			{"close without lessons", "lessons_learned", func(tx *store.Tx) error {
				st := incident.StatusClosed
				_, err := incident.Update(ctx, tx, owner.OrgID, inc.ID, incident.Patch{Status: &st})
				return err
			}},
			{"empty entry", "what", func(tx *store.Tx) error {
				_, err := incident.AddEvent(ctx, tx, owner.OrgID, inc.ID, time.Time{}, "  ")
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
		contained, cause, lessons, closed := incident.StatusContained, "Key committed to a public repository", "Scan commits for secrets", incident.StatusClosed
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			if _, err := incident.AddEvent(ctx, tx, owner.OrgID, inc.ID, detected.Add(time.Hour), "Key revoked"); err != nil {
				return err
			}
			_, err := incident.Update(ctx, tx, owner.OrgID, inc.ID, incident.Patch{Status: &contained})
			return err
		}))
		var done incident.Incident
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
			done, err = incident.Update(ctx, tx, owner.OrgID, inc.ID, incident.Patch{Status: &closed, RootCause: &cause, LessonsLearned: &lessons})
			return err
		}))
		if done.Status != closed || done.ResolvedAt == nil || len(done.Timeline) != 4 || done.EvidenceID == "" {
			t.Fatalf("closed %+v", done)
		}
		if done.Timeline[1].What != "Key revoked" {
			t.Fatalf("timeline not in order of occurrence: %+v", done.Timeline)
		}
		err := db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := incident.AddEvent(ctx, tx, owner.OrgID, inc.ID, time.Time{}, "late note")
			return err
		})
		if attest.KindOf(err) != attest.KindConflict {
			t.Fatalf("appending to a closed record: %v", err)
		}
		ev, _ := evidence.List(ctx, db.Q(), owner.OrgID, codes["IR-03"])
		if len(ev) != 1 || !strings.Contains(ev[0].Note, "Key revoked") {
			t.Fatalf("IR-03 evidence: %+v", ev)
		}

		// A tabletop exercise counts for IR-02 when closed.
		var tt incident.Incident
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
			tt, err = incident.Create(ctx, tx, owner.OrgID, incident.Input{Kind: incident.KindTabletop, Title: "Ransomware on the file server"})
			if err != nil {
				return err
			}
			l := "Backups restore in 4 hours; call list was out of date"
			tt, err = incident.Update(ctx, tx, owner.OrgID, tt.ID, incident.Patch{Status: &closed, LessonsLearned: &l})
			return err
		}))
		ev, _ = evidence.List(ctx, db.Q(), owner.OrgID, codes["IR-02"])
		if len(ev) != 1 || tt.EvidenceID != ev[0].ID {
			t.Fatalf("IR-02 evidence: %+v, tabletop %+v", ev, tt)
		}
		tabletops, _ := incident.List(ctx, db.Q(), owner.OrgID, incident.Filter{Kind: incident.KindTabletop})
		if len(tabletops) != 1 {
			t.Fatalf("filter tabletops: %d", len(tabletops))
		}
		// Org isolation.
		if _, err := incident.Get(ctx, db.Q(), other.OrgID, inc.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org read the incident: %v", err)
		}
		err = db.InTx(ctx, other, func(tx *store.Tx) error {
			_, err := incident.AddEvent(ctx, tx, other.OrgID, inc.ID, time.Time{}, "x")
			return err
		})
		if attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org appended to the incident: %v", err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
