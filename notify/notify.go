// Package notify sends what Attest has to tell people: reminders and
// digests by email (SMTP) and by webhook (generic JSON or Slack-compatible).
// Every message to every target is a delivery row, queued in the
// transaction that decided to send it and sent by a background job that
// retries failures; sent and failed deliveries stay on record.
package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/store"
)

// JobKind is the job that sends one delivery.
const JobKind = "notify.deliver"

// Channels a delivery goes through.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook" // generic JSON
	ChannelSlack   = "slack"   // Slack-compatible incoming webhook: text and blocks
)

// Events a message is about; webhook channels subscribe to some of them.
const (
	EventReminder = "reminder" // a task falls due soon
	EventOverdue  = "overdue"  // a task is past its due date
	EventDigest   = "digest"   // the weekly summary
	EventPolicy   = "policy"   // policies waiting for someone's acceptance
	EventAlert    = "alert"    // a new security alert at or above the org's delivery threshold (monitor)
	EventTest     = "test"     // a test message sent from the settings
)

// Events lists the events a channel may subscribe to.
var Events = []string{EventReminder, EventOverdue, EventDigest, EventPolicy, EventAlert}

// DefaultEvents are what a new channel subscribes to when it names none:
// the program's reminders and digests. Security alerts are opted into, so a
// channel made for reminders does not start paging.
var DefaultEvents = []string{EventReminder, EventOverdue, EventDigest, EventPolicy}

// Delivery statuses.
const (
	StatusQueued   = "queued"
	StatusRetrying = "retrying" // failed at least once; another attempt is scheduled
	StatusSent     = "sent"
	StatusFailed   = "failed" // gave up; can be retried by hand
)

// Sealer encrypts webhook URLs at rest (the keyring implements it).
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(sealed, associatedData []byte) ([]byte, error)
}

// Channel is a webhook an org sends reminders and digests to. Its URL is
// sealed at rest and never shown again; Target is a hint (scheme and host).
type Channel struct {
	ID        string       `json:"id"`
	OrgID     attest.OrgID `json:"-"`
	Kind      string       `json:"kind"`
	Name      string       `json:"name"`
	Target    string       `json:"target"`
	Events    []string     `json:"events"`
	Enabled   bool         `json:"enabled"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// ChannelInput creates or changes a channel; nil fields are left alone on
// update.
type ChannelInput struct {
	Kind    *string
	Name    *string
	URL     *string
	Events  *[]string
	Enabled *bool
}

func channelAD(org attest.OrgID, id string) []byte {
	return []byte("channel:" + string(org) + ":" + id)
}

// checkURL accepts an http(s) URL with a host and returns its hint.
func checkURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > 2000 {
		return "", attest.Invalid("url", "must be an http or https URL such as https://hooks.example.com/attest")
	}
	if u.User != nil {
		return "", attest.Invalid("url", "must not carry a user name or password; put secrets in the path")
	}
	return u.Scheme + "://" + u.Host + "/…", nil
}

func checkEvents(evs []string) ([]string, error) {
	var out []string
	for _, e := range evs {
		if !slices.Contains(Events, e) {
			return nil, attest.Invalid("events", "must be some of "+strings.Join(Events, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, attest.Invalid("events", "must name at least one of "+strings.Join(Events, ", "))
	}
	return out, nil
}

// CreateChannel adds a webhook channel. The URL is sealed with sealer and
// left out of the audit entry.
func CreateChannel(ctx context.Context, tx *store.Tx, sealer Sealer, org attest.OrgID, in ChannelInput) (Channel, error) {
	c := Channel{ID: attest.NewID("chn"), OrgID: org, Enabled: true, Events: slices.Clone(DefaultEvents), CreatedAt: tx.Now(), UpdatedAt: tx.Now()}
	if in.Kind == nil || (*in.Kind != ChannelWebhook && *in.Kind != ChannelSlack) {
		return Channel{}, attest.Invalid("kind", "must be webhook or slack")
	}
	c.Kind = *in.Kind
	if in.URL == nil {
		return Channel{}, attest.Invalid("url", "is required")
	}
	if in.Name == nil {
		return Channel{}, attest.Invalid("name", "is required")
	}
	sealed, err := applyChannel(&c, sealer, in)
	if err != nil {
		return Channel{}, err
	}
	ev, _ := json.Marshal(c.Events)
	if _, err := tx.ExecContext(ctx, `INSERT INTO notify_channels (id, org_id, kind, name, target_sealed, target_hint, events, enabled,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
		c.ID, org, c.Kind, c.Name, sealed, c.Target, string(ev), c.Enabled, c.CreatedAt); err != nil {
		return Channel{}, fmt.Errorf("create channel: %w", err)
	}
	return c, tx.Record(ctx, "channel.create", "channel", c.ID, nil, c)
}

