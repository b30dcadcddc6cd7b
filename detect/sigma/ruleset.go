package sigma

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/attest-hq/attest/detect/event"
)

// Problem is a rule that cannot run, and why.
type Problem struct {
	Path   string `json:"path"`
	ID     string `json:"id,omitempty"`
	Title  string `json:"title,omitempty"`
	Reason string `json:"reason"`
	// Unsupported is true when the rule is valid Sigma that uses something
	// Attest does not run; false when the file is not a valid rule.
	Unsupported bool `json:"unsupported"`
}

// RuleSet is a compiled collection of rules. Build it with Add/LoadFS,
// then Compile; after that it is read-only and safe to share between
// goroutines (each uses its own Matcher).
type RuleSet struct {
	Rules        []*Rule
	Correlations []*Correlation
	Problems     []Problem
	// Loaded lists every rule document seen, in load order, with the rule
	// or problem: what `attest rules check` prints.
	Loaded []Loaded

	bySource [event.NumSources]sourceRules
	compiled bool
}

// Loaded is one rule document and its fate.
type Loaded struct {
	Path    string
	Rule    *Rule        // set when it runs (a detection rule)
	Corr    *Correlation // set when it runs (a correlation rule)
	Problem *Problem     // set when it cannot run
}

type sourceRules struct {
	index  []fieldIndex
	always []entry
}

type fieldIndex struct {
	key     uint64
	byValue map[string][]entry
}

type entry struct {
	rule    *Rule
	filters []fieldCond
}

// NewRuleSet returns an empty set.
func NewRuleSet() *RuleSet { return &RuleSet{} }

// Add parses one rule file (one or more YAML documents). Problems are
// recorded, not returned: a bad rule never stops the others.
func (rs *RuleSet) Add(path string, data []byte) {
	docs, err := parseFile(path, data)
	for _, d := range docs {
		switch {
		case d.correlation != nil:
			rs.Correlations = append(rs.Correlations, d.correlation)
			rs.Loaded = append(rs.Loaded, Loaded{Path: path, Corr: d.correlation})
		case d.rule != nil:
			d.rule.seq = len(rs.Rules)
			rs.Rules = append(rs.Rules, d.rule)
			rs.Loaded = append(rs.Loaded, Loaded{Path: path, Rule: d.rule})
		}
	}
	if err != nil {
		p := Problem{Path: path, Reason: err.Error()}
		var ue *unsupportedError
		p.Unsupported = errors.As(err, &ue)
		// The failing document is the one after the good ones; parseDocument
		// returns the partial rule with its error, which parseFile drops.
		if r := partialRule(path, data, len(docs)); r != nil {
			p.ID, p.Title = r.ID, r.Title
		}
		rs.Problems = append(rs.Problems, p)
		rs.Loaded = append(rs.Loaded, Loaded{Path: path, Problem: &rs.Problems[len(rs.Problems)-1]})
	}
}

// partialRule re-reads the title and id of document n for error reports.
func partialRule(path string, data []byte, n int) *Rule {
	var title, id string
	doc := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "---" {
			doc++
			continue
		}
		if doc != n {
			continue
		}
		if v, ok := strings.CutPrefix(line, "title:"); ok && title == "" {
			title = strings.Trim(strings.TrimSpace(v), `'"`)
		}
		if v, ok := strings.CutPrefix(line, "id:"); ok && id == "" {
			id = strings.TrimSpace(v)
		}
	}
	return &Rule{Path: path, Title: title, ID: id}
}

// LoadFS adds every .yml and .yaml file under root, in path order.
func (rs *RuleSet) LoadFS(fsys fs.FS, root string) error {
	var files []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list rules in %s: %w", root, err)
	}
	sort.Strings(files)
	for _, f := range files {
		info, err := fs.Stat(fsys, f)
		if err != nil {
			return fmt.Errorf("stat rule %s: %w", f, err)
		}
		if info.Size() > maxRuleFile {
			rs.Problems = append(rs.Problems, Problem{Path: f, Reason: fmt.Sprintf("rule file larger than %d bytes", maxRuleFile)})
			rs.Loaded = append(rs.Loaded, Loaded{Path: f, Problem: &rs.Problems[len(rs.Problems)-1]})
			continue
		}
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fmt.Errorf("read rule %s: %w", f, err)
		}
		rs.Add(path.Clean(f), data)
	}
	return nil
}

