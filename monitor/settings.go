package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/detect/baseline"
	"github.com/attest-hq/attest/notify"
	"github.com/attest-hq/attest/store"
)

// Settings are an org's detection thresholds and where new alerts go.
type Settings struct {
	Baseline BaselineSettings `json:"baseline"`
	// GroupWindowMinutes: events of one rule and actor within this span
	// of the alert's last event join it instead of opening a new alert.
	GroupWindowMinutes int `json:"group_window_minutes"`
	// NotifyMinSeverity: new alerts of this severity or above are
	// delivered to NotifyEmails and NotifyChannels.
	NotifyMinSeverity string     `json:"notify_min_severity"`
	NotifyEmails      []string   `json:"notify_emails"`
	NotifyChannels    []string   `json:"notify_channels"` // notification channel ids (webhook or slack)
	UpdatedAt         *time.Time `json:"updated_at"`      // nil while the defaults apply
}

// BaselineSettings are the per-org baseline thresholds (see
// detect/baseline.Config for what each means).
type BaselineSettings struct {
	Enabled             bool     `json:"enabled"`
	LearningPeriodHours float64  `json:"learning_period_hours"`
	MinEvents           int64    `json:"min_events"`
	RareRatio           float64  `json:"rare_ratio"`
	RareMaxCount        int64    `json:"rare_max_count"`
	RateWindowMinutes   int      `json:"rate_window_minutes"`
	RateFactor          float64  `json:"rate_factor"`
	RateMinCount        int64    `json:"rate_min_count"`
	Disabled            []string `json:"disabled"` // finding kinds turned off
}

// DefaultSettings are what an org gets before it changes anything.
func DefaultSettings() Settings {
	d := baseline.DefaultConfig()
	return Settings{
		Baseline: BaselineSettings{
			Enabled: true, LearningPeriodHours: d.LearningPeriod.Hours(), MinEvents: d.MinEvents, RareRatio: d.RareRatio,
			RareMaxCount: d.RareMaxCount, RateWindowMinutes: int(d.RateWindow.Minutes()), RateFactor: d.RateFactor,
			RateMinCount: d.RateMinCount, Disabled: []string{},
		},
		GroupWindowMinutes: 60,
		NotifyMinSeverity:  "high",
		NotifyEmails:       []string{},
		NotifyChannels:     []string{},
	}
}

// config is the engine's baseline configuration.
func (b BaselineSettings) config() baseline.Config {
	return baseline.Config{
		LearningPeriod: time.Duration(b.LearningPeriodHours * float64(time.Hour)),
		MinEvents:      b.MinEvents, RareRatio: b.RareRatio, RareMaxCount: b.RareMaxCount,
		RateWindow: time.Duration(b.RateWindowMinutes) * time.Minute, RateFactor: b.RateFactor, RateMinCount: b.RateMinCount,
		Disable: b.Disabled,
	}
}

// GetSettings returns the org's settings, the defaults when it has none.
func GetSettings(ctx context.Context, q store.Querier, org attest.OrgID) (Settings, error) {
	s := DefaultSettings()
	var base, emails, channels string
	var window int64
	var updated time.Time
	err := q.QueryRowContext(ctx, `SELECT baseline_json, group_window_seconds, notify_min_severity, notify_emails, notify_channels, updated_at
		FROM detect_settings WHERE org_id = $1`, org).Scan(&base, &window, &s.NotifyMinSeverity, &emails, &channels, &updated)
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return s, nil
		}
		return Settings{}, fmt.Errorf("load detection settings: %w", err)
	}
	s.GroupWindowMinutes = int(window / 60)
	s.UpdatedAt = &updated
	for _, f := range []struct {
		raw string
		dst any
	}{{base, &s.Baseline}, {emails, &s.NotifyEmails}, {channels, &s.NotifyChannels}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return Settings{}, fmt.Errorf("load detection settings: %w", err)
		}
	}
	if s.Baseline.Disabled == nil {
		s.Baseline.Disabled = []string{}
	}
	return s, nil
}

// SettingsPatch changes some settings; nil fields are left alone.
type SettingsPatch struct {
	Baseline           *BaselinePatch `json:"baseline"`
	GroupWindowMinutes *int           `json:"group_window_minutes"`
	NotifyMinSeverity  *string        `json:"notify_min_severity"`
	NotifyEmails       *[]string      `json:"notify_emails"`
	NotifyChannels     *[]string      `json:"notify_channels"`
}

// BaselinePatch changes some baseline thresholds.
type BaselinePatch struct {
	Enabled             *bool     `json:"enabled"`
	LearningPeriodHours *float64  `json:"learning_period_hours"`
	MinEvents           *int64    `json:"min_events"`
	RareRatio           *float64  `json:"rare_ratio"`
	RareMaxCount        *int64    `json:"rare_max_count"`
	RateWindowMinutes   *int      `json:"rate_window_minutes"`
	RateFactor          *float64  `json:"rate_factor"`
	RateMinCount        *int64    `json:"rate_min_count"`
	Disabled            *[]string `json:"disabled"`
}

