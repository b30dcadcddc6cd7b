package policy_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/policy"
	"github.com/attest-hq/attest/store"
)

type org struct {
	db                            *store.DB
	owner, admin, member, auditor attest.Actor
	viewer                        attest.Actor
}

func newOrg(t *testing.T, db *store.DB, name string) org {
	t.Helper()
	o := org{db: db, owner: testutil.Org(t, db, name, "owner@"+name+".example")}
	id := o.owner.OrgID
	o.admin = testutil.Member(t, db, id, "admin@"+name+".example", attest.RoleAdmin)
	o.member = testutil.Member(t, db, id, "member@"+name+".example", attest.RoleMember)
	o.auditor = testutil.Member(t, db, id, "auditor@"+name+".example", attest.RoleAuditor)
	o.viewer = testutil.Member(t, db, id, "viewer@"+name+".example", attest.RoleViewer)
	if err := db.InTx(context.Background(), o.owner, func(tx *store.Tx) error {
		_, err := control.SeedLibrary(context.Background(), tx, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return o
}

// as runs fn in a transaction as actor and returns its policy.
func as(t *testing.T, db *store.DB, actor attest.Actor, fn func(ctx context.Context, tx *store.Tx) (policy.Policy, error)) (policy.Policy, error) {
	t.Helper()
	var p policy.Policy
	err := db.InTx(context.Background(), actor, func(tx *store.Tx) error {
		var err error
		p, err = fn(context.Background(), tx)
		return err
	})
	return p, err
}

func mustKind(t *testing.T, err error, kind attest.ErrorKind, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want kind %d (%s)", kind, contains)
	}
	if attest.KindOf(err) != kind || !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %v (kind %d), want kind %d containing %q", err, attest.KindOf(err), kind, contains)
	}
}

// ok returns v, and stops the test binary with the error's stack when
// err is not nil (a generic helper cannot take t along with a call's two
// results).
func ok[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func actions(t *testing.T, db *store.DB, orgID attest.OrgID, target string) []string {
	t.Helper()
	rows, err := db.Q().QueryContext(context.Background(), "SELECT action FROM audit_log WHERE org_id = $1 AND target_id = $2 ORDER BY seq", orgID, target)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		out = append(out, a)
	}
	return out
}

func TestLifecycle(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newOrg(t, db, "acme")
		org := o.owner.OrgID
		pol := ok(as(t, db, o.admin, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Create(ctx, tx, org, policy.New{TemplateID: "access-control", Variables: map[string]string{"deprovision_hours": "8"}})
		}))
		w := pol.Working
		switch {
		case pol.Status != policy.StatusDraft || w == nil || w.Number != 1 || pol.Published != nil:
			t.Fatalf("new policy: %+v", pol)
		case !strings.Contains(w.Content, "acme") || !strings.Contains(w.Content, "within 8 hours"):
			t.Fatalf("variables not filled: %.300s", w.Content)
		case pol.OwnerID != o.admin.UserID || pol.Owner != "admin@acme.example":
			t.Fatalf("owner %q %q", pol.OwnerID, pol.Owner)
		case len(pol.Controls) == 0 || len(pol.Criteria) == 0 || w.ContentHash != policy.Hash(w.Title, w.Content):
			t.Fatalf("mapping or hash missing: %+v", pol)
		}
		step := func(actor attest.Actor, f func(context.Context, *store.Tx, attest.OrgID, string) (policy.Policy, error)) (policy.Policy, error) {
			return as(t, db, actor, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) { return f(ctx, tx, org, pol.ID) })
		}
		// Publishing without approval is refused, at each stage.
		_, err := step(o.owner, policy.Publish)
		mustKind(t, err, attest.KindConflict, "has not been approved")
		_, err = step(o.owner, policy.Approve)
		mustKind(t, err, attest.KindConflict, "submit it for review")
		pol = ok(step(o.admin, policy.Submit))
		if pol.Status != policy.StatusInReview {
			t.Fatalf("after submit: %s", pol.Status)
		}
		_, err = step(o.admin, policy.Submit)
		mustKind(t, err, attest.KindConflict, "already in review")
		_, err = step(o.owner, policy.Publish)
		mustKind(t, err, attest.KindConflict, "has not been approved")
		// The author may not approve while another manager exists.
		_, err = step(o.admin, policy.Approve)
		mustKind(t, err, attest.KindConflict, "another owner or admin must approve")
		pol = ok(step(o.owner, policy.Approve))
		if pol.Status != policy.StatusApproved || pol.Working.Approver != "owner@acme.example" || pol.Working.ApprovedAt == nil || pol.Working.SelfApproved {
			t.Fatalf("after approve: %+v", pol.Working)
		}
		db.SetClock(func() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) })
		pol = ok(step(o.owner, policy.Publish))
		v1 := pol.Published
		switch {
		case pol.Status != policy.StatusPublished || pol.Working != nil || v1 == nil || v1.Number != 1 || !v1.Current:
			t.Fatalf("after publish: %+v", pol)
		case v1.PublishedAt == nil || v1.PublishedBy != "owner@acme.example":
			t.Fatalf("publish not recorded: %+v", v1)
		case !pol.ReviewDue.Equal(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)):
			t.Fatalf("review due %v, want a year after publication", pol.ReviewDue)
		}
		_, err = step(o.owner, policy.Publish)
		mustKind(t, err, attest.KindConflict, "already the published version")

		// Publication is evidence on every mapped control.
		ids := ok(policy.ControlIDs(ctx, db.Q(), org))
		items := ok(evidence.List(ctx, db.Q(), org, ids["AC-03"]))
		if len(items) != 1 || !strings.Contains(items[0].Note, v1.ContentHash) || !strings.Contains(items[0].Title, "Access Control Policy") {
			t.Fatalf("evidence on AC-03: %+v", items)
		}

		// Acknowledgements.
		ackAs := func(actor attest.Actor, ref policy.VersionRef) (policy.Acknowledgement, bool, error) {
			var a policy.Acknowledgement
			var created bool
			err := db.InTx(ctx, actor, func(tx *store.Tx) error {
				var err error
				a, created, err = policy.Accept(ctx, tx, org, pol.ID, ref)
				return err
			})
			return a, created, err
		}
		a, created, err := ackAs(o.member, policy.VersionRef{})
		if err != nil || !created || a.VersionHash != v1.ContentHash || a.Version != 1 || a.Email != "member@acme.example" {
			t.Fatalf("accept: %+v %v %v", a, created, err)
		}
		again, created, err := ackAs(o.member, policy.VersionRef{Number: 1})
		if err != nil || created || again.ID != a.ID {
			t.Fatalf("second accept should return the first: %+v %v %v", again, created, err)
		}
		_, _, err = ackAs(o.auditor, policy.VersionRef{})
		mustKind(t, err, attest.KindForbidden, "not in scope")
		_, _, err = ackAs(o.viewer, policy.VersionRef{Number: 7})
		mustKind(t, err, attest.KindInvalid, "version")

		people := ok(policy.Population(ctx, db.Q(), org))
		if len(people) != 4 {
			t.Fatalf("population %d, want owner, admin, member and viewer", len(people))
		}
		status := ok(policy.AckStatus(ctx, db.Q(), org, pol.ID))
		accepted := 0
		for _, s := range status {
			if s.Accepted {
				accepted++
				if s.Email != "member@acme.example" || s.AcceptedAt == nil || *s.Version != 1 {
					t.Fatalf("status: %+v", s)
				}
			}
		}
		if accepted != 1 || len(status) != 4 {
			t.Fatalf("status %+v", status)
		}
		pending := ok(policy.PendingByPerson(ctx, db.Q(), org))
		if len(pending) != 3 || pending[0].Policies[0].PolicyID != pol.ID {
			t.Fatalf("pending %+v", pending)
		}
		if got := ok(policy.ToAcceptFor(ctx, db.Q(), org, o.member.UserID)); len(got) != 0 {
			t.Fatalf("member still has %+v to accept", got)
		}
		if got := ok(policy.ToAcceptFor(ctx, db.Q(), org, o.viewer.UserID)); len(got) != 1 {
			t.Fatalf("viewer has %+v to accept", got)
		}
		if pr := ok(policy.ProgressByPolicy(ctx, db.Q(), org))[pol.ID]; pr.Accepted != 1 || pr.Total != 4 {
			t.Fatalf("progress %+v", pr)
		}

		// Editing the published text starts version 2; version 1 stays.
		newText := strings.Replace(v1.Content, "within 8 hours", "within 4 hours", 1) + "\n## Added section\n\nMore.\n"
		title := "Access Policy"
		pol = ok(as(t, db, o.admin, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Update(ctx, tx, org, pol.ID, policy.Patch{Content: &newText, Title: &title})
		}))
		if pol.Working == nil || pol.Working.Number != 2 || pol.Published.Number != 1 || pol.Status != policy.StatusDraft {
			t.Fatalf("edit of a published policy: %+v", pol)
		}
		_, _, err = ackAs(o.viewer, policy.VersionRef{Number: 2})
		mustKind(t, err, attest.KindConflict, "not published")
		v1again := ok(policy.VersionByNumber(ctx, db.Q(), org, pol.ID, 1))
		if v1again.Content != v1.Content || v1again.ContentHash != v1.ContentHash {
			t.Fatal("published version 1 changed")
		}
		// Editing in review sends the version back to draft.
		pol = ok(step(o.admin, policy.Submit))
		more := newText + "\nOne more line.\n"
		pol = ok(as(t, db, o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Update(ctx, tx, org, pol.ID, policy.Patch{Content: &more})
		}))
		if pol.Status != policy.StatusDraft || pol.Working.SubmittedAt != nil {
			t.Fatalf("edit in review: %+v", pol.Working)
		}
		pol = ok(step(o.owner, policy.Submit))
		// The owner edited last, so the owner may not approve; the admin
		// created the version, so neither may they; nobody else can, and
		// the approval is allowed but marked.
		pol = ok(step(o.owner, policy.Approve))
		if !pol.Working.SelfApproved {
			t.Fatal("approval by the last editor with no independent approver should be marked self-approved")
		}
		db.SetClock(func() time.Time { return time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC) })
		pol = ok(step(o.admin, policy.Publish))
		if pol.Published.Number != 2 || pol.Title != "Access Policy" {
			t.Fatalf("v2 publish: %+v", pol.Published)
		}
		vs := ok(policy.Versions(ctx, db.Q(), org, pol.ID))
		if len(vs) != 2 || vs[0].Current || !vs[1].Current || vs[0].Status != policy.StatusPublished {
			t.Fatalf("versions %+v", vs)
		}
		// The member's acceptance of version 1 no longer counts; naming
		// the superseded version is refused.
		_, _, err = ackAs(o.member, policy.VersionRef{ID: v1.ID})
		mustKind(t, err, attest.KindConflict, "superseded by version 2")
		_, _, err = ackAs(o.member, policy.VersionRef{Number: 1})
		mustKind(t, err, attest.KindConflict, "superseded")
		for _, s := range ok(policy.AckStatus(ctx, db.Q(), org, pol.ID)) {
			if s.Email == "member@acme.example" && (s.Accepted || s.LastAccepted == nil || *s.LastAccepted != 1) {
				t.Fatalf("member after v2: %+v", s)
			}
		}
		_, acks, err := policy.VersionAcknowledgements(ctx, db.Q(), org, pol.ID, 1)
		if err != nil || len(acks) != 1 {
			t.Fatalf("acks of v1: %v %v", acks, err)
		}

		// Diff between the published versions.
		from, to := ok(policy.VersionByNumber(ctx, db.Q(), org, pol.ID, 1)), ok(policy.VersionByNumber(ctx, db.Q(), org, pol.ID, 2))
		add, del := policy.DiffStats(policy.Diff(from.Content, to.Content))
		if add < 3 || del != 1 {
			t.Fatalf("diff +%d -%d", add, del)
		}

		// Review overdue after the due date.
		late := time.Date(2027, 7, 1, 0, 0, 0, 0, time.UTC)
		overdue := true
		if got := ok(policy.List(ctx, db.Q(), org, policy.Filter{Overdue: &overdue}, late)); len(got) != 1 || !got[0].ReviewOverdue {
			t.Fatalf("overdue list %+v", got)
		}
		if got := ok(policy.List(ctx, db.Q(), org, policy.Filter{Overdue: &overdue}, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))); len(got) != 0 {
			t.Fatalf("not yet overdue, listed %+v", got)
		}

		// Every change is in the audit log.
		got := strings.Join(actions(t, db, org, pol.ID), ",")
		for _, want := range []string{"policy.create", "policy.submit", "policy.approve", "policy.publish", "policy.acknowledge", "policy.update"} {
			if !strings.Contains(got, want) {
				t.Errorf("audit log of the policy lacks %s: %s", want, got)
			}
		}

		// Export of the published set.
		ex := ok(policy.PublishedSet(ctx, db.Q(), org, db.Now()))
		if len(ex.Documents) != 1 || ex.Documents[0].Version.Number != 2 {
			t.Fatalf("export %+v", ex)
		}
		var html, pdf bytes.Buffer
		if err := policy.WriteHTML(&html, ex); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Access Policy", to.ContentHash, "owner@acme.example", "2026-06-01"} {
			if !strings.Contains(html.String(), want) {
				t.Errorf("HTML export lacks %q", want)
			}
		}
		if err := policy.WritePDF(&pdf, ex); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) || pdf.Len() < 3000 {
			t.Fatalf("PDF export: %d bytes", pdf.Len())
		}
	})
}

