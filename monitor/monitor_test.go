package monitor_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/monitor"
	"github.com/attest-hq/attest/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// ct is one CloudTrail record as a JSON line.
func ct(at time.Time, user, source, name, ip string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","userName":"%s"},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"aws-cli/2","requestParameters":{"name":"trail-1"},"recipientAccountId":"111122223333"}`,
		user, user, at.UTC().Format(time.RFC3339), source, name, ip)
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func newMonitor(t *testing.T, db *store.DB) *monitor.Monitor {
	t.Helper()
	m, err := monitor.New(monitor.Config{DB: db, LeaseWait: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ingestText(t *testing.T, m *monitor.Monitor, a attest.Actor, body string) monitor.IngestSummary {
	t.Helper()
	sum, err := m.Ingest(context.Background(), a, monitor.IngestInput{Format: event.SourceCloudTrail, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return sum
}

func alertsOf(t *testing.T, db *store.DB, org attest.OrgID, f monitor.Filter) []monitor.Alert {
	t.Helper()
	as, _, err := monitor.ListAlerts(context.Background(), db.Q(), org, f)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestIngestGroupsAndDeduplicates(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		m := newMonitor(t, db)
		sample, err := os.ReadFile("../detect/testdata/cloudtrail/aws-docs-examples.json.gz")
		if err != nil {
			t.Fatal(err)
		}
		sum, err := m.Ingest(ctx, owner, monitor.IngestInput{Body: strings.NewReader(string(sample))})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Format != "cloudtrail" || sum.Events != 5 || sum.Alerts == 0 || len(sum.AlertIDs) != int(sum.Alerts) {
			t.Fatalf("first upload: %+v", sum)
		}
		// The same file again opens nothing new.
		again, err := m.Ingest(ctx, owner, monitor.IngestInput{Body: strings.NewReader(string(sample))})
		if err != nil {
			t.Fatal(err)
		}
		// (The baseline knows Alice now, so its "new actor" finding does
		// not come back; the rule's alert is a duplicate.)
		if again.Alerts != 0 || again.Duplicates != 1 {
			t.Errorf("second upload of the same events: %+v, want only a duplicate", again)
		}
		a, err := monitor.GetAlert(ctx, db.Q(), owner.OrgID, sum.AlertIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != monitor.StatusOpen || a.Reason == "" || len(a.Samples) != 1 || len(a.Criteria) == 0 {
			t.Errorf("alert: %+v", a)
		}

		// Rules only from here on.
		off := false
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := monitor.UpdateSettings(ctx, tx, owner.OrgID, monitor.SettingsPatch{Baseline: &monitor.BaselinePatch{Enabled: &off}})
			return err
		}))
		// StopLogging by bob at t0, then again 20 minutes later in a
		// second upload: one alert with two events.
		first := ingestText(t, m, owner, lines(ct(t0, "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5")))
		second := ingestText(t, m, owner, lines(ct(t0.Add(20*time.Minute), "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5")))
		if first.Alerts != 1 || second.Alerts != 0 || second.Grouped != 1 {
			t.Fatalf("grouping across uploads: first %+v, second %+v", first, second)
		}
		got := alertsOf(t, db, owner.OrgID, monitor.Filter{Rule: "attest_aws_cloudtrail_stopped"})
		if len(got) != 1 || got[0].Events != 2 || !got[0].LastTime.Equal(t0.Add(20*time.Minute)) || got[0].Severity != "critical" {
			t.Fatalf("grouped alert: %+v", got)
		}
		// Past the window (default an hour after the last event): a new alert.
		third := ingestText(t, m, owner, lines(ct(t0.Add(3*time.Hour), "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5")))
		if third.Alerts != 1 {
			t.Errorf("after the window: %+v", third)
		}
		// A closed alert is not extended.
		_ = db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := monitor.TriageAlert(ctx, tx, owner.OrgID, third.AlertIDs[0], monitor.Triage{Status: monitor.StatusResolved})
			return err
		})
		fourth := ingestText(t, m, owner, lines(ct(t0.Add(3*time.Hour+time.Minute), "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5")))
		if fourth.Alerts != 1 {
			t.Errorf("after resolving: %+v", fourth)
		}
		// Filters.
		if got := alertsOf(t, db, owner.OrgID, monitor.Filter{Severity: "critical", Status: "open"}); len(got) != 2 {
			t.Errorf("open critical alerts: %d, want 2", len(got))
		}
		if got := alertsOf(t, db, owner.OrgID, monitor.Filter{Since: t0.Add(2 * time.Hour)}); len(got) != 2 {
			t.Errorf("alerts since: %d, want 2", len(got))
		}
		page1, next, err := monitor.ListAlerts(ctx, db.Q(), owner.OrgID, monitor.Filter{Limit: 2})
		if err != nil || len(page1) != 2 || next == "" {
			t.Fatalf("page 1: %d %q %v", len(page1), next, err)
		}
		page2, _, err := monitor.ListAlerts(ctx, db.Q(), owner.OrgID, monitor.Filter{Limit: 2, Cursor: next})
		if err != nil || len(page2) == 0 || page2[0].ID == page1[1].ID {
			t.Fatalf("page 2: %+v %v", page2, err)
		}
	})
}

