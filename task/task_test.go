package task_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/task"
)

func TestCadenceOccurrences(t *testing.T) {
	d := func(s string) time.Time { v, _ := time.Parse("2006-01-02", s); return v }
	cases := []struct {
		c    task.Cadence
		from string
		n    int
		want string
	}{
		{task.Weekly, "2026-03-02", 2, "2026-03-16"},
		{task.Monthly, "2026-01-31", 1, "2026-02-28"},
		{task.Monthly, "2026-01-31", 2, "2026-03-31"}, // counted from the start, not chained
		{task.Monthly, "2028-01-31", 1, "2028-02-29"},
		{task.Quarterly, "2026-11-30", 1, "2027-02-28"},
		{task.Semiannual, "2026-08-31", 1, "2027-02-28"},
		{task.Yearly, "2028-02-29", 1, "2029-02-28"},
		{task.Yearly, "2026-04-01", 3, "2029-04-01"},
	}
	for _, c := range cases {
		if got := c.c.Occurrence(d(c.from), c.n).Format("2006-01-02"); got != c.want {
			t.Errorf("%s from %s #%d = %s, want %s", c.c, c.from, c.n, got, c.want)
		}
	}
	if _, err := task.ParseCadence("fortnightly"); attest.KindOf(err) != attest.KindInvalid {
		t.Errorf("fortnightly accepted: %v", err)
	}
}

// org is an organisation with the control library, an owner, a member
// and an auditor, on a clock the test moves.
type org struct {
	t       *testing.T
	db      *store.DB
	owner   attest.Actor
	member  attest.Actor
	auditor attest.Actor
	ctl     map[string]string // code -> id
	mu      sync.Mutex
	now     time.Time
}

func newOrg(t *testing.T, db *store.DB, name string) *org {
	t.Helper()
	o := &org{t: t, db: db, now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	db.SetClock(o.clock)
	o.owner = testutil.Org(t, db, name, "owner@"+name+".example")
	o.member = testutil.Member(t, db, o.owner.OrgID, "ana@"+name+".example", attest.RoleMember)
	o.auditor = testutil.Member(t, db, o.owner.OrgID, "aud@"+name+".example", attest.RoleAuditor)
	o.tx(o.owner, func(tx *store.Tx) error {
		_, err := control.SeedLibrary(context.Background(), tx, o.owner.OrgID)
		return err
	})
	cs, err := control.List(context.Background(), db.Q(), o.owner.OrgID, control.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	o.ctl = map[string]string{}
	for _, c := range cs {
		o.ctl[c.Code] = c.ID
	}
	return o
}

func (o *org) clock() time.Time { o.mu.Lock(); defer o.mu.Unlock(); return o.now }
func (o *org) advance(d time.Duration) {
	o.mu.Lock()
	o.now = o.now.Add(d)
	o.mu.Unlock()
}

func (o *org) tx(a attest.Actor, fn func(tx *store.Tx) error) {
	o.t.Helper()
	if err := o.db.InTx(context.Background(), a, fn); err != nil {
		o.t.Fatal(err)
	}
}

func (o *org) try(a attest.Actor, fn func(tx *store.Tx) error) error {
	return o.db.InTx(context.Background(), a, fn)
}

func (o *org) rule(in task.RuleInput) task.Rule {
	o.t.Helper()
	var r task.Rule
	o.tx(o.owner, func(tx *store.Tx) error {
		var err error
		r, err = task.CreateRule(context.Background(), tx, o.owner.OrgID, in)
		return err
	})
	return r
}

func (o *org) tasks(f task.Filter) []task.Task {
	o.t.Helper()
	ts, _, err := task.List(context.Background(), o.db.Q(), o.owner.OrgID, f, o.clock())
	if err != nil {
		o.t.Fatal(err)
	}
	return ts
}

func p[T any](v T) *T { return &v }

func TestRuleValidation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		o := newOrg(t, db, "acme")
		other := newOrg(t, db, "other")
		db.SetClock(o.clock)
		ok := task.RuleInput{Title: p("Access review"), Cadence: p("quarterly"), StartOn: p("2026-04-01")}
		bad := map[string]task.RuleInput{
			"cadence":  {Title: ok.Title, Cadence: p("fortnightly"), StartOn: ok.StartOn},
			"start_on": {Title: ok.Title, Cadence: ok.Cadence, StartOn: p("01/04/2026")},
			"title":    {Title: p("  "), Cadence: ok.Cadence, StartOn: ok.StartOn},
			"owner_id": {Title: ok.Title, Cadence: ok.Cadence, StartOn: ok.StartOn, OwnerID: p("usr_nobody")},
			"controls": {Title: ok.Title, Cadence: ok.Cadence, StartOn: ok.StartOn, Controls: &[]string{other.ctl["AC-05"]}},
		}
		bad["owner_id (auditor)"] = task.RuleInput{Title: ok.Title, Cadence: ok.Cadence, StartOn: ok.StartOn, OwnerID: p(o.auditor.UserID)}
		bad["owner_id (other org)"] = task.RuleInput{Title: ok.Title, Cadence: ok.Cadence, StartOn: ok.StartOn, OwnerID: p(other.member.UserID)}
		bad["controls (unknown code)"] = task.RuleInput{Title: ok.Title, Cadence: ok.Cadence, StartOn: ok.StartOn, Controls: &[]string{"NOPE-1"}}
		for name, in := range bad {
			err := o.try(o.owner, func(tx *store.Tx) error {
				_, err := task.CreateRule(context.Background(), tx, o.owner.OrgID, in)
				return err
			})
			var e *attest.Error
			if attest.KindOf(err) != attest.KindInvalid {
				t.Errorf("%s: %v, want invalid", name, err)
			} else if field := name; errorsAs(err, &e) && e.Field != firstWord(field) {
				t.Errorf("%s: field %q", name, e.Field)
			}
		}
		// Controls by code or id both work.
		r := o.rule(task.RuleInput{Title: ok.Title, Cadence: ok.Cadence, StartOn: ok.StartOn, OwnerID: p(o.member.UserID),
			Controls: &[]string{"AC-05", o.ctl["AC-07"], "AC-05"}})
		if len(r.Controls) != 2 || r.OwnerEmail != "ana@acme.example" || r.NextDue != "2026-04-01" {
			t.Fatalf("rule %+v", r)
		}
	})
}

