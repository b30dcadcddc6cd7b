// Package sigma loads Sigma detection and correlation rules and matches
// them against normalized events.
//
// Rules are compiled once: values are lowercased ahead of time, wildcards
// become prefix/suffix/substring tests, regular expressions use Go's RE2
// (linear time, no backtracking), and rules are filed by the value they
// require of their source's action field (eventName, action, eventType ...)
// so that an event is only checked against the few rules that can match it.
// Anything a rule asks for that Attest cannot do faithfully is reported with
// the reason at load time; such rules do not run.
package sigma

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/attest-hq/attest/detect/event"
)

// Limits against hostile rule files.
const (
	maxRuleFile  = 1 << 20 // bytes
	maxYAMLNodes = 100_000 // after alias expansion: a YAML bomb stops here
)

// Rule is one compiled Sigma detection rule.
type Rule struct {
	ID          string
	Name        string
	Title       string
	Description string
	Author      string
	Status      string
	Level       string
	Tags        []string
	Path        string
	Logsource   Logsource
	// Criteria are the Trust Services Criteria the rule evidences, from
	// tags "attest.cc7.2" -> "CC7.2"; CC7.2 (monitoring for anomalies)
	// when the rule names none.
	Criteria []string
	// OnlyCorrelated is set for rules referenced by a correlation rule
	// without "generate: true": their matches feed the correlation and do
	// not alert on their own.
	OnlyCorrelated bool

	targets     []target
	searchNames []string
	searches    []search
	cond        *node
	agg         *aggregation
	timeframe   time.Duration
	// correlations fed by this rule's matches.
	correlations []*Correlation
	seq          int
}

// Key is how alerts name the rule: its name, else its id, else its title.
func (r *Rule) Key() string {
	switch {
	case r.Name != "":
		return r.Name
	case r.ID != "":
		return r.ID
	}
	return r.Title
}

// search is one named search identifier of the detection: an OR of
// alternatives, each an AND of field conditions.
type search struct {
	alts [][]fieldCond
}

// rawKey marks a keyword condition: it searches the whole raw record.
const rawKey uint64 = 0

type fieldCond struct {
	key      uint64
	name     string
	patterns []pattern
	all      bool
	neq      bool
	exists   int8 // +1 must exist, -1 must not, 0 not an existence test
}

// yamlWalker resolves aliases with a node budget, so that a "billion
// laughs" document costs at most maxYAMLNodes visits.
type yamlWalker struct{ budget int }

func (w *yamlWalker) resolve(n *yaml.Node) (*yaml.Node, error) {
	w.budget--
	if w.budget < 0 {
		return nil, errors.New("rule too large: more than 100000 YAML nodes after expanding aliases")
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
		if n == nil {
			return nil, errors.New("dangling YAML alias")
		}
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return w.resolve(n.Content[0])
	}
	return n, nil
}