func TestTriageWorkflow(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		member := testutil.Member(t, db, owner.OrgID, "oncall@acme.example", attest.RoleMember)
		other := testutil.Org(t, db, "other", "owner@other.example")
		m := newMonitor(t, db)
		sum := ingestText(t, m, owner, lines(
			ct(t0, "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5"),
			ct(t0, "carol", "cloudtrail.amazonaws.com", "DeleteTrail", "203.0.113.6")))
		if sum.Alerts != 2 {
			t.Fatalf("%+v", sum)
		}
		a1, a2 := sum.AlertIDs[0], sum.AlertIDs[1]
		triage := func(as attest.Actor, id string, in monitor.Triage) (monitor.Alert, error) {
			var out monitor.Alert
			err := db.InTx(ctx, as, func(tx *store.Tx) error {
				var err error
				out, err = monitor.TriageAlert(ctx, tx, as.OrgID, id, in)
				return err
			})
			return out, err
		}
		cases := []struct {
			name  string
			as    attest.Actor
			id    string
			in    monitor.Triage
			kind  attest.ErrorKind
			field string
		}{
			{"other org", other, a1, monitor.Triage{Status: "acknowledged"}, attest.KindNotFound, ""},
			{"unknown", owner, "alr_nope", monitor.Triage{Status: "acknowledged"}, attest.KindNotFound, ""},
			{"no status", owner, a1, monitor.Triage{}, attest.KindInvalid, "status"},
			{"bad status", owner, a1, monitor.Triage{Status: "closed"}, attest.KindInvalid, "status"},
			{"reopen", owner, a1, monitor.Triage{Status: "open"}, attest.KindInvalid, "status"},
			{"fp without reason", owner, a1, monitor.Triage{Status: "false_positive", Reason: "  "}, attest.KindInvalid, "reason"},
		}
		for _, c := range cases {
			_, err := triage(c.as, c.id, c.in)
			var ae *attest.Error
			if attest.KindOf(err) != c.kind {
				t.Errorf("%s: %v, want kind %d", c.name, err, c.kind)
			} else if c.field != "" && (!asErr(err, &ae) || ae.Field != c.field) {
				t.Errorf("%s: %v, want field %s", c.name, err, c.field)
			}
		}
		db.SetClock(func() time.Time { return time.Now().Add(90 * time.Second) })
		a, err := triage(member, a1, monitor.Triage{Status: "acknowledged"})
		if err != nil || a.Status != "acknowledged" || a.AcknowledgedBy != "oncall@acme.example" || a.TimeToAcknowledge == nil || *a.TimeToAcknowledge < 80 {
			t.Fatalf("acknowledge: %+v %v", a, err)
		}
		if _, err := triage(member, a1, monitor.Triage{Status: "acknowledged"}); attest.KindOf(err) != attest.KindConflict {
			t.Errorf("acknowledge twice: %v", err)
		}
		db.SetClock(func() time.Time { return time.Now().Add(10 * time.Minute) })
		a, err = triage(owner, a1, monitor.Triage{Status: "resolved", Reason: "trail re-enabled"})
		if err != nil || a.Status != "resolved" || a.ResolvedBy != "owner@acme.example" || a.TimeToResolve == nil || *a.TimeToResolve < 590 ||
			*a.TimeToAcknowledge >= *a.TimeToResolve {
			t.Fatalf("resolve: %+v %v", a, err)
		}
		if _, err := triage(owner, a1, monitor.Triage{Status: "false_positive", Reason: "x"}); attest.KindOf(err) != attest.KindConflict {
			t.Errorf("triage a closed alert: %v", err)
		}
		a, err = triage(member, a2, monitor.Triage{Status: "false_positive", Reason: "planned trail migration"})
		if err != nil || a.Status != "false_positive" || a.StatusReason != "planned trail migration" || a.AcknowledgedAt == nil || a.ResolvedAt == nil {
			t.Fatalf("false positive: %+v %v", a, err)
		}
		if offer := monitor.SuppressionOffer(a); offer.Rule != a.Rule || offer.Actor != a.Actor || offer.Reason != "planned trail migration" {
			t.Errorf("offer: %+v", offer)
		}
		// The audit log has every step with who did it.
		entries, _, err := auditlog.List(ctx, db.Q(), owner.OrgID, auditlog.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		for _, e := range entries {
			if e.TargetType == "alert" {
				seen[e.Action+" "+e.TargetID] = e.Actor
			}
		}
		for k, who := range map[string]string{"alert.acknowledged " + a1: "oncall@acme.example", "alert.resolved " + a1: "owner@acme.example",
			"alert.false_positive " + a2: "oncall@acme.example", "alert.open " + a1: "owner@acme.example"} {
			if seen[k] != who {
				t.Errorf("audit %s by %q, want %q (have %v)", k, seen[k], who, seen)
			}
		}
		// Statistics see both triage times.
		db.SetClock(time.Now)
		st, err := monitor.ComputeStats(ctx, db.Q(), owner.OrgID, time.Now().AddDate(0, 0, -1), time.Now().Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != 2 || st.BySeverity["critical"] != 2 || st.Acknowledge.Count != 2 || st.Resolve.Count != 2 || st.FalsePositives != 1 ||
			st.Acknowledge.MedianSeconds == nil || *st.Acknowledge.MedianSeconds < 80 {
			t.Errorf("stats: %+v", st)
		}
	})
}

