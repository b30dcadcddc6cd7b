package control

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/framework"
)

// ControlState is one control as readiness sees it: the control itself and
// the signals other features feed in about whether it is really working.
type ControlState struct {
	Control       Control
	EvidenceCount int  // evidence items attached to the control
	EvidenceStale bool // newest evidence is older than Control.Frequency.FreshFor()
	OverdueTasks  int  // open tasks for the control past their due date
	FailingChecks int  // automated checks for the control whose latest result failed
}

// How much a control earns toward readiness. An auditor asks two questions
// of a control: does it exist, and can you show it operated throughout the
// period? Status answers the first; the signals answer the second, so they
// only lower the credit of a control that claims to be implemented. For a
// control still in progress, missing evidence and failing checks are
// expected and already priced into its partial credit.
const (
	// creditInProgress: work has started, but an auditor would still record
	// an exception, so it earns half.
	creditInProgress = 0.5
	// penaltyNoEvidence: "implemented" with nothing to show is a claim an
	// auditor cannot test; it is worth no more than work in progress.
	penaltyNoEvidence = 0.5
	// penaltyStale: the control probably still runs, but the sample for the
	// latest period would come up empty. Uploading current evidence fixes it.
	penaltyStale = 0.25
	// penaltyOverdue: a recurring activity (a review, a test) slipped; the
	// auditor would find a missed occurrence.
	penaltyOverdue = 0.25
	// penaltyFailing: a machine observed the control not working right now
	// (say, a user without MFA), which is a real gap, not a paperwork one.
	penaltyFailing = 0.5
)

// Credit is how much the control counts toward readiness, from 0 to 1: 1 for
// an implemented control with current evidence, no overdue tasks and no
// failing checks; 0.5 in progress; 0 not started. Each problem of an
// implemented control lowers its credit (see the penalty constants), down to
// 0. Not-applicable controls are excluded from readiness and report 0.
func (s ControlState) Credit() float64 {
	switch s.Control.Status {
	case StatusImplemented:
		c := 1.0
		if s.EvidenceCount <= 0 {
			c -= penaltyNoEvidence
		} else if s.EvidenceStale {
			c -= penaltyStale
		}
		if s.OverdueTasks > 0 {
			c -= penaltyOverdue
		}
		if s.FailingChecks > 0 {
			c -= penaltyFailing
		}
		return max(c, 0)
	case StatusInProgress:
		return creditInProgress
	default:
		return 0
	}
}

