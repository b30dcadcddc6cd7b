package monitor

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/detect"
	"github.com/attest-hq/attest/store"
)

// Suppression silences alerts an org has judged harmless: matches are
// counted but raise nothing. Empty Rule, Actor and Network match anything
// (at least one is set); Rule and Actor may end in '*' to match a prefix.
type Suppression struct {
	ID            string     `json:"id"`
	Rule          string     `json:"rule"`
	Actor         string     `json:"actor"`
	Network       string     `json:"network"` // an address or CIDR prefix of the source IP
	Until         *time.Time `json:"until"`   // nil: no expiry
	Reason        string     `json:"reason"`
	AlertID       string     `json:"alert_id"` // the alert it was made from, if any
	CreatedBy     string     `json:"created_by"`
	CreatedAt     time.Time  `json:"created_at"`
	Matched       int64      `json:"matched"` // alerts silenced so far
	LastMatchedAt *time.Time `json:"last_matched_at"`
	Active        bool       `json:"active"` // not expired
}

// SuppressionInput creates a suppression.
type SuppressionInput struct {
	Rule    string `json:"rule"`
	Actor   string `json:"actor"`
	Network string `json:"network"`
	Until   string `json:"until"` // a date or RFC 3339 time; empty for no expiry
	Reason  string `json:"reason"`
	AlertID string `json:"alert_id"`
}

const suppressionColumns = "id, rule, actor, network, until_at, reason, alert_id, created_by, created_at, matched, last_matched_at"

func scanSuppression(row interface{ Scan(...any) error }, now time.Time) (Suppression, error) {
	var s Suppression
	var until, last sql.NullTime
	if err := row.Scan(&s.ID, &s.Rule, &s.Actor, &s.Network, &until, &s.Reason, &s.AlertID, &s.CreatedBy, &s.CreatedAt,
		&s.Matched, &last); err != nil {
		return Suppression{}, err
	}
	if until.Valid {
		t := until.Time.UTC()
		s.Until = &t
	}
	if last.Valid {
		t := last.Time.UTC()
		s.LastMatchedAt = &t
	}
	s.Active = s.Until == nil || s.Until.After(now)
	return s, nil
}

// CreateSuppression adds a suppression. Errors: Invalid naming the field;
// NotFound when AlertID names no alert of the org.
func CreateSuppression(ctx context.Context, tx *store.Tx, org attest.OrgID, in SuppressionInput) (Suppression, error) {
	now := tx.Now()
	s := Suppression{ID: attest.NewID("sup"), Rule: strings.TrimSpace(in.Rule), Actor: strings.TrimSpace(in.Actor),
		Network: strings.TrimSpace(in.Network), Reason: strings.TrimSpace(in.Reason), AlertID: strings.TrimSpace(in.AlertID),
		CreatedBy: tx.Actor().Name(), CreatedAt: now, Active: true}
	switch {
	case s.Rule == "" && s.Actor == "" && s.Network == "":
		return Suppression{}, attest.Invalid("rule", "name a rule, an actor or a network (or several): a suppression of everything would silence monitoring")
	case s.Rule == "*" && s.Actor == "" && s.Network == "", s.Actor == "*" && s.Rule == "" && s.Network == "":
		return Suppression{}, attest.Invalid("rule", "a lone '*' would silence monitoring; narrow it to a rule, an actor or a network")
	case len(s.Rule) > 200:
		return Suppression{}, attest.Invalid("rule", "must be at most 200 characters")
	case len(s.Actor) > 500:
		return Suppression{}, attest.Invalid("actor", "must be at most 500 characters")
	case s.Reason == "":
		return Suppression{}, attest.Invalid("reason", "is required: say why these alerts are harmless")
	case len(s.Reason) > maxReason:
		return Suppression{}, attest.Invalid("reason", "must be at most 2000 characters")
	}
	if s.Network != "" {
		p, err := detect.ParseNetwork(s.Network)
		if err != nil {
			return Suppression{}, attest.Invalid("network", "must be an IP address or a CIDR prefix such as 203.0.113.0/24")
		}
		if p.Bits() == 0 {
			return Suppression{}, attest.Invalid("network", "a /0 prefix would match every address; name a narrower network")
		}
		s.Network = p.String()
		if p.Bits() == p.Addr().BitLen() {
			s.Network = p.Addr().String()
		}
	}
	if in.Until != "" {
		t, err := parseTime(in.Until)
		if err != nil {
			return Suppression{}, attest.Invalid("until", "must be a date like 2026-03-31 or an RFC 3339 time")
		}
		if !t.After(now) {
			return Suppression{}, attest.Invalid("until", "must be in the future")
		}
		t = t.UTC().Truncate(time.Microsecond)
		s.Until = &t
	}
	if s.AlertID != "" {
		if _, err := GetAlert(ctx, tx, org, s.AlertID); err != nil {
			if attest.KindOf(err) == attest.KindNotFound {
				return Suppression{}, attest.Invalid("alert_id", "is not an alert of this organisation")
			}
			return Suppression{}, err
		}
	}
	s.Rule, s.Actor = clean(s.Rule, 200), clean(s.Actor, 500)
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_suppressions (id, org_id, rule, actor, network, until_at, reason, alert_id,
		created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, org, s.Rule, s.Actor, s.Network, s.Until, s.Reason, s.AlertID, s.CreatedBy, now); err != nil {
		return Suppression{}, fmt.Errorf("create suppression: %w", err)
	}
	return s, tx.Record(ctx, "suppression.create", "suppression", s.ID, nil, s)
}

