package web_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/task"
	"github.com/attest-hq/attest/web"
)

// expect sends a request and checks the status, returning the body.
func (w *world) taskCall(method, path, tok, body string, want int) []byte {
	w.t.Helper()
	resp, b := w.api(method, path, tok, body)
	if resp.StatusCode != want {
		w.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	return b
}

// badInput checks a 400 naming field.
func (w *world) taskBadInput(method, path, tok, body, field string) {
	w.t.Helper()
	resp, b := w.api(method, path, tok, body)
	p := decode[problem](w.t, b)
	if resp.StatusCode != http.StatusBadRequest || p.Field != field || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		w.t.Errorf("%s %s %s: %d field %q (%s), want 400 naming %q", method, path, body, resp.StatusCode, p.Field, p.Detail, field)
	}
}

func criterionOf(t *testing.T, rd control.Readiness, code string) control.CriterionReadiness {
	t.Helper()
	for _, cr := range rd.Criteria {
		for _, c := range append(append([]string{}, cr.Controls...), cr.Missing...) {
			if c == code {
				return cr
			}
		}
	}
	t.Fatalf("no criterion lists %s", code)
	return control.CriterionReadiness{}
}

// TestTaskJourney: an admin sets up the usual duties and a one-off task
// that is already late; readiness of its control drops; the member who
// owns it completes it with a note, which becomes evidence, and readiness
// comes back. Every step is in the audit log.
func TestTaskJourney(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin, member, viewer := w.tokens[attest.RoleAdmin], w.tokens[attest.RoleMember], w.tokens[attest.RoleViewer]
		memberID := w.users[attest.RoleMember].UserID

		seeded := decode[web.List[task.Rule]](t, w.taskCall("POST", "/api/v1/task-rules/defaults", admin, `{}`, 200))
		if len(seeded.Items) != len(task.Defaults) {
			t.Fatalf("seeded %d defaults", len(seeded.Items))
		}
		again := decode[web.List[task.Rule]](t, w.taskCall("POST", "/api/v1/task-rules/defaults", admin, `{}`, 200))
		if len(again.Items) != 0 {
			t.Fatalf("seeding twice added %d", len(again.Items))
		}
		rules := decode[web.List[task.Rule]](t, w.taskCall("GET", "/api/v1/task-rules", viewer, "", 200))
		if len(rules.Items) != len(task.Defaults) || rules.Items[0].NextDue == "" {
			t.Fatalf("rules: %+v", rules.Items)
		}

		// A custom duty owned by the member.
		rl := decode[task.Rule](t, w.taskCall("POST", "/api/v1/task-rules", admin,
			fmt.Sprintf(`{"title":"Review on-call roster","cadence":"monthly","start_on":"2026-01-15","owner_id":%q,"controls":["AC-07"]}`, memberID), 201))
		if rl.OwnerID != memberID || len(rl.ControlCodes) != 1 || rl.ControlCodes[0] != "AC-07" || rl.NextDue == "" {
			t.Fatalf("rule: %+v", rl)
		}
		patched := decode[task.Rule](t, w.taskCall("PATCH", "/api/v1/task-rules/"+rl.ID, admin, `{"active":false}`, 200))
		if patched.Active || patched.NextDue != "" {
			t.Fatalf("deactivated rule: %+v", patched)
		}

		// The control is implemented with evidence: full credit.
		ctl, _ := control.Get(context.Background(), db.Q(), w.org, w.control)
		w.taskCall("PATCH", "/api/v1/controls/"+w.control, admin, `{"status":"implemented"}`, 200)
		before := criterionOf(t, decode[control.Readiness](t, w.taskCall("GET", "/api/v1/readiness", viewer, "", 200)), ctl.Code)

		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
		late := decode[task.Task](t, w.taskCall("POST", "/api/v1/tasks", admin,
			fmt.Sprintf(`{"title":"Rotate the deploy key","due_on":%q,"owner_id":%q,"controls":[%q]}`, yesterday, memberID, ctl.Code), 201))
		if !late.Overdue || late.Status != task.StatusOpen || late.Due != yesterday {
			t.Fatalf("late task: %+v", late)
		}
		during := criterionOf(t, decode[control.Readiness](t, w.taskCall("GET", "/api/v1/readiness", viewer, "", 200)), ctl.Code)
		if during.Score >= before.Score || !strings.Contains(during.Reason, "overdue task") {
			t.Fatalf("an overdue task should lower %s: before %.3f, during %.3f (%s)", ctl.Code, before.Score, during.Score, during.Reason)
		}

		// Filters.
		for q, want := range map[string]bool{
			"?overdue=true": true, "?overdue=false": false, "?owner=me&status=open": true, "?control=" + ctl.Code: true,
			"?control=" + w.control: true, "?status=done": false, "?owner=none": false,
			"?due_from=" + yesterday + "&due_to=" + yesterday: true,
		} {
			list := decode[web.List[task.Task]](t, w.taskCall("GET", "/api/v1/tasks"+q, member, "", 200))
			found := false
			for _, it := range list.Items {
				found = found || it.ID == late.ID
			}
			if found != want {
				t.Errorf("GET /api/v1/tasks%s: late task listed %v, want %v", q, found, want)
			}
		}

		// The member completes it with a note.
		done := decode[task.Task](t, w.taskCall("PATCH", "/api/v1/tasks/"+late.ID, member, `{"status":"done","note":"Rotated; old key revoked."}`, 200))
		if done.Status != task.StatusDone || done.ResolvedBy != "member@acme.example" || len(done.Evidence) != 1 {
			t.Fatalf("done: %+v", done)
		}
		ev := decode[evidence.Item](t, w.taskCall("GET", "/api/v1/evidence/"+done.Evidence[0], w.tokens[attest.RoleAuditor], "", 200))
		if ev.Note != "Rotated; old key revoked." || ev.ControlID != w.control || ev.AddedBy != "member@acme.example" {
			t.Fatalf("evidence: %+v", ev)
		}
		after := criterionOf(t, decode[control.Readiness](t, w.taskCall("GET", "/api/v1/readiness", viewer, "", 200)), ctl.Code)
		if after.Score != before.Score {
			t.Fatalf("readiness after completion %.3f, want %.3f back", after.Score, before.Score)
		}
		w.taskCall("PATCH", "/api/v1/tasks/"+late.ID, member, `{"status":"done"}`, 409)

		// Skipping needs a reason.
		other := decode[task.Task](t, w.taskCall("POST", "/api/v1/tasks", admin, `{"title":"Badge audit","due_on":"2030-01-10"}`, 201))
		w.taskBadInput("PATCH", "/api/v1/tasks/"+other.ID, member, `{"status":"skipped"}`, "reason")
		w.taskBadInput("PATCH", "/api/v1/tasks/"+other.ID, member, `{"status":"maybe"}`, "status")
		skipped := decode[task.Task](t, w.taskCall("PATCH", "/api/v1/tasks/"+other.ID, member, `{"status":"skipped","reason":"Office closed."}`, 200))
		if skipped.Status != task.StatusSkipped || skipped.Note != "Office closed." {
			t.Fatalf("skipped: %+v", skipped)
		}
		got := decode[task.Task](t, w.taskCall("GET", "/api/v1/tasks/"+other.ID, viewer, "", 200))
		if got.Status != task.StatusSkipped {
			t.Fatalf("get: %+v", got)
		}

		// Who may do what: a viewer reads but cannot complete; a member
		// cannot create tasks.
		w.taskCall("PATCH", "/api/v1/tasks/"+other.ID, viewer, `{"status":"done"}`, 403)
		w.taskCall("POST", "/api/v1/tasks", member, `{"title":"x","due_on":"2030-01-10"}`, 403)

		log := decode[web.List[struct {
			Action   string `json:"action"`
			Actor    string `json:"actor"`
			TargetID string `json:"target_id"`
		}]](t, w.taskCall("GET", "/api/v1/audit-log?limit=500", admin, "", 200))
		seen := map[string]bool{}
		for _, e := range log.Items {
			seen[e.Action] = true
		}
		for _, a := range []string{"task_rule.create", "task_rule.update", "task.generate", "task.create", "task.complete", "task.skip", "evidence.add"} {
			if !seen[a] {
				t.Errorf("no %s in the audit log", a)
			}
		}
	})
}