func asErr(err error, dst **attest.Error) bool {
	e, ok := err.(*attest.Error)
	if ok {
		*dst = e
	}
	return ok
}

func TestSuppressionStopsReAlert(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		m := newMonitor(t, db)
		var sup monitor.Suppression
		bad := []struct {
			in    monitor.SuppressionInput
			field string
		}{
			{monitor.SuppressionInput{Reason: "x"}, "rule"},
			{monitor.SuppressionInput{Rule: "*", Reason: "x"}, "rule"},
			{monitor.SuppressionInput{Actor: "bob"}, "reason"},
			{monitor.SuppressionInput{Actor: "bob", Network: "10.0.0.0/33", Reason: "x"}, "network"},
			{monitor.SuppressionInput{Actor: "bob", Network: "0.0.0.0/0", Reason: "x"}, "network"},
			{monitor.SuppressionInput{Actor: "bob", Until: "2001-01-01", Reason: "x"}, "until"},
			{monitor.SuppressionInput{Actor: "bob", Until: "soon", Reason: "x"}, "until"},
			{monitor.SuppressionInput{Actor: "bob", AlertID: "alr_nope", Reason: "x"}, "alert_id"},
		}
		for _, b := range bad {
			err := db.InTx(ctx, owner, func(tx *store.Tx) error {
				_, err := monitor.CreateSuppression(ctx, tx, owner.OrgID, b.in)
				return err
			})
			var ae *attest.Error
			if !asErr(err, &ae) || ae.Kind != attest.KindInvalid || ae.Field != b.field {
				t.Errorf("%+v: %v, want invalid %s", b.in, err, b.field)
			}
		}
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			var err error
			sup, err = monitor.CreateSuppression(ctx, tx, owner.OrgID, monitor.SuppressionInput{
				Rule: "attest_aws_cloudtrail_*", Actor: "arn:aws:iam::111122223333:user/bob", Network: "203.0.113.0/24", Reason: "the trail rotation job"})
			return err
		}))
		sum := ingestText(t, m, owner, lines(
			ct(t0, "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5"),
			ct(t0.Add(time.Minute), "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.9"),
			ct(t0.Add(2*time.Minute), "bob", "cloudtrail.amazonaws.com", "StopLogging", "198.51.100.1")))
		if sum.Suppressed != 2 || sum.Alerts != 1 {
			t.Fatalf("summary: %+v", sum)
		}
		got, err := monitor.GetSuppression(ctx, db.Q(), owner.OrgID, sup.ID, time.Now())
		if err != nil || got.Matched != 2 || got.LastMatchedAt == nil || !got.Active {
			t.Errorf("suppression after: %+v %v", got, err)
		}
		st, err := monitor.ComputeStats(ctx, db.Q(), owner.OrgID, time.Now().AddDate(0, 0, -1), time.Now().Add(time.Hour))
		if err != nil || st.Suppressed != 2 {
			t.Errorf("stats suppressed: %+v %v", st.Suppressed, err)
		}
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error { return monitor.DeleteSuppression(ctx, tx, owner.OrgID, sup.ID) }))
		after := ingestText(t, m, owner, lines(ct(t0.Add(5*time.Hour), "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5")))
		if after.Suppressed != 0 || after.Alerts != 1 {
			t.Errorf("after deleting the suppression: %+v", after)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// learnPatch makes the baseline judge an actor after an hour and three
// events.
func learnPatch() monitor.SettingsPatch {
	h, n := 1.0, int64(3)
	return monitor.SettingsPatch{Baseline: &monitor.BaselinePatch{LearningPeriodHours: &h, MinEvents: &n}}
}

func TestBaselinePersistsAcrossMonitors(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := monitor.UpdateSettings(ctx, tx, owner.OrgID, learnPatch())
			return err
		}))
		var learn []string
		for i := 0; i < 12; i++ {
			learn = append(learn, ct(t0.Add(time.Duration(i)*15*time.Minute), "alice", "ec2.amazonaws.com", "StartInstances", "198.51.100.10"))
		}
		ingestText(t, newMonitor(t, db), owner, lines(learn...))
		info, err := monitor.GetBaselineInfo(ctx, db.Q(), owner.OrgID)
		if err != nil || info.Entities != 1 || info.Events != 12 || len(info.Actors) != 1 || info.Actors[0].Events != 12 {
			t.Fatalf("baseline info: %+v %v", info, err)
		}
		// A fresh monitor (a restart) knows alice: a new action is news.
		sum := ingestText(t, newMonitor(t, db), owner, lines(ct(t0.Add(4*time.Hour), "alice", "iam.amazonaws.com", "CreateUser", "198.51.100.10")))
		as := alertsOf(t, db, owner.OrgID, monitor.Filter{Rule: "baseline.first_seen_action"})
		if sum.Alerts != 1 || len(as) != 1 || !strings.Contains(as[0].Reason, "StartInstances") {
			t.Fatalf("first-seen action after restart: %+v %+v", sum, as)
		}
		msg := monitor.AlertMessage(as[0], func(id string) string { return "https://attest.example/alerts/" + id })
		for _, want := range []string{"What happened:", "What is typical for this actor:", "baseline check", "CC7.2 (Anomaly monitoring)", "https://attest.example/alerts/" + as[0].ID} {
			if !strings.Contains(msg.Text, want) {
				t.Errorf("message lacks %q:\n%s", want, msg.Text)
			}
		}
	})
}