// applyChannel validates in onto c and returns the sealed URL when in
// carries one.
func applyChannel(c *Channel, sealer Sealer, in ChannelInput) ([]byte, error) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" || len(name) > 100 {
			return nil, attest.Invalid("name", "must be 1 to 100 characters")
		}
		c.Name = name
	}
	if in.Events != nil {
		evs, err := checkEvents(*in.Events)
		if err != nil {
			return nil, err
		}
		c.Events = evs
	}
	if in.Enabled != nil {
		c.Enabled = *in.Enabled
	}
	if in.URL == nil {
		return nil, nil
	}
	hint, err := checkURL(*in.URL)
	if err != nil {
		return nil, err
	}
	c.Target = hint
	sealed, err := sealer.Seal([]byte(strings.TrimSpace(*in.URL)), channelAD(c.OrgID, c.ID))
	if err != nil {
		return nil, fmt.Errorf("seal channel URL: %w", err)
	}
	return sealed, nil
}

// UpdateChannel changes a channel's name, URL, events or enabled flag.
func UpdateChannel(ctx context.Context, tx *store.Tx, sealer Sealer, org attest.OrgID, id string, in ChannelInput) (Channel, error) {
	before, err := GetChannel(ctx, tx, org, id)
	if err != nil {
		return Channel{}, err
	}
	if in.Kind != nil && *in.Kind != before.Kind {
		return Channel{}, attest.Invalid("kind", "cannot be changed; add a new channel instead")
	}
	c := before
	sealed, err := applyChannel(&c, sealer, in)
	if err != nil {
		return Channel{}, err
	}
	c.UpdatedAt = tx.Now()
	ev, _ := json.Marshal(c.Events)
	q := "UPDATE notify_channels SET name = $1, events = $2, enabled = $3, updated_at = $4, target_hint = $5"
	args := []any{c.Name, string(ev), c.Enabled, c.UpdatedAt, c.Target}
	if sealed != nil {
		q += ", target_sealed = $8"
	}
	q += " WHERE org_id = $6 AND id = $7"
	args = append(args, org, id)
	if sealed != nil {
		args = append(args, sealed)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return Channel{}, fmt.Errorf("update channel %s: %w", id, err)
	}
	return c, tx.Record(ctx, "channel.update", "channel", id, before, c)
}

// DeleteChannel removes a channel; its past deliveries stay on record.
func DeleteChannel(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) error {
	before, err := GetChannel(ctx, tx, org, id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM notify_channels WHERE org_id = $1 AND id = $2", org, id); err != nil {
		return fmt.Errorf("delete channel %s: %w", id, err)
	}
	return tx.Record(ctx, "channel.delete", "channel", id, before, nil)
}

const channelColumns = "id, org_id, kind, name, target_hint, events, enabled, created_at, updated_at"

func scanChannel(row interface{ Scan(...any) error }) (Channel, error) {
	var c Channel
	var ev string
	if err := row.Scan(&c.ID, &c.OrgID, &c.Kind, &c.Name, &c.Target, &ev, &c.Enabled, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return Channel{}, err
	}
	if err := json.Unmarshal([]byte(ev), &c.Events); err != nil {
		return Channel{}, fmt.Errorf("channel %s: bad events: %w", c.ID, err)
	}
	return c, nil
}

// GetChannel loads one channel of the org.
func GetChannel(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Channel, error) {
	c, err := scanChannel(q.QueryRowContext(ctx, "SELECT "+channelColumns+" FROM notify_channels WHERE org_id = $1 AND id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Channel{}, attest.NotFound("channel " + id)
		}
		return Channel{}, fmt.Errorf("load channel %s: %w", id, err)
	}
	return c, nil
}

// ListChannels returns the org's channels by name.
func ListChannels(ctx context.Context, q store.Querier, org attest.OrgID) ([]Channel, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+channelColumns+" FROM notify_channels WHERE org_id = $1 ORDER BY name, id", org)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	out, err := store.Collect(rows, scanChannel)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return out, nil
}

// channelURL opens a channel's sealed URL for sending.
func channelURL(ctx context.Context, q store.Querier, sealer Sealer, org attest.OrgID, id string) (string, error) {
	var sealed []byte
	err := q.QueryRowContext(ctx, "SELECT target_sealed FROM notify_channels WHERE org_id = $1 AND id = $2", org, id).Scan(&sealed)
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return "", attest.NotFound("channel " + id)
		}
		return "", fmt.Errorf("load channel %s: %w", id, err)
	}
	b, err := sealer.Open(sealed, channelAD(org, id))
	if err != nil {
		return "", fmt.Errorf("open channel %s URL: %w", id, err)
	}
	return string(b), nil
}