func TestTaskBadInput(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		auditor := w.users[attest.RoleAuditor].UserID
		for _, c := range []struct{ method, path, body, field string }{
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"2026-03-31"`, "body"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"2026-03-31","colour":"red"}`, "colour"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"31/03/2026"}`, "due_on"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"2026-02-30"}`, "due_on"},
			{"POST", "/api/v1/tasks", `{"title":"x"}`, "due_on"},
			{"POST", "/api/v1/tasks", `{"title":"","due_on":"2026-03-31"}`, "title"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"2026-03-31","owner_id":"usr_nobody"}`, "owner_id"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"2026-03-31","owner_id":"` + auditor + `"}`, "owner_id"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"2026-03-31","owner_id":"` + w.other.UserID + `"}`, "owner_id"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"2026-03-31","controls":["NOPE-1"]}`, "controls"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":"2026-03-31","controls":["` + w.otherCtl + `"]}`, "controls"},
			{"POST", "/api/v1/tasks", `{"title":"x","due_on":20260331}`, "due_on"},
			{"POST", "/api/v1/task-rules", `{"title":"x","cadence":"fortnightly","start_on":"2026-04-01"}`, "cadence"},
			{"POST", "/api/v1/task-rules", `{"title":"x","cadence":"yearly","start_on":"April 1st"}`, "start_on"},
			{"POST", "/api/v1/task-rules", `{"title":"x","cadence":"yearly"}`, "start_on"},
			{"POST", "/api/v1/task-rules", `{"title":"x","cadence":"yearly","start_on":"2026-04-01","owner_id":"usr_nobody"}`, "owner_id"},
			{"POST", "/api/v1/task-rules", `{"title":"x","cadence":"yearly","start_on":"2026-04-01","controls":["NOPE-1"]}`, "controls"},
			{"POST", "/api/v1/task-rules", `not json`, "body"},
			{"POST", "/api/v1/notification-channels", `{"kind":"pigeon","name":"x","url":"https://h.example/x"}`, "kind"},
			{"POST", "/api/v1/notification-channels", `{"kind":"slack","name":"x","url":"javascript:alert(1)"}`, "url"},
			{"POST", "/api/v1/notification-channels", `{"kind":"slack","name":"x","url":"https://h.example/x","events":["birthday"]}`, "events"},
			{"GET", "/api/v1/tasks?status=late", "", "status"},
			{"GET", "/api/v1/tasks?overdue=maybe", "", "overdue"},
			{"GET", "/api/v1/tasks?owner=usr_nobody", "", "owner"},
			{"GET", "/api/v1/tasks?control=NOPE-1", "", "control"},
			{"GET", "/api/v1/tasks?due_from=2026-3-1", "", "due_from"},
			{"GET", "/api/v1/tasks?cursor=garbage", "", "cursor"},
			{"GET", "/api/v1/deliveries?status=lost", "", "status"},
			{"GET", "/api/v1/deliveries?channel=pigeon", "", "channel"},
		} {
			w.taskBadInput(c.method, c.path, admin, c.body, c.field)
		}
	})
}

