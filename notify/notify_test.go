package notify_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
)

type fixture struct {
	t      *testing.T
	db     *store.DB
	org    attest.Actor
	sealer *keyring.Keyring
	sender *notify.Sender
	runner *jobs.Runner
	clock  time.Time
	mu     sync.Mutex
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	master := make([]byte, keyring.KeySize)
	rand.Read(master)
	kr, err := keyring.FromBytes(master)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, sealer: kr, clock: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	db.SetClock(f.now)
	f.org = testutil.Org(t, db, "acme", "owner@acme.example")
	f.sender = &notify.Sender{DB: db, Sealer: kr, Hostname: "attest.test"}
	f.runner = jobs.NewRunner(db, jobs.Options{Name: "test", BaseBackoff: time.Minute})
	f.runner.Handle(notify.JobKind, f.sender.Deliver)
	return f
}

func (f *fixture) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.clock }
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.clock = f.clock.Add(d)
	f.mu.Unlock()
}

func (f *fixture) tx(fn func(tx *store.Tx) error) {
	f.t.Helper()
	if err := f.db.InTx(context.Background(), f.org, fn); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) run() int {
	f.t.Helper()
	n, err := f.runner.RunDue(context.Background(), 50)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) deliveries(filter notify.Filter) []notify.Delivery {
	f.t.Helper()
	ds, _, err := notify.ListDeliveries(context.Background(), f.db.Q(), f.org.OrgID, filter)
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

func (f *fixture) queueEmail(to, key string) {
	f.t.Helper()
	f.tx(func(tx *store.Tx) error {
		_, err := notify.QueueEmail(context.Background(), tx, f.org.OrgID, to,
			notify.Message{Event: notify.EventReminder, Subject: "Quarterly access review is due in 7 days", Text: "Review who has access.\nThanks."}, key)
		return err
	})
}

func TestEmailOverSTARTTLSWithAuth(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		srv, pool := startMailServer(t, true)
		srv.user, srv.password = "attest", "s3cret"
		host, port := srv.addr()
		f.sender.SMTP = &notify.SMTP{Host: host, Port: port, Username: "attest", Password: "s3cret", From: "attest@acme.example",
			TLS: &tls.Config{RootCAs: pool, ServerName: host}}
		f.queueEmail("ana@acme.example", "k1")
		f.queueEmail("ana@acme.example", "k1") // the same reminder again: no second delivery
		if f.run() != 1 {
			t.Fatal("want one delivery job")
		}
		got := srv.received()
		if len(got) != 1 {
			t.Fatalf("server received %d messages", len(got))
		}
		m := got[0]
		if !m.TLS || !m.Authed || m.From != "attest@acme.example" || m.To != "ana@acme.example" {
			t.Fatalf("envelope %+v", m)
		}
		for _, want := range []string{"Subject: Quarterly access review is due in 7 days", "To: ana@acme.example", "Review who has access.", "Content-Type: text/plain; charset=utf-8"} {
			if !strings.Contains(m.Data, want) {
				t.Errorf("message lacks %q:\n%s", want, m.Data)
			}
		}
		ds := f.deliveries(notify.Filter{})
		if len(ds) != 1 || ds[0].Status != notify.StatusSent || ds[0].Attempts != 1 || ds[0].SentAt == nil || ds[0].LastError != "" {
			t.Fatalf("deliveries %+v", ds)
		}
		assertAudit(t, db, f.org.OrgID, "delivery.queue", "delivery.sent")
	})
}