// problems says in words why a control does not fully count, e.g.
// "evidence is stale, 1 failing check". Empty when it fully counts.
func (s ControlState) problems() string {
	switch s.Control.Status {
	case StatusImplemented:
	case StatusInProgress:
		return "in progress"
	case StatusNotApplicable:
		return "not applicable"
	default:
		return "not started"
	}
	var p []string
	if s.EvidenceCount <= 0 {
		p = append(p, "no evidence")
	} else if s.EvidenceStale {
		p = append(p, "evidence is stale")
	}
	if s.OverdueTasks > 0 {
		p = append(p, plural(s.OverdueTasks, "overdue task"))
	}
	if s.FailingChecks > 0 {
		p = append(p, plural(s.FailingChecks, "failing check"))
	}
	return strings.Join(p, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// Readiness is how close an organisation is to passing an audit against one
// framework. Its JSON form is the HTTP API's readiness response.
type Readiness struct {
	Overall    float64              `json:"overall"` // 0..1 over every criterion in scope
	Categories []CategoryReadiness  `json:"categories"`
	Criteria   []CriterionReadiness `json:"criteria"` // in-scope categories only, framework order
}

// CategoryReadiness is the score of one framework category. Categories out
// of scope are still scored, so the UI can show what adding one would take,
// but they do not count toward Overall.
type CategoryReadiness struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	Score   float64 `json:"score"` // mean of the category's criteria scores
	InScope bool    `json:"in_scope"`
}

// CriterionReadiness is the score of one criterion and why.
type CriterionReadiness struct {
	ID       string   `json:"id"`
	Category string   `json:"category"`
	Title    string   `json:"title"`
	Covered  bool     `json:"covered"`  // at least one applicable control fully counts
	Score    float64  `json:"score"`    // mean credit of the applicable mapped controls
	Controls []string `json:"controls"` // codes of controls that fully count
	Missing  []string `json:"missing"`  // codes of applicable mapped controls that do not yet
	Reason   string   `json:"reason"`   // the score explained in words
}

// reasonDetailLimit caps how many controls a reason names, so that a
// criterion with hundreds of mapped controls still reads as a sentence.
const reasonDetailLimit = 5

// ComputeReadiness scores an organisation's controls against fw.
//
// inScope lists the category ids the organisation put in scope; required
// categories (SOC 2 security) are always in, even when omitted. An unknown
// id is an Invalid error. Criteria ids of a control that fw does not define
// are ignored, so a control mapped to several frameworks can be scored
// against each.
//
// A criterion's score is the mean credit of its applicable mapped controls,
// not the best one: an auditor tests every control the organisation says
// addresses a criterion, so an unfinished one is a gap even when another is
// done. Not-applicable controls are left out of the mean; a criterion with
// no applicable control scores 0, since nothing addresses it. Overall is the
// mean over all in-scope criteria (so each criterion weighs the same, and a
// large category weighs more than a small one, as in an audit).
//
// The cost is one pass over the controls and their mappings plus one sort of
// the controls by code; fw's criterion index does the lookups.
func ComputeReadiness(fw *framework.Framework, inScope []string, states []ControlState) (Readiness, error) {
	if fw == nil {
		return Readiness{}, fmt.Errorf("compute readiness: no framework")
	}
	scoped := make(map[string]bool, len(fw.Categories))
	for _, c := range fw.Categories {
		scoped[c.ID] = c.Required
	}
	for _, id := range inScope {
		if _, ok := scoped[id]; !ok {
			return Readiness{}, attest.Invalid("categories", fmt.Sprintf("unknown %s category %q", fw.ID, id))
		}
		scoped[id] = true
	}

	// Visit controls in code order so that every per-criterion list comes
	// out sorted without sorting each one. Sorting small (code, index) pairs
	// rather than indices into states keeps the comparisons in cache. Codes
	// are unique within an organisation; the index tie-break keeps the order
	// deterministic even if they are not.
	type key struct {
		code string
		i    int
	}
	keys := make([]key, len(states))
	for i := range states {
		keys[i] = key{states[i].Control.Code, i}
	}
	byCode := func(a, b key) int {
		if c := strings.Compare(a.code, b.code); c != 0 {
			return c
		}
		return a.i - b.i
	}
	if !slices.IsSortedFunc(keys, byCode) {
		slices.SortFunc(keys, byCode)
	}

	type tally struct {
		sum        float64 // credits of applicable controls
		applicable int
		counting   []string // codes, fully counting
		missing    []int    // state indices, applicable but not fully counting
		na         []string // codes, not applicable
	}
	tallies := make([]tally, len(fw.Criteria))
	credits := make([]float64, len(states))
	for _, k := range keys {
		i := k.i
		s := &states[i]
		na := s.Control.Status == StatusNotApplicable
		credit := 0.0
		if !na {
			credit = s.Credit()
		}
		credits[i] = credit
		for k, id := range s.Control.Criteria {
			ci, ok := fw.CriterionIndex(id)
			if !ok || slices.Contains(s.Control.Criteria[:k], id) {
				continue // another framework's criterion, or listed twice
			}
			t := &tallies[ci]
			switch {
			case na:
				t.na = append(t.na, s.Control.Code)
			case credit >= 1:
				t.applicable++
				t.sum += credit
				t.counting = append(t.counting, s.Control.Code)
			default:
				t.applicable++
				t.sum += credit
				t.missing = append(t.missing, i)
			}
		}
	}

	r := Readiness{Categories: make([]CategoryReadiness, 0, len(fw.Categories))}
	catSum := make(map[string]float64, len(fw.Categories))
	catN := make(map[string]int, len(fw.Categories))
	var overallSum float64
	var overallN int
	for ci, c := range fw.Criteria {
		t := &tallies[ci]
		score := 0.0
		if t.applicable > 0 {
			score = t.sum / float64(t.applicable)
		}
		catSum[c.Category] += score
		catN[c.Category]++
		if !scoped[c.Category] {
			continue
		}
		overallSum += score
		overallN++
		missing := make([]string, len(t.missing))
		for j, i := range t.missing {
			missing[j] = states[i].Control.Code
		}
		controls := t.counting
		if controls == nil {
			controls = []string{}
		}
		r.Criteria = append(r.Criteria, CriterionReadiness{
			ID:       c.ID,
			Category: c.Category,
			Title:    c.Title,
			Covered:  len(t.counting) > 0,
			Score:    score,
			Controls: controls,
			Missing:  missing,
			Reason:   criterionReason(len(t.counting), t.applicable, t.missing, t.na, states),
		})
	}
	if r.Criteria == nil {
		r.Criteria = []CriterionReadiness{}
	}
	for _, c := range fw.Categories {
		score := 0.0
		if n := catN[c.ID]; n > 0 {
			score = catSum[c.ID] / float64(n)
		}
		r.Categories = append(r.Categories, CategoryReadiness{ID: c.ID, Name: c.Name, Score: score, InScope: scoped[c.ID]})
	}
	if overallN > 0 {
		r.Overall = overallSum / float64(overallN)
	}
	return r, nil
}

// criterionReason explains a criterion's score, naming at most
// reasonDetailLimit controls, e.g. "2 of 3 applicable controls fully count;
// AC-04: evidence is stale."
func criterionReason(counting, applicable int, missing []int, na []string, states []ControlState) string {
	var b strings.Builder
	switch {
	case applicable == 0 && len(na) == 0:
		return "No control is mapped to this criterion."
	case applicable == 0:
		b.WriteString("No applicable control covers this criterion: ")
		writeCodes(&b, na)
		if len(na) == 1 {
			b.WriteString(" is marked not applicable.")
		} else {
			b.WriteString(" are marked not applicable.")
		}
		return b.String()
	case counting == applicable && applicable == 1:
		b.WriteString("The one applicable control is implemented with current evidence.")
	case counting == applicable:
		fmt.Fprintf(&b, "All %d applicable controls are implemented with current evidence.", applicable)
	case applicable == 1:
		b.WriteString("The one applicable control does not fully count")
	default:
		fmt.Fprintf(&b, "%d of %d applicable controls fully count", counting, applicable)
	}
	if counting < applicable {
		for j, i := range missing {
			if j == reasonDetailLimit {
				fmt.Fprintf(&b, "; and %d more", len(missing)-j)
				break
			}
			b.WriteString("; ")
			b.WriteString(states[i].Control.Code)
			b.WriteString(": ")
			b.WriteString(states[i].problems())
		}
		b.WriteString(".")
	}
	switch n := len(na); {
	case n == 1:
		b.WriteString(" 1 mapped control is marked not applicable.")
	case n > 1:
		fmt.Fprintf(&b, " %d mapped controls are marked not applicable.", n)
	}
	return b.String()
}

// writeCodes writes up to reasonDetailLimit codes, "A, B and C", noting how
// many more there are.
func writeCodes(b *strings.Builder, codes []string) {
	shown := codes
	if len(shown) > reasonDetailLimit {
		shown = shown[:reasonDetailLimit]
	}
	for j, c := range shown {
		switch {
		case j == 0:
		case j == len(shown)-1 && len(shown) == len(codes):
			b.WriteString(" and ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(c)
	}
	if rest := len(codes) - len(shown); rest > 0 {
		fmt.Fprintf(b, " and %d more", rest)
	}
}