func TestTaskOrgIsolation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		tk := decode[task.Task](t, w.taskCall("POST", "/api/v1/tasks", admin, `{"title":"Acme only","due_on":"2030-01-10"}`, 201))
		rl := decode[task.Rule](t, w.taskCall("POST", "/api/v1/task-rules", admin, `{"title":"Acme duty","cadence":"yearly","start_on":"2030-01-10"}`, 201))
		ch := decode[notify.Channel](t, w.taskCall("POST", "/api/v1/notification-channels", admin, `{"kind":"webhook","name":"ops","url":"https://hooks.example/abc?token=SECRET"}`, 201))
		if strings.Contains(ch.Target, "SECRET") {
			t.Fatalf("channel shows its secret: %+v", ch)
		}
		d := decode[notify.Delivery](t, w.taskCall("POST", "/api/v1/notification-channels/"+ch.ID+"/test", admin, "", 202))
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/v1/tasks/" + tk.ID, ""},
			{"PATCH", "/api/v1/tasks/" + tk.ID, `{"status":"done"}`},
			{"GET", "/api/v1/task-rules/" + rl.ID, ""},
			{"PATCH", "/api/v1/task-rules/" + rl.ID, `{"active":false}`},
			{"GET", "/api/v1/deliveries/" + d.ID, ""},
			{"POST", "/api/v1/deliveries/" + d.ID + "/retry", ""},
			{"PATCH", "/api/v1/notification-channels/" + ch.ID, `{"enabled":false}`},
			{"POST", "/api/v1/notification-channels/" + ch.ID + "/test", ""},
			{"DELETE", "/api/v1/notification-channels/" + ch.ID, ""},
		} {
			resp, b := w.api(c.method, c.path, w.otherTok, c.body)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("other org %s %s: %d (%s), want 404", c.method, c.path, resp.StatusCode, b)
			}
		}
		for _, path := range []string{"/api/v1/tasks", "/api/v1/task-rules", "/api/v1/deliveries", "/api/v1/notification-channels"} {
			list := decode[web.List[map[string]any]](t, w.taskCall("GET", path, w.otherTok, "", 200))
			if len(list.Items) != 0 {
				t.Errorf("other org lists %d items at %s", len(list.Items), path)
			}
		}
	})
}