func TestOccurrencesAreGeneratedOnceUpToTheHorizon(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		o := newOrg(t, db, "acme")
		weekly := o.rule(task.RuleInput{Title: p("Log review"), Cadence: p("weekly"), StartOn: p("2026-02-02"), Controls: &[]string{"OP-09"}})
		yearly := o.rule(task.RuleInput{Title: p("Pen test"), Cadence: p("yearly"), StartOn: p("2025-09-15")})
		// Weekly from today (2026-03-02, a Monday, is itself an occurrence)
		// to the 60-day horizon: 03-02 ... 04-27, nine occurrences. Earlier
		// occurrences predate the rule and are not generated.
		ws := o.tasks(task.Filter{RuleID: weekly.ID})
		if len(ws) != 9 || ws[0].Due != "2026-03-02" || ws[8].Due != "2026-04-27" || len(ws[0].ControlCodes) != 1 {
			t.Fatalf("weekly: %d tasks, first %+v", len(ws), ws[0])
		}
		// Yearly: only the next occurrence, beyond the horizon.
		ys := o.tasks(task.Filter{RuleID: yearly.ID})
		if len(ys) != 1 || ys[0].Due != "2026-09-15" {
			t.Fatalf("yearly: %+v", ys)
		}
		// Generating again, from two transactions at once, adds nothing.
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o.tx(attest.System(o.owner.OrgID), func(tx *store.Tx) error {
					_, err := task.Generate(context.Background(), tx, o.owner.OrgID, task.Horizon)
					return err
				})
			}()
		}
		wg.Wait()
		if n := len(o.tasks(task.Filter{})); n != 10 {
			t.Fatalf("%d tasks after generating again, want 10", n)
		}
		// A week later one more weekly occurrence enters the horizon.
		o.advance(7 * 24 * time.Hour)
		var added int
		o.tx(attest.System(o.owner.OrgID), func(tx *store.Tx) error {
			var err error
			added, err = task.Generate(context.Background(), tx, o.owner.OrgID, task.Horizon)
			return err
		})
		if added != 1 {
			t.Fatalf("a week later %d added, want 1", added)
		}
		// A new cadence replaces open occurrences not yet due.
		o.tx(o.owner, func(tx *store.Tx) error {
			_, err := task.UpdateRule(context.Background(), tx, o.owner.OrgID, weekly.ID, task.RuleInput{Cadence: p("monthly"), OwnerID: p(o.member.UserID)})
			return err
		})
		ws = o.tasks(task.Filter{RuleID: weekly.ID, Status: task.StatusOpen})
		for _, w := range ws {
			if w.OwnerEmail != "ana@acme.example" {
				t.Errorf("open occurrence %s kept its old owner", w.Due)
			}
		}
		// 03-02 stays (overdue), then monthly on the 2nd: 03-02 already
		// past today (03-09), so 04-02 and 05-02.
		if got := dues(ws); got != "2026-03-02 2026-04-02 2026-05-02" {
			t.Fatalf("after the cadence change: %s", got)
		}
	})
}

