package people_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/people"
	"github.com/attest-hq/attest/store"
)

func create(t *testing.T, db *store.DB, a attest.Actor, in people.Input) people.Person {
	t.Helper()
	var p people.Person
	err := db.InTx(context.Background(), a, func(tx *store.Tx) (err error) {
		p, err = people.Create(context.Background(), tx, a.OrgID, in)
		return err
	})
	if err != nil {
		t.Fatalf("create %s: %v", in.Email, err)
	}
	return p
}

func TestLifecycleFollowsChecklists(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		today := db.Now().Format("2006-01-02")
		boss := create(t, db, owner, people.Input{Email: "Boss@Acme.example", Name: "Boss", StartDate: "2019-01-01"})
		if boss.Status != people.StatusActive || boss.Onboarding.Total != 0 || boss.Email != "boss@acme.example" {
			t.Fatalf("long-standing person: %+v", boss)
		}
		ana := create(t, db, owner, people.Input{Email: "ana@acme.example", Name: "Ana", Department: "Eng", ManagerID: boss.ID, StartDate: today, EmploymentType: "contractor"})
		if ana.Status != people.StatusOnboarding || ana.Onboarding.Total != 6 || ana.ManagerName != "Boss" {
			t.Fatalf("new hire: %+v", ana)
		}
		items, err := people.Checklist(ctx, db.Q(), owner.OrgID, ana.ID)
		if err != nil || len(items) != 6 {
			t.Fatalf("checklist: %d, %v", len(items), err)
		}
		for _, it := range items {
			must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
				_, err := people.Complete(ctx, tx, owner.OrgID, ana.ID, it.ID, "done")
				return err
			}))
		}
		again := db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := people.Complete(ctx, tx, owner.OrgID, ana.ID, items[0].ID, "")
			return err
		})
		if attest.KindOf(again) != attest.KindConflict {
			t.Fatalf("completing twice: %v", again)
		}
		got, _ := people.Get(ctx, db.Q(), owner.OrgID, ana.ID)
		if got.Status != people.StatusActive || got.Onboarding.Done != 6 {
			t.Fatalf("after onboarding: %+v", got)
		}
		// Setting an end date starts offboarding with a 48-hour access deadline.
		end := today
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := people.Update(ctx, tx, owner.OrgID, ana.ID, people.Patch{EndDate: &end, AccessDeadlineHours: 48})
			return err
		}))
		items, _ = people.Checklist(ctx, db.Q(), owner.OrgID, ana.ID)
		var access people.Item
		for _, it := range items {
			if it.Code == "access_removed" {
				access = it
			}
		}
		wantDue, _ := time.Parse("2006-01-02", today)
		wantDue = wantDue.Add(24*time.Hour + 48*time.Hour)
		if !access.DueAt.Equal(wantDue) || access.Phase != people.PhaseOffboarding {
			t.Fatalf("access item %+v, want due %v", access, wantDue)
		}
		got, _ = people.Get(ctx, db.Q(), owner.OrgID, ana.ID)
		if got.Status != people.StatusOffboarding || got.Offboarding.Total != 2 {
			t.Fatalf("offboarding: %+v", got)
		}
		for _, it := range items {
			if it.Phase == people.PhaseOffboarding {
				must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
					_, err := people.Complete(ctx, tx, owner.OrgID, ana.ID, it.ID, "")
					return err
				}))
			}
		}
		got, _ = people.Get(ctx, db.Q(), owner.OrgID, ana.ID)
		if got.Status != people.StatusDeparted {
			t.Fatalf("after offboarding: %+v", got)
		}
		// Each change is in the audit log.
		entries, _, err := auditlog.List(ctx, db.Q(), owner.OrgID, auditlog.Filter{Action: "person.", Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			seen[e.Action] = true
		}
		for _, a := range []string{"person.create", "person.update", "person.onboarding.start", "person.offboarding.start", "person.checklist.complete", "person.status"} {
			if !seen[a] {
				t.Errorf("no %s entry in the audit log", a)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		a := create(t, db, owner, people.Input{Email: "a@acme.example", Name: "A"})
		b := create(t, db, owner, people.Input{Email: "b@acme.example", Name: "B", ManagerID: a.ID})
		aid := b.ID
		cases := []struct {
			name, field string
			run         func(tx *store.Tx) error
		}{
			{"end before start", "end_date", func(tx *store.Tx) error {
				_, err := people.Create(ctx, tx, owner.OrgID, people.Input{Email: "c@acme.example", Name: "C", StartDate: "2026-02-01", EndDate: "2026-01-01"})
				return err
			}},
			{"bad date", "start_date", func(tx *store.Tx) error {
				_, err := people.Create(ctx, tx, owner.OrgID, people.Input{Email: "c@acme.example", Name: "C", StartDate: "31/01/2026"})
				return err
			}},
			{"duplicate email", "email", func(tx *store.Tx) error {
				_, err := people.Create(ctx, tx, owner.OrgID, people.Input{Email: "A@acme.example", Name: "Again"})
				return err
			}},
			{"bad type", "employment_type", func(tx *store.Tx) error {
				_, err := people.Create(ctx, tx, owner.OrgID, people.Input{Email: "c@acme.example", Name: "C", EmploymentType: "robot"})
				return err
			}},
			{"unknown manager", "manager_id", func(tx *store.Tx) error {
				_, err := people.Create(ctx, tx, owner.OrgID, people.Input{Email: "c@acme.example", Name: "C", ManagerID: "per_nobody"})
				return err
			}},
			{"manager loop", "manager_id", func(tx *store.Tx) error {
				_, err := people.Update(ctx, tx, owner.OrgID, a.ID, people.Patch{ManagerID: &aid})
				return err
			}},
		}
		for _, c := range cases {
			err := db.InTx(ctx, owner, c.run)
			var ae *attest.Error
			if !errors.As(err, &ae) || ae.Kind != attest.KindInvalid || ae.Field != c.field {
				t.Errorf("%s: got %v, want invalid %s", c.name, err, c.field)
			}
		}
		list, _, _ := people.List(ctx, db.Q(), owner.OrgID, people.Filter{})
		if len(list) != 2 {
			t.Fatalf("failed changes added people: %d", len(list))
		}
	})
}