// Compile links correlations to their rules and builds the per-source
// index. Rules referenced by a correlation that cannot be found make the
// correlation a Problem.
func (rs *RuleSet) Compile() {
	byRef := map[string]*Rule{}
	for _, r := range rs.Rules {
		if r.ID != "" {
			byRef[r.ID] = r
		}
		if r.Name != "" {
			byRef[r.Name] = r
		}
	}
	var corrs []*Correlation
	for _, c := range rs.Correlations {
		c.Rules = c.Rules[:0]
		missing := ""
		for _, ref := range c.RuleRefs {
			r, ok := byRef[ref]
			if !ok {
				missing = ref
				break
			}
			c.Rules = append(c.Rules, r)
		}
		if missing != "" {
			p := Problem{Path: c.Meta.Path, ID: c.Meta.ID, Title: c.Meta.Title, Reason: fmt.Sprintf("correlation refers to rule %q, which is not loaded or cannot run", missing)}
			rs.Problems = append(rs.Problems, p)
			for i := range rs.Loaded {
				if rs.Loaded[i].Corr == c {
					rs.Loaded[i].Corr, rs.Loaded[i].Problem = nil, &rs.Problems[len(rs.Problems)-1]
				}
			}
			continue
		}
		corrs = append(corrs, c)
	}
	for _, r := range rs.Rules {
		if r.agg != nil {
			r.OnlyCorrelated = true
			corrs = append(corrs, aggregationCorrelation(r))
		}
	}
	for i, c := range corrs {
		c.idx = i
		for _, r := range c.Rules {
			r.correlations = append(r.correlations, c)
			if !c.Generate {
				r.OnlyCorrelated = true
			}
		}
	}
	rs.Correlations = corrs
	for s := range rs.bySource {
		sr := sourceRules{}
		for _, k := range indexFields[s] {
			sr.index = append(sr.index, fieldIndex{key: k, byValue: map[string][]entry{}})
		}
		rs.bySource[s] = sr
	}
	for _, r := range rs.Rules {
	targets:
		for _, t := range r.targets {
			sr := &rs.bySource[t.source]
			e := entry{rule: r, filters: t.filters}
			for _, fi := range sr.index {
				if vals, ok := requiredValues(r, r.cond, fi.key); ok {
					for _, v := range vals {
						fi.byValue[v] = append(fi.byValue[v], e)
					}
					continue targets
				}
			}
			sr.always = append(sr.always, e)
		}
	}
	rs.compiled = true
}

// requiredValues returns the lowercase values that field key must take
// for n to match; ok is false when n can match whatever the field holds.
func requiredValues(r *Rule, n *node, key uint64) ([]string, bool) {
	switch n.op {
	case opSearch:
		s := &r.searches[n.search]
		var out []string
		for _, alt := range s.alts {
			found := false
			for _, c := range alt {
				if c.key != key || c.neq || c.exists != 0 || len(c.patterns) == 0 {
					continue
				}
				plain := true
				for _, p := range c.patterns {
					if p.kind != patExact || p.cased {
						plain = false
					}
				}
				if !plain {
					continue
				}
				for _, p := range c.patterns {
					out = append(out, string(p.s))
				}
				found = true
				break
			}
			if !found {
				return nil, false
			}
		}
		return out, len(out) > 0
	case opAnd:
		var best []string
		ok := false
		for _, k := range n.kids {
			if v, kok := requiredValues(r, k, key); kok && (!ok || len(v) < len(best)) {
				best, ok = v, true
			}
		}
		return best, ok
	case opOr:
		var out []string
		for _, k := range n.kids {
			v, ok := requiredValues(r, k, key)
			if !ok {
				return nil, false
			}
			out = append(out, v...)
		}
		return out, len(out) > 0
	}
	return nil, false
}

// Matcher matches events against a compiled RuleSet. It holds scratch
// space; use one per goroutine.
type Matcher struct {
	rs      *RuleSet
	m       matcher
	stamp   []uint32
	gen     uint32
	out     []*Rule
	lowered []byte
}

// NewMatcher returns a Matcher for rs, compiling rs if needed.
func (rs *RuleSet) NewMatcher() *Matcher {
	if !rs.compiled {
		rs.Compile()
	}
	return &Matcher{rs: rs, stamp: make([]uint32, len(rs.Rules))}
}