// TestFailedDeliveryIsVisibleAndRetried: a webhook that refuses makes the
// delivery fail; it shows in the API and the delivery log with its error,
// and once the target works again an admin's retry sends it.
func TestFailedDeliveryIsVisibleAndRetried(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		admin := w.tokens[attest.RoleAdmin]
		var broken atomic.Bool
		broken.Store(true)
		var calls atomic.Int32
		hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			if broken.Load() {
				http.Error(rw, "no such hook", http.StatusNotFound)
			}
		}))
		defer hook.Close()
		// The channel is sealed with a keyring the test holds, so the test's
		// sender can open it as the server's runner would.
		master := make([]byte, keyring.KeySize)
		rand.Read(master)
		kr, _ := keyring.FromBytes(master)
		var ch notify.Channel
		must(t, db.InTx(context.Background(), w.users[attest.RoleAdmin], func(tx *store.Tx) error {
			var err error
			ch, err = notify.CreateChannel(context.Background(), tx, kr, w.org, notify.ChannelInput{Kind: taskPtr("slack"), Name: taskPtr("#sec"), URL: taskPtr(hook.URL + "/hook")})
			return err
		}))
		d := decode[notify.Delivery](t, w.taskCall("POST", "/api/v1/notification-channels/"+ch.ID+"/test", admin, "", 202))
		if d.Status != notify.StatusQueued || d.Event != notify.EventTest {
			t.Fatalf("queued: %+v", d)
		}
		w.taskCall("POST", "/api/v1/deliveries/"+d.ID+"/retry", admin, "", 409) // not failed yet

		runner := jobs.NewRunner(db, jobs.Options{})
		runner.Handle(notify.JobKind, (&notify.Sender{DB: db, Sealer: kr}).Deliver)
		if _, err := runner.RunDue(context.Background(), 10); err != nil {
			t.Fatal(err)
		}
		failed := decode[web.List[notify.Delivery]](t, w.taskCall("GET", "/api/v1/deliveries?status=failed", w.tokens[attest.RoleAuditor], "", 200))
		if len(failed.Items) != 1 || !strings.Contains(failed.Items[0].LastError, "404") || failed.Items[0].Attempts != 1 {
			t.Fatalf("failed deliveries: %+v", failed.Items)
		}
		w.passwordsChosen()
		_, page := w.page(attest.RoleAdmin, "GET", "/notifications?status=failed", url.Values{})
		for _, hook := range []string{`data-test-id="delivery-row"`, `data-status="failed"`, `data-test-id="delivery-error"`, `data-test-id="delivery-retry"`, `data-test-id="count-failed"`} {
			if !strings.Contains(string(page), hook) {
				t.Errorf("delivery log lacks %s", hook)
			}
		}

		broken.Store(false)
		retried := decode[notify.Delivery](t, w.taskCall("POST", "/api/v1/deliveries/"+d.ID+"/retry", admin, "", 202))
		if retried.Status != notify.StatusRetrying {
			t.Fatalf("retried: %+v", retried)
		}
		if _, err := runner.RunDue(context.Background(), 10); err != nil {
			t.Fatal(err)
		}
		sent := decode[notify.Delivery](t, w.taskCall("GET", "/api/v1/deliveries/"+d.ID, admin, "", 200))
		if sent.Status != notify.StatusSent || sent.SentAt == nil || sent.Attempts != 2 || calls.Load() != 2 {
			t.Fatalf("after retry: %+v (%d calls)", sent, calls.Load())
		}
	})
}