// Message is what to say, independent of the channel.
type Message struct {
	Event   string
	Subject string // one line
	Text    string // plain text; webhooks send it as their text
	TaskID  string // the task it is about, if any
}

// Delivery is one message to one target.
type Delivery struct {
	ID        string       `json:"id"`
	OrgID     attest.OrgID `json:"-"`
	Channel   string       `json:"channel"`
	ChannelID string       `json:"channel_id,omitempty"`
	Target    string       `json:"target"`
	Event     string       `json:"event"`
	Subject   string       `json:"subject"`
	Body      string       `json:"body"`
	TaskID    string       `json:"task_id,omitempty"`
	Status    string       `json:"status"`
	Attempts  int          `json:"attempts"`
	LastError string       `json:"last_error,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
	SentAt    *time.Time   `json:"sent_at"`
	dedupKey  string
}

// QueueEmail queues m to one address. dedupKey names the message (say
// "task:ID:due-7d"); queueing the same key to the same address again is a
// no-op, which is what keeps two schedulers from sending twice. It reports
// whether a delivery was added.
func QueueEmail(ctx context.Context, tx *store.Tx, org attest.OrgID, to string, m Message, dedupKey string) (bool, error) {
	return queue(ctx, tx, org, &Delivery{Channel: ChannelEmail, Target: to, Event: m.Event, Subject: m.Subject, Body: m.Text,
		TaskID: m.TaskID, dedupKey: dedupKey + "|email:" + strings.ToLower(to)})
}

// QueueChannels queues m to every enabled channel of the org subscribed to
// its event (a test message goes to the one channel named by only). It
// returns how many deliveries were added.
func QueueChannels(ctx context.Context, tx *store.Tx, org attest.OrgID, m Message, dedupKey, only string) (int, error) {
	chs, err := ListChannels(ctx, tx, org)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range chs {
		if only != "" && c.ID != only {
			continue
		}
		if only == "" && (!c.Enabled || !slices.Contains(c.Events, m.Event)) {
			continue
		}
		added, err := queue(ctx, tx, org, &Delivery{Channel: c.Kind, ChannelID: c.ID, Target: c.Name + " (" + c.Target + ")",
			Event: m.Event, Subject: m.Subject, Body: m.Text, TaskID: m.TaskID, dedupKey: dedupKey + "|channel:" + c.ID})
		if err != nil {
			return n, err
		}
		if added {
			n++
		}
	}
	return n, nil
}

// QueueTest queues a test message to one channel, whatever events it
// subscribes to, and returns the delivery.
func QueueTest(ctx context.Context, tx *store.Tx, org attest.OrgID, channelID string) (Delivery, error) {
	c, err := GetChannel(ctx, tx, org, channelID)
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{Channel: c.Kind, ChannelID: c.ID, Target: c.Name + " (" + c.Target + ")", Event: EventTest,
		Subject:  "Test message from Attest",
		Body:     "If you can read this, reminders and digests will reach " + c.Name + ". Sent at the request of " + tx.Actor().Name() + ".",
		dedupKey: "test:" + attest.NewID("t")}
	if _, err := queue(ctx, tx, org, &d); err != nil {
		return Delivery{}, err
	}
	return d, nil
}

func queue(ctx context.Context, tx *store.Tx, org attest.OrgID, d *Delivery) (bool, error) {
	d.ID, d.OrgID, d.Status, d.CreatedAt, d.UpdatedAt = attest.NewID("dlv"), org, StatusQueued, tx.Now(), tx.Now()
	if len(d.Subject) > 300 {
		d.Subject = d.Subject[:300]
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, org_id, channel, channel_id, target, event, subject, body, task_id,
		dedup_key, status, attempts, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12)
		ON CONFLICT (org_id, dedup_key) DO NOTHING`,
		d.ID, org, d.Channel, d.ChannelID, d.Target, d.Event, d.Subject, d.Body, d.TaskID, d.dedupKey, d.Status, d.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("queue delivery: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, _, err := jobs.Enqueue(ctx, tx, jobs.New{OrgID: org, Kind: JobKind, Payload: deliverPayload{ID: d.ID}}); err != nil {
		return false, err
	}
	return true, tx.Record(ctx, "delivery.queue", "delivery", d.ID, nil,
		map[string]any{"channel": d.Channel, "target": d.Target, "event": d.Event, "subject": d.Subject, "task_id": d.TaskID})
}

type deliverPayload struct {
	ID string `json:"delivery_id"`
}