func TestConcurrentIngestsKeepEveryEvent(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		// Two monitors stand for two instances sharing the database.
		ms := []*monitor.Monitor{newMonitor(t, db), newMonitor(t, db)}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var ls []string
				for j := 0; j < 50; j++ {
					ls = append(ls, ct(t0.Add(time.Duration(j)*time.Second), fmt.Sprintf("user%d", i), "ec2.amazonaws.com", "DescribeInstances", "198.51.100.10"))
				}
				_, err := ms[i%2].Ingest(ctx, owner, monitor.IngestInput{Format: event.SourceCloudTrail, Body: strings.NewReader(lines(ls...))})
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		info, err := monitor.GetBaselineInfo(ctx, db.Q(), owner.OrgID)
		if err != nil || info.Entities != 4 || info.Events != 200 {
			t.Fatalf("after concurrent uploads: %+v %v (a lost update would drop actors)", info, err)
		}
	})
}

func TestRecordMonth(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		m := newMonitor(t, db)
		ingestText(t, m, owner, lines(ct(t0, "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5")))
		month := time.Now().UTC()
		err := db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := monitor.RecordMonth(ctx, tx, owner.OrgID, month)
			return err
		})
		if attest.KindOf(err) != attest.KindConflict {
			t.Fatalf("without monitoring controls: %v", err)
		}
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := control.SeedLibrary(ctx, tx, owner.OrgID)
			return err
		}))
		var n int
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			items, err := monitor.RecordMonth(ctx, tx, owner.OrgID, month)
			n = len(items)
			for _, it := range items {
				if !strings.Contains(it.Title, "Security monitoring summary") {
					t.Errorf("title %q", it.Title)
				}
			}
			return err
		}))
		if n != 2 {
			t.Errorf("filed on %d controls, want OP-08 and OP-09", n)
		}
		err = db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := monitor.RecordMonth(ctx, tx, owner.OrgID, month)
			return err
		})
		if attest.KindOf(err) != attest.KindConflict {
			t.Errorf("twice: %v", err)
		}
		err = db.InTx(ctx, owner, func(tx *store.Tx) error {
			_, err := monitor.RecordMonth(ctx, tx, owner.OrgID, month.AddDate(0, 2, 0))
			return err
		})
		if attest.KindOf(err) != attest.KindInvalid {
			t.Errorf("future month: %v", err)
		}
		// The periodic job files last month once and is quiet the second time.
		if err := m.RecordLastMonth(ctx, jobsJob()); err != nil {
			t.Fatal(err)
		}
		if err := m.RecordLastMonth(ctx, jobsJob()); err != nil {
			t.Fatal(err)
		}
	})
}

func jobsJob() jobs.Job { return jobs.Job{ID: "job_test", Kind: monitor.EvidenceJob} }
