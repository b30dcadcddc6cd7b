package control

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/framework"
)

// ok is an implemented control with current evidence and nothing wrong.
func ok(code string, criteria ...string) ControlState {
	return ControlState{Control: Control{Code: code, Status: StatusImplemented, Criteria: criteria}, EvidenceCount: 1}
}

func withStatus(s ControlState, st Status) ControlState { s.Control.Status = st; return s }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestCredit(t *testing.T) {
	base := ok("X-01", "CC6.1")
	tests := []struct {
		name  string
		state func(ControlState) ControlState
		want  float64
	}{
		{"implemented and current", func(s ControlState) ControlState { return s }, 1},
		{"in progress", func(s ControlState) ControlState { return withStatus(s, StatusInProgress) }, 0.5},
		{"in progress ignores signals", func(s ControlState) ControlState {
			s = withStatus(s, StatusInProgress)
			s.FailingChecks, s.EvidenceCount = 3, 0
			return s
		}, 0.5},
		{"not started", func(s ControlState) ControlState { return withStatus(s, StatusNotStarted) }, 0},
		{"not applicable", func(s ControlState) ControlState { return withStatus(s, StatusNotApplicable) }, 0},
		{"stale evidence", func(s ControlState) ControlState { s.EvidenceStale = true; return s }, 0.75},
		{"no evidence", func(s ControlState) ControlState { s.EvidenceCount = 0; return s }, 0.5},
		{"no evidence outweighs stale", func(s ControlState) ControlState {
			s.EvidenceCount, s.EvidenceStale = 0, true
			return s
		}, 0.5},
		{"overdue tasks", func(s ControlState) ControlState { s.OverdueTasks = 2; return s }, 0.75},
		{"failing check", func(s ControlState) ControlState { s.FailingChecks = 1; return s }, 0.5},
		{"stale and overdue", func(s ControlState) ControlState {
			s.EvidenceStale, s.OverdueTasks = true, 1
			return s
		}, 0.5},
		{"everything wrong floors at zero", func(s ControlState) ControlState {
			s.EvidenceCount, s.OverdueTasks, s.FailingChecks = 0, 1, 1
			return s
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.state(base).Credit(); !near(got, tt.want) {
				t.Errorf("Credit() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadinessCriterionRules(t *testing.T) {
	fw := mustSOC2(t)
	stale := ok("AC-04", "CC6.2")
	stale.EvidenceStale = true
	failing := ok("AC-02", "CC6.2")
	failing.FailingChecks = 2
	many := []ControlState{}
	for i := range 7 {
		many = append(many, withStatus(ok(fmt.Sprintf("ZZ-%02d", i), "CC6.2"), StatusNotStarted))
	}

	tests := []struct {
		name        string
		states      []ControlState
		criterion   string
		wantScore   float64
		wantCovered bool
		wantCtrls   []string
		wantMissing []string
		wantReason  []string // substrings
	}{
		{
			name:        "no control mapped",
			criterion:   "CC6.2",
			wantScore:   0,
			wantReason:  []string{"No control is mapped to this criterion."},
			wantCtrls:   []string{},
			wantMissing: []string{},
		},
		{
			name:        "one implemented control covers",
			states:      []ControlState{ok("AC-03", "CC6.2")},
			criterion:   "CC6.2",
			wantScore:   1,
			wantCovered: true,
			wantCtrls:   []string{"AC-03"},
			wantMissing: []string{},
			wantReason:  []string{"The one applicable control is implemented with current evidence."},
		},
		{
			name:        "not applicable controls are excluded from the mean",
			states:      []ControlState{ok("AC-03", "CC6.2"), withStatus(ok("AC-09", "CC6.2"), StatusNotApplicable)},
			criterion:   "CC6.2",
			wantScore:   1,
			wantCovered: true,
			wantCtrls:   []string{"AC-03"},
			wantMissing: []string{},
			wantReason:  []string{"The one applicable control", "1 mapped control is marked not applicable."},
		},
		{
			name:        "only not applicable controls: uncovered and explained",
			states:      []ControlState{withStatus(ok("AC-16", "CC6.4"), StatusNotApplicable), withStatus(ok("AC-17", "CC6.4"), StatusNotApplicable)},
			criterion:   "CC6.4",
			wantScore:   0,
			wantCtrls:   []string{},
			wantMissing: []string{},
			wantReason:  []string{"No applicable control covers this criterion: AC-16 and AC-17 are marked not applicable."},
		},
		{
			name:        "partial credit for work in progress",
			states:      []ControlState{ok("AC-03", "CC6.2"), withStatus(ok("AC-04", "CC6.2"), StatusInProgress)},
			criterion:   "CC6.2",
			wantScore:   0.75,
			wantCovered: true,
			wantCtrls:   []string{"AC-03"},
			wantMissing: []string{"AC-04"},
			wantReason:  []string{"1 of 2 applicable controls fully count; AC-04: in progress."},
		},
		{
			name:        "not started earns nothing",
			states:      []ControlState{withStatus(ok("AC-03", "CC6.2"), StatusNotStarted)},
			criterion:   "CC6.2",
			wantScore:   0,
			wantCtrls:   []string{},
			wantMissing: []string{"AC-03"},
			wantReason:  []string{"The one applicable control does not fully count; AC-03: not started."},
		},
		{
			name:        "stale evidence lowers credit and does not cover",
			states:      []ControlState{stale},
			criterion:   "CC6.2",
			wantScore:   0.75,
			wantCtrls:   []string{},
			wantMissing: []string{"AC-04"},
			wantReason:  []string{"AC-04: evidence is stale"},
		},
		{
			name:        "failing checks and stale evidence named together",
			states:      []ControlState{ok("AC-03", "CC6.2"), stale, failing},
			criterion:   "CC6.2",
			wantScore:   (1 + 0.75 + 0.5) / 3,
			wantCovered: true,
			wantCtrls:   []string{"AC-03"},
			wantMissing: []string{"AC-02", "AC-04"},
			wantReason:  []string{"1 of 3 applicable controls fully count; AC-02: 2 failing checks; AC-04: evidence is stale."},
		},
		{
			name:        "unknown and repeated criteria ids are ignored",
			states:      []ControlState{ok("AC-03", "CC6.2", "ISO-5.15", "CC6.2")},
			criterion:   "CC6.2",
			wantScore:   1,
			wantCovered: true,
			wantCtrls:   []string{"AC-03"},
			wantMissing: []string{},
		},
		{
			name:        "long lists are cut short in the reason",
			states:      many,
			criterion:   "CC6.2",
			wantScore:   0,
			wantCtrls:   []string{},
			wantMissing: []string{"ZZ-00", "ZZ-01", "ZZ-02", "ZZ-03", "ZZ-04", "ZZ-05", "ZZ-06"},
			wantReason:  []string{"0 of 7", "ZZ-04: not started; and 2 more."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ComputeReadiness(fw, nil, tt.states)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(r.Criteria, func(c CriterionReadiness) bool { return c.ID == tt.criterion })
			if i < 0 {
				t.Fatalf("criterion %s not in result", tt.criterion)
			}
			got := r.Criteria[i]
			if !near(got.Score, tt.wantScore) {
				t.Errorf("score = %v, want %v", got.Score, tt.wantScore)
			}
			if got.Covered != tt.wantCovered {
				t.Errorf("covered = %v, want %v", got.Covered, tt.wantCovered)
			}
			if !slices.Equal(got.Controls, tt.wantCtrls) || got.Controls == nil {
				t.Errorf("controls = %#v, want %#v", got.Controls, tt.wantCtrls)
			}
			if !slices.Equal(got.Missing, tt.wantMissing) || got.Missing == nil {
				t.Errorf("missing = %#v, want %#v", got.Missing, tt.wantMissing)
			}
			for _, w := range tt.wantReason {
				if !strings.Contains(got.Reason, w) {
					t.Errorf("reason %q does not contain %q", got.Reason, w)
				}
			}
			if got.Category != "security" || got.Title == "" {
				t.Errorf("criterion metadata = %q %q", got.Category, got.Title)
			}
		})
	}
}

func TestReadinessScope(t *testing.T) {
	fw := mustSOC2(t)
	states := []ControlState{
		ok("AC-02", "CC6.1"),
		ok("AV-03", "A1.2"),
		ok("PR-01", "P1.1"),
	}
	count := func(category string) int {
		n := 0
		for _, c := range fw.Criteria {
			if c.Category == category {
				n++
			}
		}
		return n
	}
	nSec, nAvail, nPriv := count("security"), count("availability"), count("privacy")

	tests := []struct {
		name        string
		inScope     []string
		wantInScope map[string]bool
		wantOverall float64
	}{
		{
			name:        "security is in scope even when omitted",
			inScope:     nil,
			wantInScope: map[string]bool{"security": true, "availability": false, "processing_integrity": false, "confidentiality": false, "privacy": false},
			wantOverall: 1.0 / float64(nSec),
		},
		{
			name:        "out-of-scope categories are listed but excluded from overall",
			inScope:     []string{"availability"},
			wantInScope: map[string]bool{"security": true, "availability": true, "processing_integrity": false, "confidentiality": false, "privacy": false},
			wantOverall: 2.0 / float64(nSec+nAvail),
		},
		{
			name:        "overall is the mean over all in-scope criteria",
			inScope:     []string{"security", "availability", "privacy"},
			wantInScope: map[string]bool{"security": true, "availability": true, "processing_integrity": false, "confidentiality": false, "privacy": true},
			wantOverall: 3.0 / float64(nSec+nAvail+nPriv),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ComputeReadiness(fw, tt.inScope, states)
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.Overall, tt.wantOverall) {
				t.Errorf("overall = %v, want %v", r.Overall, tt.wantOverall)
			}
			if len(r.Categories) != len(fw.Categories) {
				t.Fatalf("%d categories, want every one of %d", len(r.Categories), len(fw.Categories))
			}
			for _, c := range r.Categories {
				if c.InScope != tt.wantInScope[c.ID] {
					t.Errorf("category %s in_scope = %v, want %v", c.ID, c.InScope, tt.wantInScope[c.ID])
				}
				// Out-of-scope categories are still scored, for "what if" views.
				if c.ID == "availability" && !near(c.Score, 1.0/float64(nAvail)) {
					t.Errorf("availability score = %v", c.Score)
				}
			}
			wantCriteria := 0
			for _, c := range fw.Criteria {
				if tt.wantInScope[c.Category] {
					wantCriteria++
				}
			}
			if len(r.Criteria) != wantCriteria {
				t.Errorf("%d criteria, want %d (in-scope only)", len(r.Criteria), wantCriteria)
			}
			for _, c := range r.Criteria {
				if !tt.wantInScope[c.Category] {
					t.Errorf("criterion %s of out-of-scope %s listed", c.ID, c.Category)
				}
			}
		})
	}
}

func TestReadinessRejectsUnknownCategory(t *testing.T) {
	_, err := ComputeReadiness(mustSOC2(t), []string{"security", "secrecy"}, nil)
	if attest.KindOf(err) != attest.KindInvalid || !strings.Contains(err.Error(), "secrecy") {
		t.Errorf("error = %v, want an invalid error naming secrecy", err)
	}
}

// TestReadinessWholeLibrary checks the path a new organisation takes: adopt
// the library, implement everything, and reach full readiness in every
// category.
func TestReadinessWholeLibrary(t *testing.T) {
	fw := mustSOC2(t)
	var states []ControlState
	for _, tpl := range mustLibrary(t) {
		c := tpl.Control()
		c.Status = StatusImplemented
		states = append(states, ControlState{Control: c, EvidenceCount: 1})
	}
	all := []string{"security", "availability", "processing_integrity", "confidentiality", "privacy"}
	r, err := ComputeReadiness(fw, all, states)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.Overall, 1) || len(r.Criteria) != 61 {
		t.Errorf("overall %v over %d criteria, want 1 over 61", r.Overall, len(r.Criteria))
	}
	for _, c := range r.Criteria {
		if !c.Covered {
			t.Errorf("%s not covered: %s", c.ID, c.Reason)
		}
	}
	// Fresh adoption: nothing started, nothing covered.
	for i := range states {
		states[i].Control.Status = StatusNotStarted
	}
	r, _ = ComputeReadiness(fw, all, states)
	if r.Overall != 0 {
		t.Errorf("overall of a fresh library = %v, want 0", r.Overall)
	}
}

func TestReadinessJSON(t *testing.T) {
	r, err := ComputeReadiness(mustSOC2(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Overall    *float64         `json:"overall"`
		Categories []map[string]any `json:"categories"`
		Criteria   []map[string]any `json:"criteria"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Overall == nil || len(got.Categories) == 0 || len(got.Criteria) == 0 {
		t.Fatalf("json = %s", b)
	}
	for _, k := range []string{"id", "name", "score", "in_scope"} {
		if _, ok := got.Categories[0][k]; !ok {
			t.Errorf("category json lacks %q", k)
		}
	}
	c := got.Criteria[0]
	for _, k := range []string{"id", "category", "title", "covered", "score", "controls", "missing", "reason"} {
		if _, ok := c[k]; !ok {
			t.Errorf("criterion json lacks %q", k)
		}
	}
	if _, isArray := c["controls"].([]any); !isArray {
		t.Errorf("controls = %#v, want a JSON array", c["controls"])
	}
	if _, isArray := c["missing"].([]any); !isArray {
		t.Errorf("missing = %#v, want a JSON array", c["missing"])
	}
}

// randomStates builds n controls with a realistic spread of statuses and
// signals, each mapped to 1-4 random criteria of fw.
func randomStates(fw *framework.Framework, n int) []ControlState {
	rng := rand.New(rand.NewPCG(1, 2))
	statuses := []Status{StatusImplemented, StatusImplemented, StatusInProgress, StatusNotStarted, StatusNotApplicable}
	states := make([]ControlState, n)
	for i := range states {
		crit := make([]string, 1+rng.IntN(4))
		for k := range crit {
			crit[k] = fw.Criteria[rng.IntN(len(fw.Criteria))].ID
		}
		states[i] = ControlState{
			Control: Control{
				Code:     fmt.Sprintf("C-%05d", rng.IntN(1_000_000)),
				Status:   statuses[rng.IntN(len(statuses))],
				Criteria: crit,
			},
			EvidenceCount: rng.IntN(3),
			EvidenceStale: rng.IntN(5) == 0,
			OverdueTasks:  rng.IntN(8) / 7,
			FailingChecks: rng.IntN(10) / 9,
		}
	}
	return states
}

func BenchmarkReadiness10000(b *testing.B) {
	fw := mustSOC2(b)
	states := randomStates(fw, 10_000)
	all := []string{"security", "availability", "processing_integrity", "confidentiality", "privacy"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ComputeReadiness(fw, all, states); err != nil {
			b.Fatal(err)
		}
	}
}