// mapping returns the key/value pairs of a mapping node.
func (w *yamlWalker) mapping(n *yaml.Node) ([][2]*yaml.Node, error) {
	n, err := w.resolve(n)
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := w.resolve(n.Content[i])
		if err != nil {
			return nil, err
		}
		if k.Tag == "!!merge" {
			return nil, errors.New("YAML merge keys are not supported in rules")
		}
		v, err := w.resolve(n.Content[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out, nil
}

func (w *yamlWalker) scalar(n *yaml.Node) (scalar, error) {
	n, err := w.resolve(n)
	if err != nil {
		return scalar{}, err
	}
	if n.Kind != yaml.ScalarNode {
		return scalar{}, fmt.Errorf("line %d: expected a single value", n.Line)
	}
	return scalar{text: n.Value, null: n.Tag == "!!null", quoted: n.Tag == "!!str"}, nil
}

func (w *yamlWalker) strings(n *yaml.Node) ([]string, error) {
	n, err := w.resolve(n)
	if err != nil {
		return nil, err
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: expected a list", n.Line)
	}
	var out []string
	for _, c := range n.Content {
		s, err := w.scalar(c)
		if err != nil {
			return nil, err
		}
		out = append(out, s.text)
	}
	return out, nil
}

// document is one parsed YAML document of a rule file: a detection rule or
// a correlation rule.
type document struct {
	rule        *Rule
	correlation *Correlation
}

// parseFile parses every document in a rule file.
func parseFile(path string, data []byte) ([]document, error) {
	if len(data) > maxRuleFile {
		return nil, fmt.Errorf("rule file larger than %d bytes", maxRuleFile)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var docs []document
	w := &yamlWalker{budget: maxYAMLNodes}
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return docs, fmt.Errorf("YAML: %w", err)
		}
		d, err := parseDocument(w, path, &root)
		if err != nil {
			return docs, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func parseDocument(w *yamlWalker, path string, root *yaml.Node) (document, error) {
	top, err := w.mapping(root)
	if err != nil {
		return document{}, err
	}
	r := &Rule{Path: path}
	var detection, correlation *yaml.Node
	for _, kv := range top {
		k, v := kv[0].Value, kv[1]
		text := func() string {
			if v.Kind == yaml.ScalarNode {
				return v.Value
			}
			return ""
		}
		switch k {
		case "title":
			r.Title = text()
		case "id":
			r.ID = text()
		case "name":
			r.Name = text()
		case "status":
			r.Status = text()
		case "description":
			r.Description = text()
		case "author":
			r.Author = text()
		case "level":
			r.Level = strings.ToLower(text())
		case "tags":
			if r.Tags, err = w.strings(v); err != nil {
				return document{}, fmt.Errorf("tags: %w", err)
			}
		case "logsource":
			pairs, err := w.mapping(v)
			if err != nil {
				return document{}, fmt.Errorf("logsource: %w", err)
			}
			for _, p := range pairs {
				switch p[0].Value {
				case "product":
					r.Logsource.Product = p[1].Value
				case "service":
					r.Logsource.Service = p[1].Value
				case "category":
					r.Logsource.Category = p[1].Value
				}
			}
		case "detection":
			detection = v
		case "correlation":
			correlation = v
		case "action":
			return document{rule: r}, unsupported("rule collections (action: %s) are not supported; split them into single rules", text())
		case "filter":
			return document{rule: r}, unsupported("Sigma filter rules are not supported; use a suppression instead")
		}
	}
	r.Criteria = criteria(r.Tags)
	if correlation != nil {
		c, err := parseCorrelation(w, r, correlation)
		return document{rule: r, correlation: c}, err
	}
	if detection == nil {
		return document{rule: r}, errors.New("rule has no detection section")
	}
	if r.targets, err = targetsFor(r.Logsource); err != nil {
		return document{rule: r}, err
	}
	if err := r.compileDetection(w, detection); err != nil {
		return document{rule: r}, err
	}
	return document{rule: r}, nil
}

// criteria reads the TSC criteria from attest.* tags.
func criteria(tags []string) []string {
	var out []string
	for _, t := range tags {
		if c, ok := strings.CutPrefix(strings.ToLower(t), "attest."); ok && c != "" {
			out = append(out, strings.ToUpper(c))
		}
	}
	if len(out) == 0 {
		out = []string{"CC7.2"}
	}
	return out
}

func (r *Rule) compileDetection(w *yamlWalker, det *yaml.Node) error {
	pairs, err := w.mapping(det)
	if err != nil {
		return fmt.Errorf("detection: %w", err)
	}
	var conds []string
	for _, kv := range pairs {
		name, v := kv[0].Value, kv[1]
		switch name {
		case "condition":
			if conds, err = w.strings(v); err != nil {
				return fmt.Errorf("condition: %w", err)
			}
			continue
		case "timeframe":
			d, err := parseTimespan(v.Value)
			if err != nil {
				return fmt.Errorf("timeframe: %w", err)
			}
			r.timeframe = d
			continue
		}
		s, err := compileSearch(w, name, v)
		if err != nil {
			return fmt.Errorf("search %s: %w", name, err)
		}
		r.searchNames = append(r.searchNames, name)
		r.searches = append(r.searches, s)
	}
	if len(conds) == 0 {
		return errors.New("detection has no condition")
	}
	// Several conditions (deprecated list form) are OR'ed.
	var roots []*node
	for _, c := range conds {
		expr, agg, hasAgg := strings.Cut(c, "|")
		n, err := parseCondition(expr, r.searchNames)
		if err != nil {
			return unsupported("condition %q: %v", c, err)
		}
		if hasAgg {
			if len(conds) > 1 {
				return unsupported("aggregation in a list of conditions is not supported")
			}
			a, err := parseAggregation(agg)
			if err != nil {
				return err
			}
			if r.timeframe == 0 {
				return unsupported("aggregation %q needs a timeframe", agg)
			}
			r.agg = a
		}
		roots = append(roots, n)
	}
	if len(roots) == 1 {
		r.cond = roots[0]
	} else {
		r.cond = &node{op: opOr, kids: roots}
	}
	return nil
}

// compileSearch compiles one search identifier: a map, a list of maps, or
// a list of keywords.
func compileSearch(w *yamlWalker, name string, v *yaml.Node) (search, error) {
	v, err := w.resolve(v)
	if err != nil {
		return search{}, err
	}
	switch v.Kind {
	case yaml.MappingNode:
		alt, err := compileMap(w, v)
		if err != nil {
			return search{}, err
		}
		return search{alts: [][]fieldCond{alt}}, nil
	case yaml.SequenceNode:
		var s search
		var keywords []scalar
		for _, item := range v.Content {
			item, err := w.resolve(item)
			if err != nil {
				return search{}, err
			}
			switch item.Kind {
			case yaml.MappingNode:
				alt, err := compileMap(w, item)
				if err != nil {
					return search{}, err
				}
				s.alts = append(s.alts, alt)
			case yaml.ScalarNode:
				keywords = append(keywords, scalar{text: item.Value, null: item.Tag == "!!null"})
			default:
				return search{}, unsupported("line %d: nested lists in a search", item.Line)
			}
		}
		if len(keywords) > 0 {
			if len(s.alts) > 0 {
				return search{}, unsupported("search mixes keywords and field maps")
			}
			c, err := keywordCond(fieldSpec{}, keywords)
			if err != nil {
				return search{}, err
			}
			s.alts = [][]fieldCond{{c}}
		}
		return s, nil
	case yaml.ScalarNode:
		c, err := keywordCond(fieldSpec{}, []scalar{{text: v.Value}})
		if err != nil {
			return search{}, err
		}
		return search{alts: [][]fieldCond{{c}}}, nil
	}
	return search{}, fmt.Errorf("unexpected YAML in search %s", name)
}

// keywordCond builds a field-less search: each keyword is searched for
// anywhere in the raw record, case-insensitively.
func keywordCond(fs fieldSpec, vals []scalar) (fieldCond, error) {
	if fs.match == "" {
		fs.match = "contains"
	}
	switch fs.match {
	case "contains", "startswith", "endswith", "re":
	default:
		return fieldCond{}, unsupported("modifier %s on keywords", fs.match)
	}
	ps, err := compileValues(fs, vals)
	if err != nil {
		return fieldCond{}, err
	}
	return fieldCond{key: rawKey, name: "keywords", patterns: ps, all: fs.all}, nil
}

func compileMap(w *yamlWalker, m *yaml.Node) ([]fieldCond, error) {
	pairs, err := w.mapping(m)
	if err != nil {
		return nil, err
	}
	var out []fieldCond
	for _, kv := range pairs {
		fs, err := parseFieldSpec(kv[0].Value)
		if err != nil {
			return nil, err
		}
		var vals []scalar
		v := kv[1]
		switch v.Kind {
		case yaml.ScalarNode:
			vals = []scalar{{text: v.Value, null: v.Tag == "!!null", quoted: v.Tag == "!!str"}}
		case yaml.SequenceNode:
			for _, item := range v.Content {
				s, err := w.scalar(item)
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", fs.field, err)
				}
				vals = append(vals, s)
			}
			if len(vals) == 0 {
				return nil, unsupported("field %s has an empty list of values", fs.field)
			}
		default:
			return nil, unsupported("field %s: values must be a value or a list of values", fs.field)
		}
		if fs.field == "" {
			c, err := keywordCond(fs, vals)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
			continue
		}
		c := fieldCond{key: event.FieldKey(fs.field), name: fs.field, all: fs.all, neq: fs.neq}
		if fs.match == "exists" {
			if len(vals) != 1 || (vals[0].text != "true" && vals[0].text != "false") {
				return nil, unsupported("exists on %s needs true or false", fs.field)
			}
			c.exists = -1
			if vals[0].text == "true" {
				c.exists = 1
			}
			out = append(out, c)
			continue
		}
		if c.patterns, err = compileValues(fs, vals); err != nil {
			return nil, fmt.Errorf("field %s: %w", fs.field, err)
		}
		out = append(out, c)
	}
	// Cheap tests first: an AND stops at its first failure, and equality
	// fails faster than a regular expression.
	sort.SliceStable(out, func(i, j int) bool { return condCost(&out[i]) < condCost(&out[j]) })
	return out, nil
}

// condCost ranks a condition by how much evaluating it costs.
func condCost(c *fieldCond) int {
	if c.exists != 0 {
		return 0
	}
	cost := 1
	if c.key == rawKey {
		cost = 10
	}
	for _, p := range c.patterns {
		k := map[patternKind]int{patExact: 1, patNull: 1, patPrefix: 2, patSuffix: 2, patContains: 3, patGlob: 4, patCIDR: 5, patNumber: 5, patFieldRef: 6, patRegexp: 8}[p.kind]
		if k > cost {
			cost = k
		}
	}
	return cost + len(c.patterns)/8
}

// parseTimespan reads Sigma durations: 30s, 5m, 1h, 7d (and 1M, 1y roughly).
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return 0, fmt.Errorf("invalid timespan %q", s)
	}
	var n int
	if _, err := fmt.Sscanf(s[:len(s)-1], "%d", &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid timespan %q", s)
	}
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'M': 30 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 {
		return 0, fmt.Errorf("invalid timespan unit in %q", s)
	}
	return time.Duration(n) * unit, nil
}