func dues(ts []task.Task) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += " "
		}
		s += t.Due
	}
	return s
}

func TestSeedDefaultsIsIdempotentAndLinksLibraryControls(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		o := newOrg(t, db, "acme")
		var first, second []task.Rule
		o.tx(attest.System(o.owner.OrgID), func(tx *store.Tx) error {
			var err error
			first, err = task.SeedDefaults(context.Background(), tx, o.owner.OrgID, o.owner.UserID)
			return err
		})
		o.tx(attest.System(o.owner.OrgID), func(tx *store.Tx) error {
			var err error
			second, err = task.SeedDefaults(context.Background(), tx, o.owner.OrgID, o.owner.UserID)
			return err
		})
		if len(first) != len(task.Defaults) || len(second) != 0 {
			t.Fatalf("seeded %d then %d", len(first), len(second))
		}
		for _, r := range first {
			if len(r.Controls) == 0 || r.OwnerID != o.owner.UserID || r.SeedKey == "" {
				t.Errorf("default %s: %+v", r.Title, r)
			}
		}
		rs, _ := task.ListRules(context.Background(), db.Q(), o.owner.OrgID, o.clock())
		if len(rs) != len(task.Defaults) {
			t.Fatalf("%d rules", len(rs))
		}
		// Every default rule has its next occurrence as a task.
		for _, r := range rs {
			if ts := o.tasks(task.Filter{RuleID: r.ID}); len(ts) == 0 || ts[0].Due != r.NextDue {
				t.Errorf("%s: next due %s, tasks %d", r.Title, r.NextDue, len(ts))
			}
		}
	})
}

