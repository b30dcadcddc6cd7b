package monitor

import (
	"context"
	"fmt"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/detect"
	"github.com/attest-hq/attest/framework"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
)

// EventAlert is the notify event of alert deliveries; channels subscribed
// to it receive new alerts.
const EventAlert = notify.EventAlert

// queueDeliveries queues a new alert to the org's alert recipients, the
// channels its detection settings name and every enabled channel
// subscribed to alerts, in the transaction that opened it. The dedup key is
// the alert id (per address or channel), so nothing is sent twice for one
// alert, even to a channel both named and subscribed. It returns how many
// deliveries were queued.
func queueDeliveries(ctx context.Context, tx *store.Tx, org attest.OrgID, s Settings, a Alert, link func(string) string) (int, error) {
	m := AlertMessage(a, link)
	key := "alert:" + a.ID
	n := 0
	for _, to := range s.NotifyEmails {
		added, err := notify.QueueEmail(ctx, tx, org, to, m, key)
		if err != nil {
			return n, err
		}
		if added {
			n++
		}
	}
	for _, id := range s.NotifyChannels {
		ch, err := notify.GetChannel(ctx, tx, org, id)
		if attest.KindOf(err) == attest.KindNotFound {
			continue // removed since the settings named it
		}
		if err != nil {
			return n, err
		}
		if !ch.Enabled {
			continue
		}
		// Naming the channel sends to it whatever reminder events it
		// subscribes to: the alert settings are what chose it.
		added, err := notify.QueueChannels(ctx, tx, org, m, key, ch.ID)
		if err != nil {
			return n, err
		}
		n += added
	}
	added, err := notify.QueueChannels(ctx, tx, org, m, key, "")
	if err != nil {
		return n, err
	}
	return n + added, nil
}

// AlertMessage says in words what happened, what is typical for the actor,
// which rule or baseline fired, which criteria the alert evidences, and
// where to triage it.
func AlertMessage(a Alert, link func(string) string) notify.Message {
	actor := a.Actor
	if actor == "" {
		actor = "an unknown actor"
	}
	subject := fmt.Sprintf("[%s] %s — %s", strings.ToUpper(a.Severity), a.Title, actor)
	happened, typical := splitReason(a.Reason)
	var b strings.Builder
	fmt.Fprintf(&b, "Attest raised a %s-severity alert: %s.\n\n", a.Severity, a.Title)
	fmt.Fprintf(&b, "What happened: %s", happened)
	if a.Events > 1 {
		fmt.Fprintf(&b, " (%d events between %s and %s)", a.Events, a.FirstTime.Format(time.RFC3339), a.LastTime.Format(time.RFC3339))
	}
	b.WriteString("\n")
	if typical != "" {
		fmt.Fprintf(&b, "What is typical for this actor: %s\n", typical)
	}
	switch a.Kind {
	case detect.KindBaseline:
		fmt.Fprintf(&b, "What fired: the %s baseline check (%s), which compares the actor with its own history.\n",
			strings.ReplaceAll(strings.TrimPrefix(a.Rule, "baseline."), "_", " "), a.Rule)
	case detect.KindCorrelation:
		fmt.Fprintf(&b, "What fired: correlation rule %s, which counts related events over a window.\n", a.Rule)
	default:
		fmt.Fprintf(&b, "What fired: Sigma rule %s.\n", a.Rule)
	}
	if len(a.Criteria) > 0 {
		fmt.Fprintf(&b, "Evidence for: %s.\n", criteriaText(a.Criteria))
	}
	if link != nil {
		fmt.Fprintf(&b, "\nAcknowledge, resolve or mark it a false positive: %s\n", link(a.ID))
	} else {
		fmt.Fprintf(&b, "\nAcknowledge, resolve or mark it a false positive on the Alerts page (alert %s).\n", a.ID)
	}
	return notify.Message{Event: EventAlert, Subject: subject, Text: b.String()}
}

// splitReason separates the engine's "what happened" from its "typical
// for this actor" clause; baseline reasons carry both in one sentence.
func splitReason(reason string) (happened, typical string) {
	reason = strings.TrimSpace(reason)
	if i := strings.Index(reason, "; typical for this actor: "); i >= 0 {
		return reason[:i], strings.TrimSpace(reason[i+len("; typical for this actor: "):])
	}
	if i := strings.LastIndex(reason, " [baseline "); i >= 0 && strings.HasSuffix(reason, "]") {
		reason = reason[:i]
		if j := strings.Index(reason, "; "); j >= 0 {
			return reason[:j], strings.TrimSpace(reason[j+2:])
		}
	}
	return reason, ""
}

// criteriaText names criteria with their titles: "CC7.2 (Anomaly
// monitoring), CC8.1 (...)".
func criteriaText(ids []string) string {
	var fw *framework.Framework
	if cat, err := framework.Builtin(); err == nil {
		fw, _ = cat.Framework(framework.SOC2)
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id
		if fw != nil {
			if c, ok := fw.Criterion(id); ok {
				parts[i] = id + " (" + c.Title + ")"
			}
		}
	}
	return strings.Join(parts, ", ")
}
