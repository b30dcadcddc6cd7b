// Package control holds an organisation's controls: the library they start
// from, their owners and status, and the readiness computed from them.
package control

import (
	"time"

	attest "github.com/attest-hq/attest"
)

// Status is where a control stands in its implementation.
type Status string

// The statuses a control moves through.
const (
	StatusNotStarted    Status = "not_started"
	StatusInProgress    Status = "in_progress"
	StatusImplemented   Status = "implemented"
	StatusNotApplicable Status = "not_applicable"
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusNotStarted, StatusInProgress, StatusImplemented, StatusNotApplicable}

// ParseStatus validates a status name.
func ParseStatus(s string) (Status, error) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", attest.Invalid("status", "must be one of not_started, in_progress, implemented, not_applicable")
}

// Control is one control as an organisation runs it.
type Control struct {
	ID            string
	OrgID         attest.OrgID
	Code          string // e.g. "AC-01"; unique within the org
	Title         string
	Description   string
	TestProcedure string
	Evidence      []string // the kinds of evidence that usually satisfy it
	OwnerRole     string   // suggested owner role, e.g. "CTO"
	Frequency     Frequency
	Area          string // e.g. "Access control", for grouping and filters
	Criteria      []string
	Status        Status
	OwnerID       string // user id of the owner, empty when unassigned
	OwnerEmail    string // filled on read
	Justification string // required when Status is not_applicable
	Custom        bool   // added by the org rather than taken from the library
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Frequency is how often a control operates, and so how old its newest
// evidence may be before an auditor calls it stale.
type Frequency string

// The frequencies a control can run at.
const (
	FrequencyContinuous Frequency = "continuous"
	FrequencyDaily      Frequency = "daily"
	FrequencyWeekly     Frequency = "weekly"
	FrequencyMonthly    Frequency = "monthly"
	FrequencyQuarterly  Frequency = "quarterly"
	FrequencySemiannual Frequency = "semiannual"
	FrequencyYearly     Frequency = "yearly"
	FrequencyOnEvent    Frequency = "on_event" // runs when something happens (a hire, a change)
)

// Frequencies lists every frequency, most frequent first.
var Frequencies = []Frequency{FrequencyContinuous, FrequencyDaily, FrequencyWeekly, FrequencyMonthly,
	FrequencyQuarterly, FrequencySemiannual, FrequencyYearly, FrequencyOnEvent}

// ParseFrequency validates a frequency name.
func ParseFrequency(s string) (Frequency, error) {
	for _, f := range Frequencies {
		if string(f) == s {
			return f, nil
		}
	}
	return "", attest.Invalid("frequency", "must be one of continuous, daily, weekly, monthly, quarterly, semiannual, yearly, on_event")
}

// FreshFor is how long evidence stays current for a control of this
// frequency: one period plus a grace so that a control done a few days late
// does not flip to stale overnight. Event-driven controls use a year, the
// longest window an auditor samples.
func (f Frequency) FreshFor() time.Duration {
	const day = 24 * time.Hour
	switch f {
	case FrequencyContinuous, FrequencyDaily:
		return 2 * day
	case FrequencyWeekly:
		return 10 * day
	case FrequencyMonthly:
		return 35 * day
	case FrequencyQuarterly:
		return 100 * day
	case FrequencySemiannual:
		return 190 * day
	default:
		return 380 * day
	}
}
