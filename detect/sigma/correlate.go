package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/attest-hq/attest/detect/event"
)

// Correlation is a Sigma correlation rule (event_count or value_count), or
// the obsolete "| count() by X > N" condition of a detection rule, which
// is run the same way.
type Correlation struct {
	// Meta carries the title, level, tags and criteria alerts use.
	Meta     *Rule
	Type     string // event_count or value_count
	RuleRefs []string
	Rules    []*Rule
	GroupBy  []string
	Field    string // value_count: the field whose distinct values count
	Timespan time.Duration
	// Op and Value: the count must be Op (gt, gte, eq) Value.
	Op       string
	Value    int
	Generate bool

	groupKeys []uint64
	fieldKey  uint64
	idx       int
}

// Threshold is the count at which the correlation fires.
func (c *Correlation) Threshold() int {
	if c.Op == "gt" {
		return c.Value + 1
	}
	return c.Value
}

func parseCorrelation(w *yamlWalker, meta *Rule, n *yaml.Node) (*Correlation, error) {
	pairs, err := w.mapping(n)
	if err != nil {
		return nil, fmt.Errorf("correlation: %w", err)
	}
	c := &Correlation{Meta: meta}
	for _, kv := range pairs {
		k, v := kv[0].Value, kv[1]
		switch k {
		case "type":
			c.Type = v.Value
		case "rules":
			if c.RuleRefs, err = w.strings(v); err != nil {
				return nil, fmt.Errorf("correlation rules: %w", err)
			}
		case "group-by":
			if c.GroupBy, err = w.strings(v); err != nil {
				return nil, fmt.Errorf("correlation group-by: %w", err)
			}
		case "timespan", "timeframe":
			if c.Timespan, err = parseTimespan(v.Value); err != nil {
				return nil, fmt.Errorf("correlation: %w", err)
			}
		case "generate":
			c.Generate = v.Value == "true"
		case "aliases":
			return c, unsupported("correlation aliases are not supported")
		case "condition":
			conds, err := w.mapping(v)
			if err != nil {
				return nil, fmt.Errorf("correlation condition: %w", err)
			}
			for _, cv := range conds {
				switch op := cv[0].Value; op {
				case "field":
					c.Field = cv[1].Value
				case "gt", "gte", "eq":
					if c.Op != "" {
						return c, unsupported("correlation ranges (%s and %s) are not supported", c.Op, op)
					}
					n, err := strconv.Atoi(cv[1].Value)
					if err != nil || n < 0 {
						return c, fmt.Errorf("correlation condition %s: %q is not a count", op, cv[1].Value)
					}
					c.Op, c.Value = op, n
				case "lt", "lte", "neq":
					return c, unsupported("correlation condition %s needs the end of a window to decide, which a stream does not have", op)
				default:
					return c, fmt.Errorf("correlation condition: unknown operator %q", op)
				}
			}
		}
	}
	switch c.Type {
	case "event_count", "value_count":
	case "temporal", "temporal_ordered", "value_sum", "value_avg", "value_percentile":
		return c, unsupported("correlation type %s is not supported (event_count and value_count are)", c.Type)
	default:
		return c, fmt.Errorf("correlation type %q unknown", c.Type)
	}
	if len(c.RuleRefs) == 0 || c.Timespan == 0 || c.Op == "" {
		return c, fmt.Errorf("correlation needs rules, timespan and a condition")
	}
	if c.Type == "value_count" && c.Field == "" {
		return c, fmt.Errorf("value_count correlation needs condition.field")
	}
	if c.Threshold() > maxCorrelationCount {
		return c, unsupported("correlation count %d above the supported %d", c.Value, maxCorrelationCount)
	}
	c.prepare()
	return c, nil
}

const (
	maxCorrelationCount = 100_000
	// maxGroups bounds the correlation state: beyond it, expired groups are
	// dropped, then the oldest half.
	maxGroups = 100_000
)

func (c *Correlation) prepare() {
	c.groupKeys = make([]uint64, len(c.GroupBy))
	for i, g := range c.GroupBy {
		c.groupKeys[i] = event.FieldKey(g)
	}
	if c.Field != "" {
		c.fieldKey = event.FieldKey(c.Field)
	}
}

