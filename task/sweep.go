package task

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/jobs"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/policy"
	"github.com/attest-hq/attest/store"
)

// SweepJob is the periodic job that generates occurrences and queues
// reminders and digests for every org.
const SweepJob = "task.sweep"

// When reminders go out, in days before the due date.
const (
	remindEarly = 7
	remindLate  = 1
)

// PendingAcks lists, per user id, the titles of the policies waiting for
// that user's acceptance: the sweep reminds each of them weekly and counts
// them in the digest. PolicyPending is the real one.
type PendingAcks func(ctx context.Context, q store.Querier, org attest.OrgID) (map[string][]string, error)

// PolicyPending asks the policy capability who has policies to accept.
func PolicyPending(ctx context.Context, q store.Querier, org attest.OrgID) (map[string][]string, error) {
	ps, err := policy.PendingByPerson(ctx, q, org)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range ps {
		for _, pol := range p.Policies {
			out[p.UserID] = append(out[p.UserID], pol.Title)
		}
	}
	return out, nil
}

// Sweeper generates occurrences and plans reminders and digests. Every
// message it queues has a dedup key, so two instances sweeping at once (or
// one sweeping twice) queue each reminder once.
type Sweeper struct {
	DB          *store.DB
	Email       bool   // queue email deliveries (the server has SMTP settings)
	BaseURL     string // links in messages, e.g. https://attest.example.com
	Horizon     time.Duration
	PendingAcks PendingAcks // nil: no policy reminders
	Log         *slog.Logger
}

// Run is the job handler of SweepJob: it sweeps every org, going on past
// an org that fails and reporting all failures at the end.
func (s *Sweeper) Run(ctx context.Context, _ jobs.Job) error {
	orgs, err := account.OrgIDs(ctx, s.DB.Q())
	if err != nil {
		return err
	}
	var errs []error
	for _, org := range orgs {
		if err := s.SweepOrg(ctx, org); err != nil {
			errs = append(errs, fmt.Errorf("sweep org %s: %w", org, err))
		}
	}
	return errors.Join(errs...)
}

// SweepOrg does one org's work, as the system actor: generate occurrences,
// queue reminders for tasks due soon or overdue, queue this week's digest
// and policy reminders. Each step commits on its own.
func (s *Sweeper) SweepOrg(ctx context.Context, org attest.OrgID) error {
	horizon := s.Horizon
	if horizon <= 0 {
		horizon = Horizon
	}
	sys := attest.System(org)
	if err := s.DB.InTx(ctx, sys, func(tx *store.Tx) error {
		_, err := Generate(ctx, tx, org, horizon)
		return err
	}); err != nil {
		return fmt.Errorf("generate occurrences: %w", err)
	}
	if err := s.DB.InTx(ctx, sys, func(tx *store.Tx) error { return s.remind(ctx, tx, org) }); err != nil {
		return fmt.Errorf("queue reminders: %w", err)
	}
	if err := s.DB.InTx(ctx, sys, func(tx *store.Tx) error { return s.digest(ctx, tx, org) }); err != nil {
		return fmt.Errorf("queue digest: %w", err)
	}
	return nil
}

// reminderKind says which reminder a task is owed today, "" for none.
func reminderKind(t Task, now time.Time) (kind, event string, days int) {
	today := Day(now)
	days = int(t.DueOn.Sub(today).Hours() / 24)
	switch {
	case days < 0:
		return "overdue", notify.EventOverdue, days
	case days <= remindLate:
		return "due-1d", notify.EventReminder, days
	case days <= remindEarly:
		return "due-7d", notify.EventReminder, days
	}
	return "", "", days
}

