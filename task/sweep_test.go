package task_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/task"
)

// mailSink is a plain SMTP server on 127.0.0.1 that keeps what it is sent.
type mailSink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []sunk
}

type sunk struct{ to, subject, data string }

func startSink(t *testing.T) *mailSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailSink{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.session(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *mailSink) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { io.WriteString(c, l+"\r\n") }
	say("220 sink")
	var to string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			say("250 sink")
		case "MAIL":
			say("250 ok")
		case "RCPT":
			to = strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>")
			say("250 ok")
		case "DATA":
			say("354 go")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			data := b.String()
			subject := ""
			for _, l := range strings.Split(data, "\r\n") {
				if v, ok := strings.CutPrefix(l, "Subject: "); ok {
					subject = v
				}
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, sunk{to: to, subject: subject, data: data})
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *mailSink) received() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.msgs...)
}

// hookSink counts webhook calls by delivery id.
type hookSink struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
	texts []string
}

func startHook(t *testing.T) *hookSink {
	h := &hookSink{calls: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v struct {
			DeliveryID string `json:"delivery_id"`
			Subject    string `json:"subject"`
		}
		json.NewDecoder(r.Body).Decode(&v)
		h.mu.Lock()
		h.calls[v.DeliveryID]++
		h.texts = append(h.texts, v.Subject)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func sealer(t *testing.T) *keyring.Keyring {
	master := make([]byte, keyring.KeySize)
	rand.Read(master)
	kr, err := keyring.FromBytes(master)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestTwoInstancesSendEachReminderOnce runs two complete instances (each
// its own connection pool, job runner, sweeper and sender) against the
// same database, sweeping every simulated minute for a while, and checks
// that each reminder and digest reaches each recipient exactly once. On
// PostgreSQL (ATTEST_TEST_POSTGRES) this is the several-instances case;
// on SQLite it is two processes sharing one file.
func TestTwoInstancesSendEachReminderOnce(t *testing.T) {
	for _, b := range testutil.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			var dbs []*store.DB
			for range 2 {
				db, err := store.Open(ctx, b.Cfg)
				if err != nil {
					t.Fatalf("open %s: %v", b.Name, err)
				}
				t.Cleanup(func() { db.Close() })
				dbs = append(dbs, db)
			}
			o := newOrg(t, dbs[0], "acme")
			dbs[1].SetClock(o.clock)
			admin := testutil.Member(t, dbs[0], o.owner.OrgID, "admin@acme.example", attest.RoleAdmin)
			kr := sealer(t)
			mail, hook := startSink(t), startHook(t)

			// What is owed: 12 tasks due in 3 days and one due tomorrow
			// (owned by ana), one overdue without an owner, one due in a
			// month (no reminder yet); a webhook channel; this week's digest.
			o.tx(o.owner, func(tx *store.Tx) error {
				for i := range 12 {
					if _, err := task.Create(ctx, tx, o.owner.OrgID, task.Input{Title: "Soon " + string(rune('A'+i)), DueOn: "2026-03-05", OwnerID: o.member.UserID}); err != nil {
						return err
					}
				}
				for _, in := range []task.Input{
					{Title: "Tomorrow", DueOn: "2026-03-03", OwnerID: o.member.UserID},
					{Title: "Forgotten", DueOn: "2026-02-20"},
					{Title: "Later", DueOn: "2026-04-02", OwnerID: o.member.UserID},
				} {
					if _, err := task.Create(ctx, tx, o.owner.OrgID, in); err != nil {
						return err
					}
				}
				_, err := notify.CreateChannel(ctx, tx, kr, o.owner.OrgID, notify.ChannelInput{Kind: p("webhook"), Name: p("ops"), URL: p(hook.URL + "/hook")})
				return err
			})

			host, port, _ := net.SplitHostPort(mail.ln.Addr().String())
			var runners []*jobs.Runner
			for i, db := range dbs {
				sender := &notify.Sender{DB: db, Sealer: kr, SMTP: &notify.SMTP{Host: host, Port: port, From: "attest@acme.example"}}
				sweeper := &task.Sweeper{DB: db, Email: true, BaseURL: "https://attest.example"}
				// The simulated clock runs a minute per 40 ms; a lease of a
				// simulated day keeps a slow (race-detector) send from being
				// taken over as if its instance had died.
				r := jobs.NewRunner(db, jobs.Options{Name: "instance-" + string(rune('1'+i)), Poll: 5 * time.Millisecond, Concurrency: 4, Lease: 24 * time.Hour})
				r.Handle(task.SweepJob, sweeper.Run)
				r.Handle(notify.JobKind, sender.Deliver)
				r.Every(task.SweepJob, time.Minute)
				runners = append(runners, r)
				r.Start(ctx)
			}
			// Twelve simulated minutes: twelve sweeps, each racing the
			// other instance for the job and for the reminders.
			for range 12 {
				time.Sleep(40 * time.Millisecond)
				o.advance(time.Minute)
			}
			// Then wait for the queue to drain.
			deadline := time.Now().Add(30 * time.Second)
			for {
				var pending int
				dbs[0].Q().QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')").Scan(&pending)
				if pending == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, r := range runners {
				if err := r.Stop(ctx); err != nil {
					t.Fatal(err)
				}
			}

			// Email: 12 + 1 reminders to ana, a digest to the owner and the
			// admin; webhook: 12 + 1 + 1 (overdue) reminders and the digest.
			got := map[string]int{}
			for _, m := range mail.received() {
				got[m.to+" | "+m.subject]++
			}
			wantMail := map[string]int{}
			for i := range 12 {
				wantMail["ana@acme.example | Due in 3 days: Soon "+string(rune('A'+i))] = 1
			}
			wantMail["ana@acme.example | Due tomorrow: Tomorrow"] = 1
			digest := ""
			for k := range got {
				if strings.Contains(k, "Weekly compliance digest") {
					digest = k[strings.Index(k, " | ")+3:]
				}
			}
			wantMail["owner@acme.example | "+digest] = 1
			wantMail[admin.Email+" | "+digest] = 1
			for k, n := range got {
				if wantMail[k] != n {
					t.Errorf("email %q received %d times, want %d", k, n, wantMail[k])
				}
			}
			for k := range wantMail {
				if got[k] == 0 {
					t.Errorf("email %q never arrived", k)
				}
			}
			hook.mu.Lock()
			if len(hook.calls) != 15 {
				t.Errorf("webhook got %d distinct deliveries, want 15: %v", len(hook.calls), hook.texts)
			}
			for id, n := range hook.calls {
				if n != 1 {
					t.Errorf("webhook delivery %s arrived %d times", id, n)
				}
			}
			hook.mu.Unlock()
			ds, _, err := notify.ListDeliveries(ctx, dbs[0].Q(), o.owner.OrgID, notify.Filter{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) != 30 {
				t.Errorf("%d deliveries recorded, want 30", len(ds))
			}
			for _, d := range ds {
				if d.Status != notify.StatusSent || d.Attempts != 1 {
					t.Errorf("delivery %s to %s: %s after %d attempts (%s)", d.Subject, d.Target, d.Status, d.Attempts, d.LastError)
				}
			}
			var sweeps int
			dbs[0].Q().QueryRowContext(ctx, "SELECT COUNT(*) FROM jobs WHERE kind = $1", task.SweepJob).Scan(&sweeps)
			if sweeps < 2 || sweeps > 13 {
				t.Errorf("%d sweep jobs over twelve minutes with two instances, want at most one per minute", sweeps)
			}
			// Both instances did part of the work.
			perRunner := map[string]int{}
			rows, err := dbs[0].Q().QueryContext(ctx, "SELECT runner, COUNT(*) FROM job_attempts GROUP BY runner")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var name string
				var n int
				rows.Scan(&name, &n)
				perRunner[name] = n
			}
			rows.Close()
			if len(perRunner) != 2 {
				t.Errorf("attempts per instance: %v, want both instances working", perRunner)
			}
			t.Logf("%d emails, %d webhook calls, %d sweeps, attempts per instance %v", len(mail.received()), len(hook.calls), sweeps, perRunner)
		})
	}
}

// TestRemindersFollowTheCalendar walks one task from two weeks out to
// overdue, sweeping daily, and checks which reminders are queued when.
func TestRemindersFollowTheCalendar(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newOrg(t, db, "acme")
		o.tx(o.owner, func(tx *store.Tx) error {
			_, err := task.Create(ctx, tx, o.owner.OrgID, task.Input{Title: "Access review", DueOn: "2026-03-16", OwnerID: o.member.UserID, Controls: []string{"AC-05"}})
			return err
		})
		s := &task.Sweeper{DB: db, Email: true, BaseURL: "https://attest.example/",
			PendingAcks: func(ctx context.Context, q store.Querier, org attest.OrgID) (map[string][]string, error) {
				return map[string][]string{o.member.UserID: {"Acceptable use policy"}}, nil
			}}
		var timeline []string
		for day := range 17 { // 03-02 .. 03-18
			if err := s.SweepOrg(ctx, o.owner.OrgID); err != nil {
				t.Fatal(err)
			}
			ds, _, _ := notify.ListDeliveries(ctx, db.Q(), o.owner.OrgID, notify.Filter{Limit: 200})
			for _, d := range ds {
				if d.CreatedAt.Equal(o.clock()) && d.TaskID != "" {
					timeline = append(timeline, o.clock().Format("01-02")+" "+d.Subject)
				}
			}
			_ = day
			o.advance(24 * time.Hour)
		}
		want := []string{
			"03-09 Due in 7 days: Access review",
			"03-15 Due tomorrow: Access review",
			"03-17 Overdue since yesterday: Access review",
		}
		if strings.Join(timeline, "\n") != strings.Join(want, "\n") {
			t.Fatalf("reminders:\n%s\nwant:\n%s", strings.Join(timeline, "\n"), strings.Join(want, "\n"))
		}
		ds, _, _ := notify.ListDeliveries(ctx, db.Q(), o.owner.OrgID, notify.Filter{Limit: 200})
		digests, policies := 0, 0
		for _, d := range ds {
			switch d.Event {
			case notify.EventDigest:
				digests++
			case notify.EventPolicy:
				policies++
				if d.Target != "ana@acme.example" || !strings.Contains(d.Body, "Acceptable use policy") {
					t.Errorf("policy reminder %+v", d)
				}
			case notify.EventReminder:
				if !strings.Contains(d.Body, "https://attest.example/tasks/") || !strings.Contains(d.Body, "AC-05") {
					t.Errorf("reminder body lacks its link or controls:\n%s", d.Body)
				}
			}
		}
		// Three ISO weeks (10, 11, 12) touched; one digest each to the owner.
		if digests != 3 || policies != 3 {
			t.Fatalf("%d digests and %d policy reminders over three weeks, want 3 and 3", digests, policies)
		}
	})
}