func (p *BaselinePatch) apply(b *BaselineSettings) error {
	if p == nil {
		return nil
	}
	if p.Enabled != nil {
		b.Enabled = *p.Enabled
	}
	if v := p.LearningPeriodHours; v != nil {
		if *v < 0.01 || *v > 24*366 {
			return attest.Invalid("baseline.learning_period_hours", "must be between 0.01 and 8784 hours (a year)")
		}
		b.LearningPeriodHours = *v
	}
	if v := p.MinEvents; v != nil {
		if *v < 1 || *v > 1_000_000 {
			return attest.Invalid("baseline.min_events", "must be between 1 and 1000000")
		}
		b.MinEvents = *v
	}
	if v := p.RareRatio; v != nil {
		if !(*v > 0 && *v < 1) {
			return attest.Invalid("baseline.rare_ratio", "must be a fraction between 0 and 1, e.g. 0.001")
		}
		b.RareRatio = *v
	}
	if v := p.RareMaxCount; v != nil {
		if *v < 1 || *v > 1000 {
			return attest.Invalid("baseline.rare_max_count", "must be between 1 and 1000")
		}
		b.RareMaxCount = *v
	}
	if v := p.RateWindowMinutes; v != nil {
		if *v < 1 || *v > 7*24*60 {
			return attest.Invalid("baseline.rate_window_minutes", "must be between 1 and 10080 (a week)")
		}
		b.RateWindowMinutes = *v
	}
	if v := p.RateFactor; v != nil {
		if !(*v > 1 && *v <= 1000) {
			return attest.Invalid("baseline.rate_factor", "must be above 1 and at most 1000")
		}
		b.RateFactor = *v
	}
	if v := p.RateMinCount; v != nil {
		if *v < 1 || *v > 100_000_000 {
			return attest.Invalid("baseline.rate_min_count", "must be at least 1")
		}
		b.RateMinCount = *v
	}
	if v := p.Disabled; v != nil {
		out := []string{}
		for _, k := range *v {
			if !slices.Contains(baseline.Kinds, k) {
				return attest.Invalid("baseline.disabled", "must list some of "+strings.Join(baseline.Kinds, ", "))
			}
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
		b.Disabled = out
	}
	return nil
}

// UpdateSettings applies p and records the change.
func UpdateSettings(ctx context.Context, tx *store.Tx, org attest.OrgID, p SettingsPatch) (Settings, error) {
	before, err := GetSettings(ctx, tx, org)
	if err != nil {
		return Settings{}, err
	}
	s := before
	s.Baseline.Disabled = slices.Clone(before.Baseline.Disabled)
	if err := p.Baseline.apply(&s.Baseline); err != nil {
		return Settings{}, err
	}
	if v := p.GroupWindowMinutes; v != nil {
		if *v < 1 || *v > 7*24*60 {
			return Settings{}, attest.Invalid("group_window_minutes", "must be between 1 and 10080 (a week)")
		}
		s.GroupWindowMinutes = *v
	}
	if v := p.NotifyMinSeverity; v != nil {
		if SeverityRank(*v) < 0 {
			return Settings{}, attest.Invalid("notify_min_severity", "must be one of "+strings.Join(severities, ", "))
		}
		s.NotifyMinSeverity = *v
	}
	if v := p.NotifyEmails; v != nil {
		out := []string{}
		for _, e := range *v {
			e = strings.TrimSpace(e)
			if len(e) > 254 || strings.Count(e, "@") != 1 || strings.ContainsAny(e, " \t\r\n<>,;\"") || strings.HasPrefix(e, "@") || strings.HasSuffix(e, "@") {
				return Settings{}, attest.Invalid("notify_emails", fmt.Sprintf("%q is not an email address", clean(e, 80)))
			}
			if !slices.Contains(out, strings.ToLower(e)) {
				out = append(out, strings.ToLower(e))
			}
		}
		if len(out) > 20 {
			return Settings{}, attest.Invalid("notify_emails", "must list at most 20 addresses")
		}
		s.NotifyEmails = out
	}
	if v := p.NotifyChannels; v != nil {
		out := []string{}
		for _, id := range *v {
			if _, err := notify.GetChannel(ctx, tx, org, id); err != nil {
				if attest.KindOf(err) == attest.KindNotFound {
					return Settings{}, attest.Invalid("notify_channels", fmt.Sprintf("%q is not a notification channel of this organisation", clean(id, 80)))
				}
				return Settings{}, err
			}
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
		if len(out) > 20 {
			return Settings{}, attest.Invalid("notify_channels", "must list at most 20 channels")
		}
		s.NotifyChannels = out
	}
	now := tx.Now()
	s.UpdatedAt = &now
	base, _ := json.Marshal(s.Baseline)
	emails, _ := json.Marshal(s.NotifyEmails)
	channels, _ := json.Marshal(s.NotifyChannels)
	if _, err := tx.ExecContext(ctx, `INSERT INTO detect_settings (org_id, baseline_json, group_window_seconds, notify_min_severity,
		notify_emails, notify_channels, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (org_id) DO UPDATE SET baseline_json = excluded.baseline_json, group_window_seconds = excluded.group_window_seconds,
		notify_min_severity = excluded.notify_min_severity, notify_emails = excluded.notify_emails,
		notify_channels = excluded.notify_channels, updated_at = excluded.updated_at`,
		org, string(base), int64(s.GroupWindowMinutes)*60, s.NotifyMinSeverity, string(emails), string(channels), now); err != nil {
		return Settings{}, fmt.Errorf("save detection settings: %w", err)
	}
	return s, tx.Record(ctx, "detection.settings", "detection", string(org), before, s)
}