// GetSuppression loads one suppression of the org.
func GetSuppression(ctx context.Context, q store.Querier, org attest.OrgID, id string, now time.Time) (Suppression, error) {
	s, err := scanSuppression(q.QueryRowContext(ctx, "SELECT "+suppressionColumns+" FROM alert_suppressions WHERE org_id = $1 AND id = $2", org, id), now)
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Suppression{}, attest.NotFound("suppression " + clean(id, 80))
		}
		return Suppression{}, fmt.Errorf("load suppression %s: %w", id, err)
	}
	return s, nil
}

// DeleteSuppression removes a suppression: matching alerts alert again.
func DeleteSuppression(ctx context.Context, tx *store.Tx, org attest.OrgID, id string) error {
	before, err := GetSuppression(ctx, tx, org, id, tx.Now())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM alert_suppressions WHERE org_id = $1 AND id = $2", org, id); err != nil {
		return fmt.Errorf("delete suppression %s: %w", id, err)
	}
	return tx.Record(ctx, "suppression.delete", "suppression", id, before, nil)
}

// ListSuppressions returns the org's suppressions, newest first; with
// activeOnly, only those not expired at now.
func ListSuppressions(ctx context.Context, q store.Querier, org attest.OrgID, activeOnly bool, now time.Time) ([]Suppression, error) {
	query := "SELECT " + suppressionColumns + " FROM alert_suppressions WHERE org_id = $1"
	args := []any{org}
	if activeOnly {
		query += " AND (until_at IS NULL OR until_at > $2)"
		args = append(args, now)
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY created_at DESC, id DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("list suppressions: %w", err)
	}
	defer rows.Close()
	var out []Suppression
	for rows.Next() {
		s, err := scanSuppression(rows, now)
		if err != nil {
			return nil, fmt.Errorf("list suppressions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// countMatches adds what an ingest silenced to each suppression's count.
func countMatches(ctx context.Context, tx *store.Tx, org attest.OrgID, ids []string, counts []int64) error {
	for i, id := range ids {
		if counts[i] == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alert_suppressions SET matched = matched + $1, last_matched_at = $2
			WHERE org_id = $3 AND id = $4`, counts[i], tx.Now(), org, id); err != nil {
			return fmt.Errorf("count matches of suppression %s: %w", id, err)
		}
	}
	return nil
}
