package monitor_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/monitor"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
)

// TestAlertReachesSlack: a critical alert goes out through the job
// runner and notify's sender as a Slack-compatible message, in words.
func TestAlertReachesSlack(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		var mu sync.Mutex
		var got []string
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, string(b))
			mu.Unlock()
		}))
		defer hook.Close()
		master := make([]byte, keyring.KeySize)
		rand.Read(master)
		kr, err := keyring.FromBytes(master)
		if err != nil {
			t.Fatal(err)
		}
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			kind, name, url := notify.ChannelSlack, "#security", hook.URL+"/hook"
			ch, err := notify.CreateChannel(ctx, tx, kr, owner.OrgID, notify.ChannelInput{Kind: &kind, Name: &name, URL: &url})
			if err != nil {
				return err
			}
			_, err = monitor.UpdateSettings(ctx, tx, owner.OrgID, monitor.SettingsPatch{NotifyChannels: &[]string{ch.ID}})
			return err
		}))
		sum := ingestText(t, newMonitor(t, db), owner, lines(ct(t0, "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5")))
		if sum.Deliveries != 1 {
			t.Fatalf("%+v", sum)
		}
		r := jobs.NewRunner(db, jobs.Options{Name: "test"})
		r.Handle(notify.JobKind, (&notify.Sender{DB: db, Sealer: kr}).Deliver)
		if _, err := r.RunDue(ctx, 10); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 {
			t.Fatalf("webhook received %d messages", len(got))
		}
		var msg struct {
			Text   string `json:"text"`
			Blocks []struct {
				Text struct {
					Text string `json:"text"`
				} `json:"text"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal([]byte(got[0]), &msg); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg.Text, "[CRITICAL] CloudTrail logging stopped") || len(msg.Blocks) == 0 ||
			!strings.Contains(msg.Blocks[0].Text.Text, "What happened: arn:aws:iam::111122223333:user/bob did cloudtrail:StopLogging") ||
			!strings.Contains(msg.Blocks[0].Text.Text, "What is typical for this actor:") {
			t.Errorf("slack message: %s", got[0])
		}
	})
}

// TestAlertReachesSubscribedChannels: channels subscribed to the alert
// event receive new alerts through the job runner as Slack-compatible
// messages without being named in the detection settings; a channel both
// named and subscribed gets one message; channels subscribed only to
// reminders, or turned off, get none.
func TestAlertReachesSubscribedChannels(t *testing.T) {
	testutil.ForEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner := testutil.Org(t, db, "acme", "owner@acme.example")
		var mu sync.Mutex
		got := map[string][]string{} // path -> bodies
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got[r.URL.Path] = append(got[r.URL.Path], string(b))
			mu.Unlock()
		}))
		defer hook.Close()
		master := make([]byte, keyring.KeySize)
		rand.Read(master)
		kr, err := keyring.FromBytes(master)
		if err != nil {
			t.Fatal(err)
		}
		channels := []struct {
			path    string
			events  []string
			enabled bool
			named   bool // in the detection settings too
		}{
			{"/subscribed", []string{notify.EventAlert}, true, false},
			{"/both", []string{notify.EventAlert, notify.EventDigest}, true, true},
			{"/reminders", []string{notify.EventReminder}, true, false},
			{"/off", []string{notify.EventAlert}, false, false},
		}
		must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
			var named []string
			for _, c := range channels {
				kind, name, url := notify.ChannelSlack, "#sec"+c.path, hook.URL+c.path
				evs, enabled := c.events, c.enabled
				ch, err := notify.CreateChannel(ctx, tx, kr, owner.OrgID, notify.ChannelInput{Kind: &kind, Name: &name, URL: &url, Events: &evs, Enabled: &enabled})
				if err != nil {
					return err
				}
				if c.named {
					named = append(named, ch.ID)
				}
			}
			_, err := monitor.UpdateSettings(ctx, tx, owner.OrgID, monitor.SettingsPatch{NotifyChannels: &named})
			return err
		}))
		sum := ingestText(t, newMonitor(t, db), owner, lines(ct(t0, "bob", "cloudtrail.amazonaws.com", "StopLogging", "203.0.113.5")))
		if sum.Alerts != 1 || sum.Deliveries != 2 {
			t.Fatalf("want one alert queued to two channels: %+v", sum)
		}
		r := jobs.NewRunner(db, jobs.Options{Name: "test"})
		r.Handle(notify.JobKind, (&notify.Sender{DB: db, Sealer: kr}).Deliver)
		if _, err := r.RunDue(ctx, 10); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, c := range channels {
			want := 0
			if c.enabled && (c.named || slices.Contains(c.events, notify.EventAlert)) {
				want = 1
			}
			if len(got[c.path]) != want {
				t.Errorf("%s received %d messages, want %d", c.path, len(got[c.path]), want)
			}
		}
		for _, body := range got["/subscribed"] {
			var msg struct {
				Text   string `json:"text"`
				Blocks []struct {
					Text struct {
						Text string `json:"text"`
					} `json:"text"`
				} `json:"blocks"`
			}
			if err := json.Unmarshal([]byte(body), &msg); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(msg.Text, "[CRITICAL] CloudTrail logging stopped") || len(msg.Blocks) == 0 ||
				!strings.Contains(msg.Blocks[0].Text.Text, "What happened: arn:aws:iam::111122223333:user/bob did cloudtrail:StopLogging") {
				t.Errorf("slack message: %s", body)
			}
		}
	})
}