func TestSelfApprovalWhenAlone(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		owner := testutil.Org(t, db, "solo", "owner@solo.example")
		org := owner.OrgID
		p := ok(as(t, db, owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Create(ctx, tx, org, policy.New{Title: "Remote Work", Content: "# Remote Work\n\nWork from anywhere safely.\n"})
		}))
		for _, f := range []func(context.Context, *store.Tx, attest.OrgID, string) (policy.Policy, error){policy.Submit, policy.Approve, policy.Publish} {
			p = ok(as(t, db, owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) { return f(ctx, tx, org, p.ID) }))
		}
		if p.Published == nil || !p.Published.SelfApproved || p.Published.Approver != "owner@solo.example" {
			t.Fatalf("solo owner publish: %+v", p.Published)
		}
	})
}

func TestBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		o := newOrg(t, db, "acme")
		org := o.owner.OrgID
		create := func(in policy.New) error {
			_, err := as(t, db, o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) { return policy.Create(ctx, tx, org, in) })
			return err
		}
		mustKind(t, create(policy.New{}), attest.KindInvalid, "title")
		mustKind(t, create(policy.New{Title: "   "}), attest.KindInvalid, "title")
		mustKind(t, create(policy.New{Title: strings.Repeat("x", 201)}), attest.KindInvalid, "title")
		mustKind(t, create(policy.New{TemplateID: "nope"}), attest.KindInvalid, "template_id")
		mustKind(t, create(policy.New{Title: "Big", Content: strings.Repeat("a", policy.MaxContent+1)}), attest.KindTooLarge, "content")
		mustKind(t, create(policy.New{TemplateID: "backup", Variables: map[string]string{"colour": "red"}}), attest.KindInvalid, "variables.colour")
		mustKind(t, create(policy.New{TemplateID: "backup", Content: "x"}), attest.KindInvalid, "content")
		mustKind(t, create(policy.New{Title: "T", Variables: map[string]string{"company": "x"}}), attest.KindInvalid, "variables")
		mustKind(t, create(policy.New{Title: "T", ReviewMonths: 99}), attest.KindInvalid, "review_months")
		mustKind(t, create(policy.New{Title: "T", OwnerID: "usr_nobody"}), attest.KindInvalid, "owner")
		other := testutil.Org(t, db, "other", "owner@other.example")
		mustKind(t, create(policy.New{Title: "T", OwnerID: other.UserID}), attest.KindInvalid, "owner")

		p := ok(as(t, db, o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Create(ctx, tx, org, policy.New{Title: "Empty"})
		}))
		_, err := as(t, db, o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Submit(ctx, tx, org, p.ID)
		})
		mustKind(t, err, attest.KindInvalid, "content")
		update := func(in policy.Patch) error {
			_, err := as(t, db, o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
				return policy.Update(ctx, tx, org, p.ID, in)
			})
			return err
		}
		empty, big, bad := "", strings.Repeat("a", policy.MaxContent+1), "\xff\xfe"
		mustKind(t, update(policy.Patch{Title: &empty}), attest.KindInvalid, "title")
		mustKind(t, update(policy.Patch{Content: &big}), attest.KindTooLarge, "content")
		mustKind(t, update(policy.Patch{Content: &bad}), attest.KindInvalid, "content")
		mustKind(t, update(policy.Patch{Controls: &[]string{"ZZ-1"}}), attest.KindInvalid, "controls")
		old := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
		mustKind(t, update(policy.Patch{ReviewDue: &old}), attest.KindInvalid, "review_due")
		codes := []string{"AC-01", "AC-02", "AC-01"}
		p = ok(as(t, db, o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Update(ctx, tx, org, p.ID, policy.Patch{Controls: &codes})
		}))
		if strings.Join(p.Controls, ",") != "AC-01,AC-02" || len(p.Criteria) == 0 {
			t.Fatalf("controls patch: %v %v", p.Controls, p.Criteria)
		}
		_, _, err = acceptErr(db, o.member, org, p.ID)
		mustKind(t, err, attest.KindConflict, "not been published")
	})
}