func (s *Sweeper) remind(ctx context.Context, tx *store.Tx, org attest.OrgID) error {
	now := tx.Now()
	open, _, err := List(ctx, tx, org, Filter{Status: StatusOpen, DueTo: Day(now).AddDate(0, 0, remindEarly), Limit: 500}, now)
	if err != nil {
		return err
	}
	for _, t := range open {
		kind, event, days := reminderKind(t, now)
		if kind == "" {
			continue
		}
		m := s.taskMessage(t, event, days)
		key := "task:" + t.ID + ":" + kind
		if s.Email && t.OwnerEmail != "" {
			if _, err := notify.QueueEmail(ctx, tx, org, t.OwnerEmail, m, key); err != nil {
				return err
			}
		}
		if _, err := notify.QueueChannels(ctx, tx, org, m, key, ""); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sweeper) link(path string) string {
	if s.BaseURL == "" {
		return ""
	}
	return strings.TrimRight(s.BaseURL, "/") + path
}

func (s *Sweeper) taskMessage(t Task, event string, days int) notify.Message {
	var when string
	switch {
	case days < -1:
		when = fmt.Sprintf("Overdue by %d days", -days)
	case days == -1:
		when = "Overdue since yesterday"
	case days == 0:
		when = "Due today"
	case days == 1:
		when = "Due tomorrow"
	default:
		when = fmt.Sprintf("Due in %d days", days)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\nDue date: %s\n", when, t.Title, t.Due)
	if t.OwnerEmail != "" {
		fmt.Fprintf(&b, "Owner: %s\n", t.OwnerEmail)
	} else {
		b.WriteString("Owner: nobody yet; assign one on the task's rule.\n")
	}
	if len(t.ControlCodes) > 0 {
		fmt.Fprintf(&b, "Controls: %s\n", strings.Join(t.ControlCodes, ", "))
	}
	if t.Description != "" {
		fmt.Fprintf(&b, "\n%s\n", t.Description)
	}
	b.WriteString("\nMark it done (your note becomes evidence for its controls) or skipped with a reason")
	if l := s.link("/tasks/" + t.ID); l != "" {
		b.WriteString(": " + l)
	}
	b.WriteString(".\n")
	return notify.Message{Event: event, Subject: when + ": " + t.Title, Text: b.String(), TaskID: t.ID}
}

// digest queues this ISO week's summary to the org's owners and admins
// and to channels subscribed to digests, and this week's policy reminders.
func (s *Sweeper) digest(ctx context.Context, tx *store.Tx, org attest.OrgID) error {
	now := tx.Now()
	year, week := now.ISOWeek()
	weekKey := fmt.Sprintf("%d-W%02d", year, week)
	members, err := account.Members(ctx, tx, org)
	if err != nil {
		return err
	}
	var pending map[string][]string
	if s.PendingAcks != nil {
		if pending, err = s.PendingAcks(ctx, tx, org); err != nil {
			return fmt.Errorf("pending policy acknowledgements: %w", err)
		}
	}
	m, err := s.digestMessage(ctx, tx, org, now, pending)
	if err != nil {
		return err
	}
	key := "digest:" + weekKey
	if s.Email {
		for _, mb := range members {
			if mb.Role == attest.RoleOwner || mb.Role == attest.RoleAdmin {
				if _, err := notify.QueueEmail(ctx, tx, org, mb.Email, m, key); err != nil {
					return err
				}
			}
		}
	}
	if _, err := notify.QueueChannels(ctx, tx, org, m, key, ""); err != nil {
		return err
	}
	if !s.Email {
		return nil
	}
	for _, mb := range members {
		titles := pending[mb.ID]
		n := len(titles)
		if n == 0 {
			continue
		}
		pm := notify.Message{Event: notify.EventPolicy, Subject: fmt.Sprintf("%d %s waiting for your acceptance", n, plural(n, "policy", "policies")),
			Text: fmt.Sprintf("Please read and accept:\n  - %s\n", strings.Join(titles, "\n  - "))}
		if l := s.link("/policies"); l != "" {
			pm.Text += "They are listed at " + l + "\n"
		}
		if _, err := notify.QueueEmail(ctx, tx, org, mb.Email, pm, "policy-acks:"+weekKey); err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (s *Sweeper) digestMessage(ctx context.Context, q store.Querier, org attest.OrgID, now time.Time, pending map[string][]string) (notify.Message, error) {
	yes := true
	overdue, _, err := List(ctx, q, org, Filter{Overdue: &yes, Limit: 500}, now)
	if err != nil {
		return notify.Message{}, err
	}
	soon, _, err := List(ctx, q, org, Filter{Status: StatusOpen, DueFrom: Day(now), DueTo: Day(now).AddDate(0, 0, 14), Limit: 500}, now)
	if err != nil {
		return notify.Message{}, err
	}
	byOwner, err := OverdueByOwner(ctx, q, org, now)
	if err != nil {
		return notify.Message{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Week of %s.\n\n", Day(now).Format(DateLayout))
	if len(overdue) == 0 {
		b.WriteString("Nothing is overdue.\n")
	} else {
		fmt.Fprintf(&b, "%d overdue:\n", len(overdue))
		for _, oc := range byOwner {
			who := oc.Email
			if who == "" {
				who = "no owner"
			}
			fmt.Fprintf(&b, "  %s: %d\n", who, oc.Count)
		}
		for i, t := range overdue {
			if i == 10 {
				fmt.Fprintf(&b, "  … and %d more\n", len(overdue)-10)
				break
			}
			fmt.Fprintf(&b, "  - %s (due %s, %s)\n", t.Title, t.Due, orNobody(t.OwnerEmail))
		}
	}
	if len(soon) == 0 {
		b.WriteString("\nNothing falls due in the next two weeks.\n")
	} else {
		fmt.Fprintf(&b, "\nDue in the next two weeks (%d):\n", len(soon))
		for i, t := range soon {
			if i == 10 {
				fmt.Fprintf(&b, "  … and %d more\n", len(soon)-10)
				break
			}
			fmt.Fprintf(&b, "  - %s (due %s, %s)\n", t.Title, t.Due, orNobody(t.OwnerEmail))
		}
	}
	if pending != nil {
		people, total := 0, 0
		for _, titles := range pending {
			if len(titles) > 0 {
				people++
				total += len(titles)
			}
		}
		fmt.Fprintf(&b, "\nPolicy acceptances outstanding: %d, from %d %s.\n", total, people, plural(people, "person", "people"))
	}
	if l := s.link("/tasks"); l != "" {
		b.WriteString("\nThe calendar: " + l + "\n")
	}
	subject := fmt.Sprintf("Weekly compliance digest: %d overdue, %d due soon", len(overdue), len(soon))
	return notify.Message{Event: notify.EventDigest, Subject: subject, Text: b.String()}, nil
}

func orNobody(email string) string {
	if email == "" {
		return "no owner"
	}
	return email
}