func TestCompleteRecordsEvidenceAndSkipNeedsAReason(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		o := newOrg(t, db, "acme")
		ctx := context.Background()
		var tk task.Task
		o.tx(o.owner, func(tx *store.Tx) error {
			var err error
			tk, err = task.Create(ctx, tx, o.owner.OrgID, task.Input{Title: "Review firewall rules", DueOn: "2026-03-10",
				OwnerID: o.member.UserID, Controls: []string{"AC-13", "OP-13"}})
			return err
		})
		var done task.Task
		o.tx(o.member, func(tx *store.Tx) error {
			var err error
			done, err = task.Complete(ctx, tx, o.owner.OrgID, tk.ID, "Reviewed 42 rules; removed 3 stale ones.")
			return err
		})
		if done.Status != task.StatusDone || done.ResolvedBy != "ana@acme.example" || len(done.Evidence) != 2 {
			t.Fatalf("done: %+v", done)
		}
		items, _ := evidence.List(ctx, db.Q(), o.owner.OrgID, o.ctl["AC-13"])
		if len(items) != 1 || items[0].Note != "Reviewed 42 rules; removed 3 stale ones." || items[0].AddedBy != "ana@acme.example" {
			t.Fatalf("evidence: %+v", items)
		}
		err := o.try(o.member, func(tx *store.Tx) error { _, err := task.Complete(ctx, tx, o.owner.OrgID, tk.ID, ""); return err })
		if attest.KindOf(err) != attest.KindConflict {
			t.Fatalf("completing twice: %v", err)
		}

		var other task.Task
		o.tx(o.owner, func(tx *store.Tx) error {
			var err error
			other, err = task.Create(ctx, tx, o.owner.OrgID, task.Input{Title: "Badge audit", DueOn: "2026-03-20"})
			return err
		})
		err = o.try(o.member, func(tx *store.Tx) error { _, err := task.Skip(ctx, tx, o.owner.OrgID, other.ID, " "); return err })
		if attest.KindOf(err) != attest.KindInvalid {
			t.Fatalf("skip without a reason: %v", err)
		}
		o.tx(o.member, func(tx *store.Tx) error {
			_, err := task.Skip(ctx, tx, o.owner.OrgID, other.ID, "The office closed in January.")
			return err
		})
		got, _ := task.Get(ctx, db.Q(), o.owner.OrgID, other.ID, o.clock())
		if got.Status != task.StatusSkipped || got.Note != "The office closed in January." {
			t.Fatalf("skipped: %+v", got)
		}
		entries, _, _ := auditlog.List(ctx, db.Q(), o.owner.OrgID, auditlog.Filter{Action: "task.", Limit: 50})
		seen := map[string]bool{}
		for _, e := range entries {
			seen[e.Action] = true
		}
		for _, a := range []string{"task.create", "task.complete", "task.skip"} {
			if !seen[a] {
				t.Errorf("no %s in the audit log", a)
			}
		}
		// Bad input on one-off tasks.
		for name, in := range map[string]task.Input{
			"due_on":   {Title: "x", DueOn: "10/03/2026"},
			"due_on ":  {Title: "x"},
			"owner_id": {Title: "x", DueOn: "2026-03-10", OwnerID: "usr_ghost"},
			"controls": {Title: "x", DueOn: "2026-03-10", Controls: []string{"ZZ-99"}},
		} {
			err := o.try(o.owner, func(tx *store.Tx) error { _, err := task.Create(ctx, tx, o.owner.OrgID, in); return err })
			var e *attest.Error
			if !errorsAs(err, &e) || e.Kind != attest.KindInvalid || e.Field != firstWord(name) {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

func TestOverdueCountsAndIsolation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		o := newOrg(t, db, "acme")
		other := newOrg(t, db, "other")
		db.SetClock(o.clock)
		ctx := context.Background()
		var late task.Task
		o.tx(o.owner, func(tx *store.Tx) error {
			var err error
			late, err = task.Create(ctx, tx, o.owner.OrgID, task.Input{Title: "Late", DueOn: "2026-03-01", OwnerID: o.member.UserID, Controls: []string{"AC-05"}})
			if err != nil {
				return err
			}
			_, err = task.Create(ctx, tx, o.owner.OrgID, task.Input{Title: "Due today", DueOn: "2026-03-02", Controls: []string{"AC-05"}})
			return err
		})
		counts, err := task.OverdueByControl(ctx, db.Q(), o.owner.OrgID, o.clock())
		if err != nil || counts[o.ctl["AC-05"]] != 1 || len(counts) != 1 {
			t.Fatalf("overdue by control: %v %v", counts, err)
		}
		byOwner, _ := task.OverdueByOwner(ctx, db.Q(), o.owner.OrgID, o.clock())
		if len(byOwner) != 1 || byOwner[0].Email != "ana@acme.example" || byOwner[0].Count != 1 {
			t.Fatalf("by owner: %+v", byOwner)
		}
		yes, no := true, false
		if ts := o.tasks(task.Filter{Overdue: &yes}); len(ts) != 1 || !ts[0].Overdue {
			t.Fatalf("overdue filter: %+v", ts)
		}
		if ts := o.tasks(task.Filter{Overdue: &no}); len(ts) != 1 || ts[0].Title != "Due today" {
			t.Fatalf("not-overdue filter: %+v", ts)
		}
		if ts := o.tasks(task.Filter{ControlID: o.ctl["AC-05"]}); len(ts) != 2 {
			t.Fatalf("control filter: %d", len(ts))
		}
		// Another org sees nothing of it.
		if _, err := task.Get(ctx, db.Q(), other.owner.OrgID, late.ID, o.clock()); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org reads the task: %v", err)
		}
		err = other.try(other.owner, func(tx *store.Tx) error { _, err := task.Complete(ctx, tx, other.owner.OrgID, late.ID, ""); return err })
		if attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org completes the task: %v", err)
		}
		if c, _ := task.OverdueByControl(ctx, db.Q(), other.owner.OrgID, o.clock()); len(c) != 0 {
			t.Fatalf("other org counts: %v", c)
		}
	})
}

func TestListPaging(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		o := newOrg(t, db, "acme")
		o.rule(task.RuleInput{Title: p("Weekly"), Cadence: p("weekly"), StartOn: p("2026-03-02")})
		seen, cursor := 0, ""
		for range 10 {
			ts, next, err := task.List(context.Background(), db.Q(), o.owner.OrgID, task.Filter{Limit: 4, Cursor: cursor}, o.clock())
			if err != nil {
				t.Fatal(err)
			}
			seen += len(ts)
			if cursor = next; cursor == "" {
				break
			}
		}
		if seen != 9 {
			t.Fatalf("paged through %d of 9", seen)
		}
	})
}

func errorsAs(err error, target **attest.Error) bool { return errors.As(err, target) }

// firstWord turns a case name such as "owner_id (auditor)" into its field.
func firstWord(s string) string {
	f, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	return f
}