func TestTaskPages(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.passwordsChosen()
		admin := w.tokens[attest.RoleAdmin]
		memberID := w.users[attest.RoleMember].UserID
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
		late := decode[task.Task](t, w.taskCall("POST", "/api/v1/tasks", admin,
			fmt.Sprintf(`{"title":"Rotate the deploy key","due_on":%q,"owner_id":%q,"controls":["AC-05"]}`, yesterday, memberID), 201))
		w.taskCall("POST", "/api/v1/task-rules/defaults", admin, `{}`, 200)

		has := func(role attest.Role, path string, status int, hooks ...string) string {
			t.Helper()
			resp, body := w.page(role, "GET", path, url.Values{})
			if resp.StatusCode != status {
				t.Fatalf("GET %s as %s: %d, want %d", path, role, resp.StatusCode, status)
			}
			for _, h := range hooks {
				if !strings.Contains(string(body), `data-test-id="`+h+`"`) {
					t.Errorf("GET %s as %s lacks data-test-id=%q", path, role, h)
				}
			}
			return string(body)
		}
		page := has(attest.RoleMember, "/tasks", 200, "my-tasks", "my-task", "my-overdue", "overdue-by-owner", "overdue-chart", "overdue-bar", "task-filters", "month", "task-row", "nav-tasks")
		if strings.Contains(page, `data-test-id="task-form"`) {
			t.Error("a member sees the form to add tasks")
		}
		if i, j := strings.Index(page, `data-test-id="my-tasks"`), strings.Index(page, `data-test-id="task-filters"`); i > j {
			t.Error("your tasks should come first")
		}
		has(attest.RoleAdmin, "/tasks", 200, "task-form", "overdue-chart")
		has(attest.RoleOwner, "/tasks?owner=me&status=all", 200, "my-tasks-empty")
		has(attest.RoleAdmin, "/tasks?status=bogus", 400, "form-error")
		has(attest.RoleMember, "/tasks/"+late.ID, 200, "task-title", "task-summary", "complete-form", "skip-form", "task-control", "task-deliveries")
		if body := has(attest.RoleAuditor, "/tasks/"+late.ID, 200, "task-summary"); strings.Contains(body, "complete-form") {
			t.Error("an auditor sees the complete form")
		}
		has(attest.RoleViewer, "/task-rules", 200, "rule-table", "rule-row", "rule-next")
		has(attest.RoleAdmin, "/task-rules", 200, "rule-form")
		has(attest.RoleAdmin, "/notifications", 200, "channels", "channel-form", "delivery-log", "delivery-counts")
		if body := has(attest.RoleViewer, "/notifications", 200, "delivery-log"); strings.Contains(body, "channel-form") {
			t.Error("a viewer sees the channel form")
		}
		has(attest.RoleViewer, "/tasks/unknown", 404)

		// Skip without a reason: the form comes back with the error.
		resp, body := w.page(attest.RoleMember, "POST", "/tasks/"+late.ID+"/skip", url.Values{"reason": {""}})
		if resp.StatusCode != 400 || !strings.Contains(string(body), `data-test-id="form-error"`) {
			t.Fatalf("skip without reason: %d", resp.StatusCode)
		}
		// Complete with a note.
		resp, _ = w.page(attest.RoleMember, "POST", "/tasks/"+late.ID+"/complete", url.Values{"note": {"Done from the browser."}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("complete: %d", resp.StatusCode)
		}
		has(attest.RoleMember, "/tasks/"+late.ID, 200, "task-resolution", "task-note", "task-evidence")
		if body := has(attest.RoleMember, "/tasks", 200, "nothing-overdue"); strings.Contains(body, `data-test-id="my-overdue"`) {
			t.Error("still overdue after completion")
		}

		// Rules from the browser: bad cadence, then a good one.
		resp, body = w.page(attest.RoleAdmin, "POST", "/task-rules", url.Values{"title": {"Check alarms"}, "cadence": {"hourly"}, "start_on": {"2030-01-01"}})
		if resp.StatusCode != 400 || !strings.Contains(string(body), "weekly, monthly") {
			t.Fatalf("bad cadence: %d", resp.StatusCode)
		}
		resp, _ = w.page(attest.RoleAdmin, "POST", "/task-rules", url.Values{"title": {"Check alarms"}, "cadence": {"monthly"}, "start_on": {"2030-01-01"}, "controls": {"AV-04, AV-07"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add rule: %d", resp.StatusCode)
		}
		ruleURL := resp.Header.Get("Location")
		has(attest.RoleAdmin, strings.Split(ruleURL, "?")[0], 200, "rule-title", "rule-occurrences", "occurrence", "rule-form", "rule-active")

		// A one-off task from the browser with a malformed date.
		resp, body = w.page(attest.RoleAdmin, "POST", "/tasks", url.Values{"title": {"x"}, "due_on": {"tomorrow"}})
		if resp.StatusCode != 400 || !strings.Contains(string(body), "YYYY-MM-DD") {
			t.Fatalf("bad due date: %d", resp.StatusCode)
		}
		// A channel from the browser; its URL is not shown again.
		resp, _ = w.page(attest.RoleAdmin, "POST", "/notifications/channels", url.Values{"kind": {"slack"}, "name": {"#sec"}, "url": {"https://hooks.example/T/B/SECRETPART"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("add channel: %d", resp.StatusCode)
		}
		if body := has(attest.RoleAdmin, "/notifications", 200, "channel-row", "channel-test", "channel-disable"); strings.Contains(body, "SECRETPART") {
			t.Error("the channel page shows the webhook secret")
		}
	})
}

func taskPtr[T any](v T) *T { return &v }

// passwordsChosen clears the one-time-password flag of every user, so
// that pages open instead of redirecting to the change-password step.
func (w *world) passwordsChosen() {
	w.t.Helper()
	must(w.t, w.db.InTx(context.Background(), w.users[attest.RoleOwner], func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), "UPDATE users SET must_change_password = $1", false)
		return err
	}))
}