func acceptErr(db *store.DB, actor attest.Actor, org attest.OrgID, id string) (policy.Acknowledgement, bool, error) {
	var a policy.Acknowledgement
	var created bool
	err := db.InTx(context.Background(), actor, func(tx *store.Tx) error {
		var err error
		a, created, err = policy.Accept(context.Background(), tx, org, id, policy.VersionRef{})
		return err
	})
	return a, created, err
}

// TestOrgIsolation: a policy of another org answers NotFound everywhere,
// exactly like an unknown id.
func TestOrgIsolation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := testutil.Org(t, db, "a", "owner@a.example")
		b := testutil.Org(t, db, "b", "owner@b.example")
		p := ok(as(t, db, a, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Create(ctx, tx, a.OrgID, policy.New{TemplateID: "backup"})
		}))
		for _, id := range []string{p.ID, "pol_unknown"} {
			_, err := policy.Get(ctx, db.Q(), b.OrgID, id, db.Now())
			mustKind(t, err, attest.KindNotFound, "policy")
			_, err = policy.Versions(ctx, db.Q(), b.OrgID, id)
			mustKind(t, err, attest.KindNotFound, "policy")
			_, err = policy.VersionByNumber(ctx, db.Q(), b.OrgID, id, 1)
			mustKind(t, err, attest.KindNotFound, "policy")
			_, err = policy.AckStatus(ctx, db.Q(), b.OrgID, id)
			mustKind(t, err, attest.KindNotFound, "policy")
			for _, f := range []func(context.Context, *store.Tx, attest.OrgID, string) (policy.Policy, error){policy.Submit, policy.Approve, policy.Publish} {
				_, err = as(t, db, b, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) { return f(ctx, tx, b.OrgID, id) })
				mustKind(t, err, attest.KindNotFound, "policy")
			}
			title := "stolen"
			_, err = as(t, db, b, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
				return policy.Update(ctx, tx, b.OrgID, id, policy.Patch{Title: &title})
			})
			mustKind(t, err, attest.KindNotFound, "policy")
			_, _, err = acceptErr(db, b, b.OrgID, id)
			mustKind(t, err, attest.KindNotFound, "policy")
		}
		if got := ok(policy.List(ctx, db.Q(), b.OrgID, policy.Filter{}, db.Now())); len(got) != 0 {
			t.Fatalf("org b sees %d policies", len(got))
		}
	})
}