// TestMailServerDown: nothing listens; each attempt fails with a clear
// error, is retried with backoff, then the delivery fails for good and
// stays listed; once the server is back a retry by hand sends it.
func TestMailServerDown(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		host, port, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close() // the port now refuses connections
		f.sender.SMTP = &notify.SMTP{Host: host, Port: port, From: "attest@acme.example", Timeout: 2 * time.Second}
		f.queueEmail("ana@acme.example", "k1")

		f.run()
		d := f.deliveries(notify.Filter{})[0]
		if d.Status != notify.StatusRetrying || d.Attempts != 1 || !strings.Contains(d.LastError, "connect to mail server") ||
			!strings.Contains(d.LastError, "refused") {
			t.Fatalf("after one attempt: %+v", d)
		}
		if f.run() != 0 {
			t.Fatal("retried before the backoff elapsed")
		}
		for range jobs.DefaultMaxAttempts {
			f.advance(2 * time.Hour)
			f.run()
		}
		d = f.deliveries(notify.Filter{})[0]
		if d.Status != notify.StatusFailed || d.Attempts != jobs.DefaultMaxAttempts || d.SentAt != nil {
			t.Fatalf("after giving up: %+v", d)
		}
		if failed := f.deliveries(notify.Filter{Status: notify.StatusFailed}); len(failed) != 1 {
			t.Fatalf("failed filter: %d", len(failed))
		}
		assertAudit(t, db, f.org.OrgID, "delivery.attempt_failed", "delivery.failed")

		// The server comes back; an admin retries.
		srv, _ := startMailServer(t, false)
		host, port = srv.addr()
		f.sender.SMTP.Host, f.sender.SMTP.Port = host, port
		f.tx(func(tx *store.Tx) error {
			_, err := notify.Retry(context.Background(), tx, f.org.OrgID, d.ID)
			return err
		})
		f.run()
		d = f.deliveries(notify.Filter{})[0]
		if d.Status != notify.StatusSent || len(srv.received()) != 1 {
			t.Fatalf("after retry: %+v, %d received", d, len(srv.received()))
		}
		// Retrying a sent delivery is a conflict.
		err := db.InTx(context.Background(), f.org, func(tx *store.Tx) error {
			_, err := notify.Retry(context.Background(), tx, f.org.OrgID, d.ID)
			return err
		})
		if attest.KindOf(err) != attest.KindConflict {
			t.Fatalf("retry of a sent delivery: %v", err)
		}
	})
}

func TestMailServerRefusesRecipient(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		srv, _ := startMailServer(t, false)
		srv.rcptReply = "550 5.1.1 no such mailbox here"
		host, port := srv.addr()
		f.sender.SMTP = &notify.SMTP{Host: host, Port: port, From: "attest@acme.example"}
		f.queueEmail("gone@acme.example", "k1")
		f.run()
		d := f.deliveries(notify.Filter{})[0]
		// A 5xx reply is final: the delivery fails at once, with the
		// server's words, and is not retried.
		if d.Status != notify.StatusFailed || d.Attempts != 1 || !strings.Contains(d.LastError, "550") || !strings.Contains(d.LastError, "no such mailbox here") {
			t.Fatalf("%+v", d)
		}
		// A 4xx reply (try later) is retried.
		srv.rcptReply = "451 4.3.0 mailbox busy, try later"
		f.queueEmail("busy@acme.example", "k2")
		f.run()
		d = f.deliveries(notify.Filter{Status: notify.StatusRetrying})[0]
		if d.Target != "busy@acme.example" || !strings.Contains(d.LastError, "451") {
			t.Fatalf("%+v", d)
		}
	})
}

func TestEmailWithoutSMTPFailsClearly(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.queueEmail("ana@acme.example", "k1")
		f.run()
		d := f.deliveries(notify.Filter{})[0]
		if !strings.Contains(d.LastError, "ATTEST_SMTP_URL") {
			t.Fatalf("%+v", d)
		}
	})
}