func TestImport(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		create(t, db, owner, people.Input{Email: "cto@acme.example", Name: "CTO", StartDate: "2018-01-01"})
		run := func(body string) (people.ImportResult, error) {
			var res people.ImportResult
			err := db.InTx(ctx, owner, func(tx *store.Tx) (err error) {
				res, err = people.Import(ctx, tx, owner.OrgID, strings.NewReader(body))
				return err
			})
			return res, err
		}
		bad := []struct {
			name string
			body string
			want []people.RowError
		}{
			{"missing columns", "mail,department\nx@acme.example,Eng\n", []people.RowError{
				{Row: 1, Column: "mail"}, {Row: 1, Column: "email"}, {Row: 1, Column: "name"}}},
			{"empty", "", []people.RowError{{Row: 1}}},
			{"duplicates and dates", "email,name,start_date,end_date\n" +
				"a@acme.example,A,2026-01-05,\n" +
				"cto@acme.example,Again,,\n" +
				"A@acme.example,A twice,,\n" +
				"b@acme.example,B,2026-13-01,\n" +
				"c@acme.example,C,2026-03-01,2026-02-01\n" +
				"d@acme.example,,,\n" +
				"e@acme.example,E\n", []people.RowError{
				{Row: 3, Column: "email"}, {Row: 4, Column: "email"}, {Row: 5, Column: "start_date"},
				{Row: 6, Column: "end_date"}, {Row: 7, Column: "name"}, {Row: 8}}},
			{"unknown manager and loop", "email,name,manager_email\n" +
				"x@acme.example,X,y@acme.example\n" +
				"y@acme.example,Y,x@acme.example\n" +
				"z@acme.example,Z,nobody@acme.example\n", []people.RowError{
				{Row: 2, Column: "manager_email"}, {Row: 3, Column: "manager_email"}, {Row: 4, Column: "manager_email"}}},
		}
		for _, c := range bad {
			_, err := run(c.body)
			var ie *people.ImportError
			if !errors.As(err, &ie) || attest.KindOf(err) != attest.KindInvalid {
				t.Fatalf("%s: got %v, want an import report", c.name, err)
			}
			if len(ie.Errors) != len(c.want) {
				t.Fatalf("%s: got %+v, want %+v", c.name, ie.Errors, c.want)
			}
			for i, w := range c.want {
				g := ie.Errors[i]
				if g.Row != w.Row || g.Column != w.Column || g.Reason == "" {
					t.Errorf("%s: error %d = %+v, want row %d column %q", c.name, i, g, w.Row, w.Column)
				}
			}
		}
		if list, _, _ := people.List(ctx, db.Q(), owner.OrgID, people.Filter{}); len(list) != 1 {
			t.Fatalf("a refused file imported %d people", len(list)-1)
		}
		res, err := run("\ufeffName,Email,Manager_Email,Department,employment_type,start_date\n" +
			"Dev,dev@acme.example,lead@acme.example,Eng,intern,2026-01-10\n" +
			"Lead,lead@acme.example,cto@acme.example,Eng,,2020-01-01\n\n")
		if err != nil || res.Imported != 2 {
			t.Fatalf("good import: %+v, %v", res, err)
		}
		dev, _ := people.Get(ctx, db.Q(), owner.OrgID, res.People[0].ID)
		if dev.ManagerName != "Lead" || dev.EmploymentType != "intern" || dev.Department != "Eng" {
			t.Fatalf("imported person: %+v", dev)
		}
		eng, _, _ := people.List(ctx, db.Q(), owner.OrgID, people.Filter{Department: "Eng"})
		if len(eng) != 2 {
			t.Fatalf("filter by department: %d", len(eng))
		}
	})
}

func TestOrgIsolation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := testutil.Org(t, db, "alpha", "owner@alpha.example")
		b := testutil.Org(t, db, "beta", "owner@beta.example")
		pa := create(t, db, a, people.Input{Email: "x@alpha.example", Name: "X"})
		if _, err := people.Get(ctx, db.Q(), b.OrgID, pa.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("beta read alpha's person: %v", err)
		}
		name := "Stolen"
		err := db.InTx(ctx, b, func(tx *store.Tx) error {
			_, err := people.Update(ctx, tx, b.OrgID, pa.ID, people.Patch{Name: &name})
			return err
		})
		if attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("beta changed alpha's person: %v", err)
		}
		err = db.InTx(ctx, b, func(tx *store.Tx) error {
			_, err := people.Create(ctx, tx, b.OrgID, people.Input{Email: "y@beta.example", Name: "Y", ManagerID: pa.ID})
			return err
		})
		if attest.KindOf(err) != attest.KindInvalid {
			t.Fatalf("beta used alpha's person as manager: %v", err)
		}
		// The same email may be on both rosters.
		create(t, db, b, people.Input{Email: "x@alpha.example", Name: "X at beta"})
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