func TestStatusFilter(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newOrg(t, db, "acme")
		org := o.owner.OrgID
		run := func(actor attest.Actor, f func(ctx context.Context, tx *store.Tx) (policy.Policy, error)) policy.Policy {
			return ok(as(t, db, actor, f))
		}
		pub := run(o.admin, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Create(ctx, tx, org, policy.New{TemplateID: "backup"})
		})
		for _, f := range []func(context.Context, *store.Tx, attest.OrgID, string) (policy.Policy, error){policy.Submit} {
			run(o.admin, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) { return f(ctx, tx, org, pub.ID) })
		}
		for _, f := range []func(context.Context, *store.Tx, attest.OrgID, string) (policy.Policy, error){policy.Approve, policy.Publish} {
			run(o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) { return f(ctx, tx, org, pub.ID) })
		}
		text := "# Backup Policy\n\nNew text.\n"
		run(o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Update(ctx, tx, org, pub.ID, policy.Patch{Content: &text})
		})
		run(o.owner, func(ctx context.Context, tx *store.Tx) (policy.Policy, error) {
			return policy.Create(ctx, tx, org, policy.New{TemplateID: "encryption"})
		})
		count := func(st policy.Status) int {
			return len(ok(policy.List(ctx, db.Q(), org, policy.Filter{Status: st}, db.Now())))
		}
		// The backup policy is in force with a new draft; encryption is a draft only.
		if count(policy.StatusPublished) != 1 || count(policy.StatusDraft) != 2 || count(policy.StatusInReview) != 0 || count("") != 2 {
			t.Fatalf("published %d, draft %d, in review %d", count(policy.StatusPublished), count(policy.StatusDraft), count(policy.StatusInReview))
		}
	})
}
