package sigma

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// node is a compiled condition: a boolean tree over the rule's searches.
type node struct {
	op     nodeOp
	search int // for opSearch: index into rule.searches
	kids   []*node
}

type nodeOp uint8

const (
	opSearch nodeOp = iota
	opAnd
	opOr
	opNot
	opTrue
	opFalse
)

// parseCondition parses the Sigma condition grammar:
//
//	expr := term ("or" term)* ; term := factor ("and" factor)*
//	factor := "not" factor | "(" expr ")" | quant "of" target | name
//	quant := "1" | "any" | "all" | N ; target := "them" | name-with-wildcards
func parseCondition(cond string, names []string) (*node, error) {
	toks := tokenize(cond)
	p := &condParser{toks: toks, names: names}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q in condition", p.toks[p.i])
	}
	return n, nil
}

func tokenize(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch r {
		case '(', ')':
			flush()
			toks = append(toks, string(r))
		case ' ', '\t', '\n', '\r':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

type condParser struct {
	toks  []string
	i     int
	names []string
	depth int
}

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *condParser) expr() (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 100 {
		return nil, fmt.Errorf("condition nested too deeply")
	}
	left, err := p.term()
	if err != nil {
		return nil, err
	}
	kids := []*node{left}
	for strings.EqualFold(p.peek(), "or") {
		p.i++
		r, err := p.term()
		if err != nil {
			return nil, err
		}
		kids = append(kids, r)
	}
	if len(kids) == 1 {
		return left, nil
	}
	return &node{op: opOr, kids: kids}, nil
}

func (p *condParser) term() (*node, error) {
	left, err := p.factor()
	if err != nil {
		return nil, err
	}
	kids := []*node{left}
	for strings.EqualFold(p.peek(), "and") {
		p.i++
		r, err := p.factor()
		if err != nil {
			return nil, err
		}
		kids = append(kids, r)
	}
	if len(kids) == 1 {
		return left, nil
	}
	return &node{op: opAnd, kids: kids}, nil
}

func (p *condParser) factor() (*node, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("condition ends early")
	case strings.EqualFold(t, "not"):
		p.i++
		k, err := p.factor()
		if err != nil {
			return nil, err
		}
		return &node{op: opNot, kids: []*node{k}}, nil
	case t == "(":
		p.i++
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing ')' in condition")
		}
		p.i++
		return n, nil
	case t == ")":
		return nil, fmt.Errorf("unexpected ')' in condition")
	}
	if p.i+1 < len(p.toks) && strings.EqualFold(p.toks[p.i+1], "of") {
		quant := strings.ToLower(t)
		p.i += 2
		target := p.peek()
		if target == "" {
			return nil, fmt.Errorf("'of' needs a target")
		}
		p.i++
		var matched []string
		for _, n := range p.names {
			if target == "them" {
				// "them" excludes identifiers starting with an underscore.
				if !strings.HasPrefix(n, "_") {
					matched = append(matched, n)
				}
				continue
			}
			if ok, _ := path.Match(target, n); ok {
				matched = append(matched, n)
			}
		}
		if len(matched) == 0 {
			return nil, fmt.Errorf("%q matches no search identifier", target)
		}
		sort.Strings(matched)
		kids := make([]*node, len(matched))
		for i, m := range matched {
			kids[i] = &node{op: opSearch, search: indexOf(p.names, m)}
		}
		switch quant {
		case "1", "any":
			return &node{op: opOr, kids: kids}, nil
		case "all":
			return &node{op: opAnd, kids: kids}, nil
		}
		n, err := strconv.Atoi(quant)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("unknown quantifier %q", t)
		}
		return nOf(n, kids), nil
	}
	switch strings.ToLower(t) {
	case "and", "or", "of", "|":
		return nil, fmt.Errorf("unexpected %q in condition", t)
	}
	idx := indexOf(p.names, t)
	if idx < 0 {
		return nil, fmt.Errorf("condition names %q, which the detection does not define", t)
	}
	p.i++
	return &node{op: opSearch, search: idx}, nil
}

// nOf expresses "N of" as an OR over AND-combinations; N>1 is rare and small.
func nOf(n int, kids []*node) *node {
	if n > len(kids) {
		return &node{op: opFalse}
	}
	var combos []*node
	var rec func(start int, chosen []*node)
	rec = func(start int, chosen []*node) {
		if len(combos) > maxExpansions {
			return
		}
		if len(chosen) == n {
			combos = append(combos, &node{op: opAnd, kids: append([]*node(nil), chosen...)})
			return
		}
		for i := start; i < len(kids); i++ {
			rec(i+1, append(chosen, kids[i]))
		}
	}
	rec(0, nil)
	return &node{op: opOr, kids: combos}
}

func indexOf(names []string, n string) int {
	for i, x := range names {
		if x == n {
			return i
		}
	}
	return -1
}

// aggregation is the obsolete "selection | count(field) by group > N"
// condition form, run as a correlation.
type aggregation struct {
	field   string
	groupBy string
	op      string
	value   int
}

// parseAggregation parses the part after '|' in a condition.
func parseAggregation(s string) (*aggregation, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "count(") {
		return nil, unsupported("aggregation %q: only count() is supported", s)
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return nil, unsupported("aggregation %q: missing ')'", s)
	}
	a := &aggregation{field: strings.TrimSpace(s[len("count("):end])}
	rest := strings.Fields(s[end+1:])
	if len(rest) >= 2 && rest[0] == "by" {
		a.groupBy = rest[1]
		rest = rest[2:]
	}
	if len(rest) != 2 {
		return nil, unsupported("aggregation %q: want count() [by field] op N", s)
	}
	switch rest[0] {
	case ">":
		a.op = "gt"
	case ">=":
		a.op = "gte"
	case "=", "==":
		a.op = "eq"
	default:
		return nil, unsupported("aggregation operator %q: only >, >= and = can fire while events arrive", rest[0])
	}
	n, err := strconv.Atoi(rest[1])
	if err != nil {
		return nil, unsupported("aggregation %q: %q is not a number", s, rest[1])
	}
	a.value = n
	return a, nil
}