func TestWebhooksRetryA500AndSendSlackBlocks(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var calls atomic.Int32
		var mu sync.Mutex
		bodies := map[string][]map[string]any{}
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Errorf("webhook body is not JSON: %s", b)
			}
			if r.URL.Path == "/generic" && calls.Add(1) == 1 {
				http.Error(w, "upstream hiccup", http.StatusInternalServerError)
				return
			}
			mu.Lock()
			bodies[r.URL.Path] = append(bodies[r.URL.Path], v)
			mu.Unlock()
		}))
		defer hook.Close()
		ctx := context.Background()
		var generic, slack notify.Channel
		f.tx(func(tx *store.Tx) error {
			var err error
			generic, err = notify.CreateChannel(ctx, tx, f.sealer, f.org.OrgID, notify.ChannelInput{Kind: ptr("webhook"), Name: ptr("Ops hook"), URL: ptr(hook.URL + "/generic")})
			if err != nil {
				return err
			}
			slack, err = notify.CreateChannel(ctx, tx, f.sealer, f.org.OrgID, notify.ChannelInput{Kind: ptr("slack"), Name: ptr("#security"), URL: ptr(hook.URL + "/slack?token=SECRET"),
				Events: &[]string{notify.EventDigest}})
			return err
		})
		f.tx(func(tx *store.Tx) error {
			n, err := notify.QueueChannels(ctx, tx, f.org.OrgID, notify.Message{Event: notify.EventDigest, Subject: "Weekly digest", Text: "2 tasks overdue <b>"}, "digest:2026-W10", "")
			if n != 2 {
				t.Errorf("queued to %d channels, want 2", n)
			}
			return err
		})
		f.tx(func(tx *store.Tx) error {
			n, err := notify.QueueChannels(ctx, tx, f.org.OrgID, notify.Message{Event: notify.EventReminder, Subject: "Due soon", Text: "x"}, "task:1:due-7d", "")
			if n != 1 {
				t.Errorf("reminder queued to %d channels, want only the generic one", n)
			}
			return err
		})
		f.run()
		if ds := f.deliveries(notify.Filter{Status: notify.StatusRetrying}); len(ds) != 1 || !strings.Contains(ds[0].LastError, "500") || ds[0].ChannelID != generic.ID {
			t.Fatalf("the 500 should leave one delivery retrying: %+v", ds)
		}
		f.advance(time.Minute)
		f.run()
		for _, d := range f.deliveries(notify.Filter{}) {
			if d.Status != notify.StatusSent {
				t.Errorf("delivery %s to %s: %s (%s)", d.ID, d.Target, d.Status, d.LastError)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(bodies["/generic"]) != 2 || len(bodies["/slack"]) != 1 {
			t.Fatalf("bodies: %v", bodies)
		}
		sl := bodies["/slack"][0]
		blocks, _ := sl["blocks"].([]any)
		if sl["text"] != "Weekly digest" || len(blocks) == 0 {
			t.Fatalf("slack payload: %v", sl)
		}
		section := blocks[0].(map[string]any)["text"].(map[string]any)["text"].(string)
		if !strings.Contains(section, "&lt;b&gt;") {
			t.Errorf("slack text not escaped: %q", section)
		}
		if g := bodies["/generic"][0]; g["event"] == nil || g["subject"] == nil || g["text"] == nil {
			t.Errorf("generic payload: %v", g)
		}
		// The URL is a secret: not in pages, not in the audit log.
		if strings.Contains(slack.Target, "SECRET") {
			t.Errorf("channel target shows the secret: %s", slack.Target)
		}
		entries, _, err := auditlog.List(ctx, db.Q(), f.org.OrgID, auditlog.Filter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.Contains(e.After, "SECRET") || strings.Contains(e.Before, "SECRET") {
				t.Errorf("audit entry %s holds the webhook secret", e.Action)
			}
		}
	})
}

func TestChannelValidationAndIsolation(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for _, in := range []notify.ChannelInput{
			{Kind: ptr("pigeon"), Name: ptr("x"), URL: ptr("https://h.example/x")},
			{Kind: ptr("slack"), Name: ptr("x"), URL: ptr("ftp://h.example/x")},
			{Kind: ptr("slack"), Name: ptr("x"), URL: ptr("https://user:pw@h.example/x")},
			{Kind: ptr("slack"), Name: ptr(""), URL: ptr("https://h.example/x")},
			{Kind: ptr("slack"), Name: ptr("x"), URL: ptr("https://h.example/x"), Events: &[]string{"birthday"}},
		} {
			err := db.InTx(ctx, f.org, func(tx *store.Tx) error {
				_, err := notify.CreateChannel(ctx, tx, f.sealer, f.org.OrgID, in)
				return err
			})
			if attest.KindOf(err) != attest.KindInvalid {
				t.Errorf("%v: %v, want invalid", *in.Kind, err)
			}
		}
		var ch notify.Channel
		f.tx(func(tx *store.Tx) error {
			var err error
			ch, err = notify.CreateChannel(ctx, tx, f.sealer, f.org.OrgID, notify.ChannelInput{Kind: ptr("webhook"), Name: ptr("x"), URL: ptr("https://h.example/x")})
			return err
		})
		other := testutil.Org(t, db, "other", "owner@other.example")
		if _, err := notify.GetChannel(ctx, db.Q(), other.OrgID, ch.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org sees the channel: %v", err)
		}
		f.queueEmail("ana@acme.example", "k")
		d := f.deliveries(notify.Filter{})[0]
		if _, err := notify.GetDelivery(ctx, db.Q(), other.OrgID, d.ID); attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org sees the delivery: %v", err)
		}
		err := db.InTx(ctx, other, func(tx *store.Tx) error { _, err := notify.Retry(ctx, tx, other.OrgID, d.ID); return err })
		if attest.KindOf(err) != attest.KindNotFound {
			t.Fatalf("other org retries the delivery: %v", err)
		}
	})
}