// Match returns the rules that match ev. The slice is reused by the next
// call.
func (mt *Matcher) Match(ev *event.Event) []*Rule {
	mt.out = mt.out[:0]
	if int(ev.Source) >= len(mt.rs.bySource) {
		return mt.out
	}
	sr := &mt.rs.bySource[ev.Source]
	mt.gen++
	if mt.gen == 0 { // wrapped: clear stamps
		clear(mt.stamp)
		mt.gen = 1
	}
	for xi := range sr.index {
		fi := &sr.index[xi]
		if len(fi.byValue) == 0 {
			continue
		}
		for i := range ev.Fields {
			f := &ev.Fields[i]
			if f.Key != fi.key || f.Kind == event.KindObject || f.Kind == event.KindArray {
				continue
			}
			mt.lowered = lowerASCII(mt.lowered[:0], f.Value)
			for _, e := range fi.byValue[string(mt.lowered)] {
				mt.try(e, ev)
			}
		}
	}
	for _, e := range sr.always {
		mt.try(e, ev)
	}
	return mt.out
}

func (mt *Matcher) try(e entry, ev *event.Event) {
	r := e.rule
	if mt.stamp[r.seq] == mt.gen {
		return
	}
	mt.stamp[r.seq] = mt.gen
	for i := range e.filters {
		if !mt.m.evalCond(&e.filters[i], ev) {
			return
		}
	}
	if mt.m.evalNode(r, r.cond, ev) {
		mt.out = append(mt.out, r)
	}
}

// MatchRule reports whether rule r matches ev, ignoring the index (tests
// and the benchmark's cross-check use it).
func (mt *Matcher) MatchRule(r *Rule, ev *event.Event) bool {
	for _, t := range r.targets {
		if t.source != ev.Source {
			continue
		}
		ok := true
		for i := range t.filters {
			if !mt.m.evalCond(&t.filters[i], ev) {
				ok = false
				break
			}
		}
		if ok && mt.m.evalNode(r, r.cond, ev) {
			return true
		}
	}
	return false
}

func (m *matcher) evalNode(r *Rule, n *node, ev *event.Event) bool {
	switch n.op {
	case opSearch:
		return m.evalSearch(&r.searches[n.search], ev)
	case opAnd:
		for _, k := range n.kids {
			if !m.evalNode(r, k, ev) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if m.evalNode(r, k, ev) {
				return true
			}
		}
		return false
	case opNot:
		return !m.evalNode(r, n.kids[0], ev)
	case opTrue:
		return true
	}
	return false
}

func (m *matcher) evalSearch(s *search, ev *event.Event) bool {
	for _, alt := range s.alts {
		ok := true
		for i := range alt {
			if !m.evalCond(&alt[i], ev) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (m *matcher) evalCond(c *fieldCond, ev *event.Event) bool {
	if c.exists != 0 {
		found := false
		for i := range ev.Fields {
			if ev.Fields[i].Key == c.key {
				found = true
				break
			}
		}
		return found == (c.exists > 0)
	}
	var res bool
	if c.all {
		res = true
		for pi := range c.patterns {
			if !m.anyValue(c, &c.patterns[pi], ev) {
				res = false
				break
			}
		}
	} else {
		res = m.anyPattern(c, ev)
	}
	if c.neq {
		return !res
	}
	return res
}

// anyValue: does some value of the field match p?
func (m *matcher) anyValue(c *fieldCond, p *pattern, ev *event.Event) bool {
	if c.key == rawKey {
		return m.matchValue(p, ev.Raw, event.KindString, ev)
	}
	found := false
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if f.Key != c.key {
			continue
		}
		found = true
		if m.matchValue(p, f.Value, f.Kind, ev) {
			return true
		}
	}
	return !found && p.kind == patNull
}

// anyPattern: does some value of the field match some pattern?
func (m *matcher) anyPattern(c *fieldCond, ev *event.Event) bool {
	if c.key == rawKey {
		for pi := range c.patterns {
			if m.matchValue(&c.patterns[pi], ev.Raw, event.KindString, ev) {
				return true
			}
		}
		return false
	}
	found := false
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if f.Key != c.key {
			continue
		}
		found = true
		for pi := range c.patterns {
			if m.matchValue(&c.patterns[pi], f.Value, f.Kind, ev) {
				return true
			}
		}
	}
	if !found {
		for pi := range c.patterns {
			if c.patterns[pi].kind == patNull {
				return true
			}
		}
	}
	return false
}

// Sources returns the sources rule r runs on.
func (r *Rule) Sources() []event.Source {
	out := make([]event.Source, len(r.targets))
	for i, t := range r.targets {
		out[i] = t.source
	}
	return out
}