// Retry queues a failed delivery again (by hand, after fixing the cause).
// Only failed deliveries can be retried; a retrying one already is.
func Retry(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) (Delivery, error) {
	d, err := GetDelivery(ctx, tx, org, id)
	if err != nil {
		return Delivery{}, err
	}
	if d.Status != StatusFailed {
		return Delivery{}, attest.Conflict("only a failed delivery can be retried; this one is " + d.Status)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE deliveries SET status = $1, updated_at = $2 WHERE org_id = $3 AND id = $4",
		StatusRetrying, tx.Now(), org, id); err != nil {
		return Delivery{}, fmt.Errorf("retry delivery %s: %w", id, err)
	}
	if _, _, err := jobs.Enqueue(ctx, tx, jobs.New{OrgID: org, Kind: JobKind, Payload: deliverPayload{ID: id}}); err != nil {
		return Delivery{}, err
	}
	after := d
	after.Status, after.UpdatedAt = StatusRetrying, tx.Now()
	return after, tx.Record(ctx, "delivery.retry", "delivery", id, map[string]any{"status": d.Status}, map[string]any{"status": after.Status})
}

const deliveryColumns = `id, org_id, channel, channel_id, target, event, subject, body, task_id, status, attempts, last_error,
	created_at, updated_at, sent_at, dedup_key`

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var sent sql.NullTime
	if err := row.Scan(&d.ID, &d.OrgID, &d.Channel, &d.ChannelID, &d.Target, &d.Event, &d.Subject, &d.Body, &d.TaskID,
		&d.Status, &d.Attempts, &d.LastError, &d.CreatedAt, &d.UpdatedAt, &sent, &d.dedupKey); err != nil {
		return Delivery{}, err
	}
	if sent.Valid {
		t := sent.Time
		d.SentAt = &t
	}
	return d, nil
}

// GetDelivery loads one delivery of the org.
func GetDelivery(ctx context.Context, q store.Querier, org attest.OrgID, id string) (Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, "SELECT "+deliveryColumns+" FROM deliveries WHERE org_id = $1 AND id = $2", org, id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Delivery{}, attest.NotFound("delivery " + id)
		}
		return Delivery{}, fmt.Errorf("load delivery %s: %w", id, err)
	}
	return d, nil
}

// Filter narrows a delivery listing; zero values match everything.
type Filter struct {
	Status  string
	Channel string
	TaskID  string
	Limit   int    // default 50, at most 200
	Cursor  string // next_cursor of the previous page
}

// ParseStatus validates a delivery status filter.
func ParseStatus(s string) (string, error) {
	if s == "" || slices.Contains([]string{StatusQueued, StatusRetrying, StatusSent, StatusFailed}, s) {
		return s, nil
	}
	return "", attest.Invalid("status", "must be one of queued, retrying, sent, failed")
}

// ListDeliveries returns the org's deliveries, newest first, and the
// cursor of the next page ("" at the end).
func ListDeliveries(ctx context.Context, q store.Querier, org attest.OrgID, f Filter) ([]Delivery, string, error) {
	if _, err := ParseStatus(f.Status); err != nil {
		return nil, "", err
	}
	if f.Channel != "" && f.Channel != ChannelEmail && f.Channel != ChannelWebhook && f.Channel != ChannelSlack {
		return nil, "", attest.Invalid("channel", "must be one of email, webhook, slack")
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	query := "SELECT " + deliveryColumns + " FROM deliveries WHERE org_id = $1"
	args := []any{org}
	addOne := func(cond string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.Status != "" {
		addOne("status = $%d", f.Status)
	}
	if f.Channel != "" {
		addOne("channel = $%d", f.Channel)
	}
	if f.TaskID != "" {
		addOne("task_id = $%d", f.TaskID)
	}
	if f.Cursor != "" {
		at, id, err := store.DecodeTimeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		args = append(args, at, id)
		query += fmt.Sprintf(" AND (created_at < $%d OR (created_at = $%d AND id < $%d))", len(args)-1, len(args)-1, len(args))
	}
	args = append(args, f.Limit+1)
	query += fmt.Sprintf(" ORDER BY created_at DESC, id DESC LIMIT $%d", len(args))
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	out, err := store.Collect(rows, scanDelivery)
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	out, next := store.Trim(out, f.Limit, func(d Delivery) string { return store.TimeCursor(d.CreatedAt, d.ID) })
	return out, next, nil
}

// Counts is how many deliveries of an org stand in each status.
func Counts(ctx context.Context, q store.Querier, org attest.OrgID) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, "SELECT status, COUNT(*) FROM deliveries WHERE org_id = $1 GROUP BY status", org)
	if err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}