// aggregationCorrelation runs a detection's "| count() by X > N".
func aggregationCorrelation(r *Rule) *Correlation {
	c := &Correlation{Meta: r, Type: "event_count", Rules: []*Rule{r}, Timespan: r.timeframe, Op: r.agg.op, Value: r.agg.value}
	if r.agg.groupBy != "" {
		c.GroupBy = []string{r.agg.groupBy}
	}
	if r.agg.field != "" {
		c.Type, c.Field = "value_count", r.agg.field
	}
	c.prepare()
	return c
}

// Firing is a correlation that reached its threshold.
type Firing struct {
	Correlation *Correlation
	Group       string // the group-by values, "field=value" joined by ", "
	Count       int
	First, Last time.Time
}

// Correlator keeps the per-group windows of correlations. It is not safe
// for concurrent use; the engine feeds it in event order.
type Correlator struct {
	groups map[string]*groupState
	keyBuf []byte
}

type groupState struct {
	times  []time.Time          // event_count: the window's event times, oldest first
	values map[string]time.Time // value_count: last time each value was seen
	last   time.Time
}

// NewCorrelator returns an empty Correlator.
func NewCorrelator() *Correlator {
	return &Correlator{groups: map[string]*groupState{}}
}

// Observe records that rule r matched ev and returns the correlations that
// fire because of it.
func (co *Correlator) Observe(r *Rule, ev *event.Event, out []Firing) []Firing {
	for _, c := range r.correlations {
		if f, ok := co.observe(c, ev); ok {
			out = append(out, f)
		}
	}
	return out
}

func (co *Correlator) observe(c *Correlation, ev *event.Event) (Firing, bool) {
	co.keyBuf = strconv.AppendInt(co.keyBuf[:0], int64(c.idx), 10)
	var group strings.Builder
	for i, k := range c.groupKeys {
		v, _ := ev.Value(k)
		co.keyBuf = append(co.keyBuf, 0)
		co.keyBuf = append(co.keyBuf, v...)
		if i > 0 {
			group.WriteString(", ")
		}
		group.WriteString(c.GroupBy[i])
		group.WriteString("=")
		group.Write(v)
	}
	t := ev.Time
	st := co.groups[string(co.keyBuf)]
	if st == nil {
		if len(co.groups) >= maxGroups {
			co.evict(t)
		}
		st = &groupState{}
		co.groups[string(co.keyBuf)] = st
	}
	// Out-of-order (clock-skewed) events count at the newest time seen.
	if t.Before(st.last) {
		t = st.last
	}
	st.last = t
	from := t.Add(-c.Timespan)
	need := c.Threshold()
	var count int
	var first time.Time
	switch c.Type {
	case "event_count":
		drop := 0
		for drop < len(st.times) && st.times[drop].Before(from) {
			drop++
		}
		st.times = append(st.times[:0], st.times[drop:]...)
		st.times = append(st.times, t)
		if len(st.times) > need {
			st.times = st.times[len(st.times)-need:]
		}
		count, first = len(st.times), st.times[0]
	default:
		v, ok := ev.Value(c.fieldKey)
		if !ok {
			return Firing{}, false
		}
		if st.values == nil {
			st.values = map[string]time.Time{}
		}
		st.values[string(v)] = t
		first = t
		for k, seen := range st.values {
			if seen.Before(from) {
				delete(st.values, k)
				continue
			}
			if seen.Before(first) {
				first = seen
			}
		}
		count = len(st.values)
	}
	fire := false
	switch c.Op {
	case "eq":
		fire = count == c.Value
	default:
		fire = count >= need
	}
	if !fire {
		return Firing{}, false
	}
	// Start over so one burst fires once; the engine groups repeats.
	delete(co.groups, string(co.keyBuf))
	return Firing{Correlation: c, Group: group.String(), Count: count, First: first, Last: t}, true
}

// evict keeps the state bounded: drop groups idle for a day, then half.
func (co *Correlator) evict(now time.Time) {
	for k, st := range co.groups {
		if now.Sub(st.last) > 24*time.Hour {
			delete(co.groups, k)
		}
	}
	if len(co.groups) < maxGroups {
		return
	}
	n := 0
	for k := range co.groups {
		if n%2 == 0 {
			delete(co.groups, k)
		}
		n++
	}
}