func TestDeliveryPaging(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for i := range 5 {
			f.queueEmail("ana@acme.example", "k"+string(rune('a'+i)))
			f.advance(time.Second)
		}
		seen := map[string]bool{}
		cursor := ""
		for page := 0; page < 5; page++ {
			ds, next, err := notify.ListDeliveries(context.Background(), db.Q(), f.org.OrgID, notify.Filter{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				seen[d.ID] = true
			}
			if cursor = next; cursor == "" {
				break
			}
		}
		if len(seen) != 5 {
			t.Fatalf("paged through %d of 5", len(seen))
		}
		if _, _, err := notify.ListDeliveries(context.Background(), db.Q(), f.org.OrgID, notify.Filter{Cursor: "garbage!"}); attest.KindOf(err) != attest.KindInvalid {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func TestParseSMTPURL(t *testing.T) {
	s, err := notify.ParseSMTPURL("smtp://u%40x:p%3Aw@mail.example.com", "attest@example.com")
	if err != nil || s.Host != "mail.example.com" || s.Port != "587" || s.Username != "u@x" || s.Password != "p:w" || s.ImplicitTLS {
		t.Fatalf("%+v %v", s, err)
	}
	s, err = notify.ParseSMTPURL("smtps://mail.example.com", "attest@example.com")
	if err != nil || s.Port != "465" || !s.ImplicitTLS {
		t.Fatalf("%+v %v", s, err)
	}
	for _, bad := range [][2]string{{"http://mail.example.com", "a@b.c"}, {"smtp://mail.example.com", ""}, {"smtp://mail.example.com", "not an address"}} {
		if _, err := notify.ParseSMTPURL(bad[0], bad[1]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func assertAudit(t *testing.T, db *store.DB, org attest.OrgID, actions ...string) {
	t.Helper()
	entries, _, err := auditlog.List(context.Background(), db.Q(), org, auditlog.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Action] = true
	}
	for _, a := range actions {
		if !have[a] {
			t.Errorf("no %s entry in the audit log", a)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestChannelAlertSubscription: a channel may subscribe to security
// alerts; a channel that names no events gets the reminders and digests
// but not alerts, which are opted into.
func TestChannelAlertSubscription(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		f.tx(func(tx *store.Tx) error {
			plain, err := notify.CreateChannel(ctx, tx, f.sealer, f.org.OrgID, notify.ChannelInput{Kind: ptr("slack"), Name: ptr("#ops"), URL: ptr("https://hooks.example/ops")})
			if err != nil {
				return err
			}
			if slices.Contains(plain.Events, notify.EventAlert) || len(plain.Events) != len(notify.DefaultEvents) {
				t.Errorf("default events %v", plain.Events)
			}
			sec, err := notify.CreateChannel(ctx, tx, f.sealer, f.org.OrgID, notify.ChannelInput{Kind: ptr("slack"), Name: ptr("#sec"), URL: ptr("https://hooks.example/sec"),
				Events: &[]string{notify.EventAlert}})
			if err != nil {
				return err
			}
			n, err := notify.QueueChannels(ctx, tx, f.org.OrgID, notify.Message{Event: notify.EventAlert, Subject: "[HIGH] x", Text: "y"}, "alert:a1", "")
			if err != nil || n != 1 {
				t.Errorf("alert queued to %d channels (%v), want 1 (%s)", n, err, sec.ID)
			}
			return nil
		})
	})
}
