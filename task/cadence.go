// Package task is the calendar of recurring duties: rules such as "review
// access every quarter" whose occurrences become tasks with an owner and a
// due date, the completion or skipping of those tasks (a completion note
// becomes evidence for the linked controls), the overdue counts readiness
// uses, and the sweep that generates occurrences and queues reminders and
// digests.
package task

import (
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
)

// Cadence is how often a rule recurs.
type Cadence string

// The cadences a rule can have.
const (
	Weekly     Cadence = "weekly"
	Monthly    Cadence = "monthly"
	Quarterly  Cadence = "quarterly"
	Semiannual Cadence = "semiannual"
	Yearly     Cadence = "yearly"
)

// Cadences lists every cadence, most frequent first.
var Cadences = []Cadence{Weekly, Monthly, Quarterly, Semiannual, Yearly}

// ParseCadence validates a cadence name.
func ParseCadence(s string) (Cadence, error) {
	for _, c := range Cadences {
		if string(c) == strings.TrimSpace(s) {
			return c, nil
		}
	}
	return "", attest.Invalid("cadence", "must be one of weekly, monthly, quarterly, semiannual, yearly")
}

func (c Cadence) months() int {
	switch c {
	case Monthly:
		return 1
	case Quarterly:
		return 3
	case Semiannual:
		return 6
	case Yearly:
		return 12
	}
	return 0
}

// Occurrence returns the due date of the n-th occurrence (0 is start).
// Months are counted from the start date, not chained, so a rule starting
// on 31 January falls on the last day of shorter months and back on the
// 31st when the month has one.
func (c Cadence) Occurrence(start time.Time, n int) time.Time {
	start = Day(start)
	if c == Weekly {
		return start.AddDate(0, 0, 7*n)
	}
	y, m, d := start.Date()
	first := time.Date(y, m+time.Month(n*c.months()), 1, 0, 0, 0, 0, time.UTC)
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, time.UTC)
}

// firstOnOrAfter returns the index and date of the first occurrence due on
// or after day.
func (c Cadence) firstOnOrAfter(start, day time.Time) (int, time.Time) {
	start, day = Day(start), Day(day)
	if !start.Before(day) {
		return 0, start
	}
	// Jump close, then step: at most a few iterations.
	n := 0
	if c == Weekly {
		n = int(day.Sub(start).Hours()/24/7) - 1
	} else {
		months := (day.Year()-start.Year())*12 + int(day.Month()-start.Month())
		n = months/c.months() - 1
	}
	n = max(n, 0)
	for {
		if occ := c.Occurrence(start, n); !occ.Before(day) {
			return n, occ
		}
		n++
	}
}

// Day is midnight UTC of t's date: due dates are whole days.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// DateLayout is the one format due and start dates are written in.
const DateLayout = "2006-01-02"

// ParseDate reads a date such as 2026-03-31, naming field when it is not
// one.
func ParseDate(field, s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, attest.Invalid(field, "must be a date written YYYY-MM-DD, such as 2026-03-31")
	}
	if t.Year() < 2000 || t.Year() > 2100 {
		return time.Time{}, attest.Invalid(field, "must be between the years 2000 and 2100")
	}
	return t, nil
}
