package sigma

import (
	"strings"
	"testing"

	"github.com/attest-hq/attest/detect/event"
)

// ctEvent builds a CloudTrail-like event from path/value pairs.
func ctEvent(raw string, kv ...string) *event.Event {
	ev := &event.Event{Source: event.SourceCloudTrail, Raw: []byte(raw)}
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Add(kv[i], []byte(kv[i+1]))
	}
	return ev
}

func mustRule(t *testing.T, detection string) (*RuleSet, *Rule) {
	t.Helper()
	src := "title: test\nid: t1\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n" + detection
	rs := NewRuleSet()
	rs.Add("test.yml", []byte(src))
	if len(rs.Problems) > 0 {
		t.Fatalf("rule does not load: %s\n%s", rs.Problems[0].Reason, src)
	}
	rs.Compile()
	return rs, rs.Rules[0]
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestModifiers(t *testing.T) {
	cases := []struct {
		name string
		sel  string // the selection body (fields)
		kv   []string
		raw  string
		want bool
	}{
		{"exact case-insensitive", "eventName: StopLogging", []string{"eventName", "stoplogging"}, "", true},
		{"exact differs", "eventName: StopLogging", []string{"eventName", "StartLogging"}, "", false},
		{"list is OR", "eventName: [A, B]", []string{"eventName", "b"}, "", true},
		{"wildcard prefix", "eventName: 'Stop*'", []string{"eventName", "StopLogging"}, "", true},
		{"wildcard middle", "userAgent: 'aws-cli*Linux*'", []string{"userAgent", "aws-cli/2 Python Linux/5"}, "", true},
		{"wildcard middle no", "userAgent: 'aws-cli*Linux*'", []string{"userAgent", "aws-cli/2 Windows"}, "", false},
		{"question mark", "eventName: 'Stop?ogging'", []string{"eventName", "StopLogging"}, "", true},
		{"escaped star is literal", `eventName: 'a\*b'`, []string{"eventName", "a*b"}, "", true},
		{"escaped star not wildcard", `eventName: 'a\*b'`, []string{"eventName", "axxb"}, "", false},
		{"contains", "userAgent|contains: Kali", []string{"userAgent", "x kali y"}, "", true},
		{"contains no", "userAgent|contains: Kali", []string{"userAgent", "parrot"}, "", false},
		{"startswith", "eventName|startswith: Delete", []string{"eventName", "DeleteTrail"}, "", true},
		{"startswith no", "eventName|startswith: Delete", []string{"eventName", "UndeleteTrail"}, "", false},
		{"endswith", "eventName|endswith: Trail", []string{"eventName", "DeleteTrail"}, "", true},
		{"endswith no", "eventName|endswith: Trail", []string{"eventName", "TrailDelete"}, "", false},
		{"all", "cmd|contains|all: [curl, '| sh']", []string{"cmd", "curl x | sh"}, "", true},
		{"all missing one", "cmd|contains|all: [curl, '| sh']", []string{"cmd", "curl x"}, "", false},
		{"cased", "eventName|cased: StopLogging", []string{"eventName", "stoplogging"}, "", false},
		{"cased match", "eventName|cased: StopLogging", []string{"eventName", "StopLogging"}, "", true},
		{"re", "eventName|re: '^(Stop|Delete)Trail$'", []string{"eventName", "DeleteTrail"}, "", true},
		{"re is case-sensitive", "eventName|re: '^deletetrail$'", []string{"eventName", "DeleteTrail"}, "", false},
		{"re i", "eventName|re|i: '^deletetrail$'", []string{"eventName", "DeleteTrail"}, "", true},
		{"cidr v4", "sourceIPAddress|cidr: 10.0.0.0/8", []string{"sourceIPAddress", "10.1.2.3"}, "", true},
		{"cidr v4 no", "sourceIPAddress|cidr: 10.0.0.0/8", []string{"sourceIPAddress", "11.1.2.3"}, "", false},
		{"cidr v6", "sourceIPAddress|cidr: '2001:db8::/32'", []string{"sourceIPAddress", "2001:db8::1"}, "", true},
		{"cidr not an ip", "sourceIPAddress|cidr: 10.0.0.0/8", []string{"sourceIPAddress", "s3.amazonaws.com"}, "", false},
		{"base64", "data|base64: 'cmd'", []string{"data", "Y21k"}, "", true},
		{"base64offset contains", "data|base64offset|contains: 'http://'", []string{"data", "ZWNobyBodHRwOi8vZXZpbA=="}, "", true},
		{"base64offset contains no", "data|base64offset|contains: 'http://'", []string{"data", "ZWNobyBmdHA6Ly9ldmls"}, "", false},
		{"utf16le base64", "data|utf16le|base64: 'ab'", []string{"data", "YQBiAA=="}, "", true},
		{"windash", "cmd|windash|contains: ' -enc '", []string{"cmd", "powershell /enc AAA"}, "", true},
		{"windash en dash", "cmd|windash|contains: ' -enc '", []string{"cmd", "powershell \u2013enc AAA"}, "", true},
		{"exists true", "errorCode|exists: true", []string{"errorCode", "AccessDenied"}, "", true},
		{"exists true missing", "errorCode|exists: true", []string{"eventName", "x"}, "", false},
		{"exists false", "errorCode|exists: false", []string{"eventName", "x"}, "", true},
		{"gt", "code|gt: 400", []string{"code", "403"}, "", true},
		{"gt no", "code|gt: 400", []string{"code", "400"}, "", false},
		{"gte", "code|gte: 400", []string{"code", "400"}, "", true},
		{"lt", "code|lt: 400", []string{"code", "200"}, "", true},
		{"lte no", "code|lte: 400", []string{"code", "401"}, "", false},
		{"gt not a number", "code|gt: 400", []string{"code", "abc"}, "", false},
		{"fieldref equal", "userIdentity.arn|fieldref: requestParameters.roleArn", []string{"userIdentity.arn", "arn:a", "requestParameters.roleArn", "ARN:A"}, "", true},
		{"fieldref differs", "userIdentity.arn|fieldref: requestParameters.roleArn", []string{"userIdentity.arn", "arn:a", "requestParameters.roleArn", "arn:b"}, "", false},
		{"neq", "eventName|neq: StopLogging", []string{"eventName", "StartLogging"}, "", true},
		{"neq no", "eventName|neq: StopLogging", []string{"eventName", "StopLogging"}, "", false},
		{"null absent", "errorCode: null", []string{"eventName", "x"}, "", true},
		{"null present", "errorCode: null", []string{"errorCode", "x"}, "", false},
		{"empty string", "errorCode: ''", []string{"errorCode", ""}, "", true},
		{"number as text", "a0: 4", []string{"a0", "4"}, "", true},
		{"field names ignore case", "protoPayload.Servicename: x", []string{"protoPayload.serviceName", "X"}, "", true},
		{"array element", "target.displayName: Bob", []string{"target.displayName", "Alice", "target.displayName", "bob"}, "", true},
		{"keyword", "- 'stack smashing'", nil, "foo Stack Smashing detected", true},
		{"keyword wildcard", "- 'chown root*chmod 4777 '", nil, "x chown root; chmod 4777 y", true},
		{"keyword no", "- 'stack smashing'", nil, "nothing here", false},
		{"keyword all", "'|all':\n  - truncate\n  - '-s'", nil, "truncate -s 10M f", true},
		{"keyword all missing", "'|all':\n  - truncate\n  - '-s'", nil, "truncate f", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := indent(c.sel)
			if !strings.HasPrefix(c.sel, "- ") {
				body = indent(c.sel)
			}
			rs, r := mustRule(t, "  selection:\n"+indent(body)+"  condition: selection\n")
			ev := ctEvent(c.raw, c.kv...)
			if got := rs.NewMatcher().MatchRule(r, ev); got != c.want {
				t.Errorf("match = %v, want %v", got, c.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	searches := "  sel_a:\n    a: 1\n  sel_b:\n    b: 1\n  filter_c:\n    c: 1\n  _hidden:\n    d: 1\n"
	cases := []struct {
		cond string
		kv   []string
		want bool
	}{
		{"sel_a", []string{"a", "1"}, true},
		{"sel_a and sel_b", []string{"a", "1"}, false},
		{"sel_a and sel_b", []string{"a", "1", "b", "1"}, true},
		{"sel_a or sel_b", []string{"b", "1"}, true},
		{"not sel_a", []string{"b", "1"}, true},
		{"not sel_a", []string{"a", "1"}, false},
		{"sel_a and not filter_c", []string{"a", "1", "c", "1"}, false},
		{"sel_a and not filter_c", []string{"a", "1"}, true},
		{"(sel_a or sel_b) and not filter_c", []string{"b", "1"}, true},
		{"sel_a or sel_b and filter_c", []string{"a", "1"}, true}, // and binds tighter
		{"(sel_a or sel_b) and filter_c", []string{"a", "1"}, false},
		{"1 of sel_*", []string{"b", "1"}, true},
		{"1 of sel_*", []string{"c", "1"}, false},
		{"all of sel_*", []string{"a", "1"}, false},
		{"all of sel_*", []string{"a", "1", "b", "1"}, true},
		{"1 of them", []string{"c", "1"}, true},
		{"1 of them", []string{"d", "1"}, false}, // _hidden is not part of them
		{"all of them", []string{"a", "1", "b", "1", "c", "1"}, true},
		{"all of them", []string{"a", "1", "b", "1"}, false},
		{"not 1 of filter_*", []string{"a", "1"}, true},
		{"2 of them", []string{"a", "1", "c", "1"}, true},
		{"2 of them", []string{"a", "1"}, false},
		{"sel_a and (sel_b or (filter_c and not _hidden))", []string{"a", "1", "c", "1"}, true},
		{"sel_a and (sel_b or (filter_c and not _hidden))", []string{"a", "1", "c", "1", "d", "1"}, false},
	}
	for _, c := range cases {
		t.Run(c.cond, func(t *testing.T) {
			rs, r := mustRule(t, searches+"  condition: "+c.cond+"\n")
			if got := rs.NewMatcher().MatchRule(r, ctEvent("", c.kv...)); got != c.want {
				t.Errorf("%v: match = %v, want %v", c.kv, got, c.want)
			}
		})
	}
}

func TestListOfMaps(t *testing.T) {
	rs, r := mustRule(t, "  selection:\n    - eventName: A\n      errorCode: x\n    - eventName: B\n  condition: selection\n")
	m := rs.NewMatcher()
	for _, c := range []struct {
		kv   []string
		want bool
	}{{[]string{"eventName", "A"}, false}, {[]string{"eventName", "A", "errorCode", "x"}, true}, {[]string{"eventName", "B"}, true}} {
		if got := m.MatchRule(r, ctEvent("", c.kv...)); got != c.want {
			t.Errorf("%v = %v", c.kv, got)
		}
	}
}

func TestUnsupportedAndBadRules(t *testing.T) {
	head := "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\n"
	cases := []struct {
		name, src, reason string
	}{
		{"unknown modifier", head + "detection:\n  s:\n    a|frobnicate: x\n  condition: s\n", `unknown modifier "frobnicate"`},
		{"expand", head + "detection:\n  s:\n    a|expand: '%x%'\n  condition: s\n", "expand"},
		{"backreference", head + "detection:\n  s:\n    a|re: '(a)\\1'\n  condition: s\n", "regular expression"},
		{"lookahead", head + "detection:\n  s:\n    a|re: 'a(?=b)'\n  condition: s\n", "regular expression"},
		{"undefined search", head + "detection:\n  s:\n    a: x\n  condition: s and t\n", "does not define"},
		{"unknown logsource", "title: t\nlogsource:\n  product: windows\n  service: security\ndetection:\n  s:\n    a: 1\n  condition: s\n", "no reader"},
		{"linux category", "title: t\nlogsource:\n  product: linux\n  category: process_creation\ndetection:\n  s:\n    a: 1\n  condition: s\n", "endpoint telemetry"},
		{"temporal correlation", "title: t\ncorrelation:\n  type: temporal\n  rules: [a]\n  group-by: [x]\n  timespan: 5m\n", "temporal"},
		{"huge windash", head + "detection:\n  s:\n    a|windash: '-a -b -c -d -e -f'\n  condition: s\n", "windash"},
		{"near aggregation", head + "detection:\n  s:\n    a: 1\n  condition: s | near t\n", "count()"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := NewRuleSet()
			rs.Add("r.yml", []byte(c.src))
			if len(rs.Problems) != 1 {
				t.Fatalf("problems = %v", rs.Problems)
			}
			if p := rs.Problems[0]; !strings.Contains(p.Reason, c.reason) || !p.Unsupported {
				t.Errorf("problem = %+v, want reason containing %q", p, c.reason)
			}
		})
	}
}

func TestYAMLBomb(t *testing.T) {
	bomb := `title: bomb
logsource: {product: aws, service: cloudtrail}
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
detection:
  s:
    eventName: *g
  condition: s
`
	rs := NewRuleSet()
	rs.Add("bomb.yml", []byte(bomb))
	if len(rs.Problems) != 1 {
		t.Fatalf("problems = %+v", rs.Problems)
	}
	t.Log(rs.Problems[0].Reason)
}

func TestAggregationAndCorrelation(t *testing.T) {
	rs := NewRuleSet()
	rs.Add("agg.yml", []byte(`title: many downloads
id: agg
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: GetObject
  timeframe: 10m
  condition: s | count() by userIdentity.arn > 2
`))
	rs.Add("corr.yml", []byte(`title: failed logins
name: failed_login
logsource: {product: aws, service: cloudtrail}
detection:
  s:
    eventName: ConsoleLogin
    errorCode|exists: true
  condition: s
---
title: brute force
id: bf
correlation:
  type: value_count
  rules: [failed_login]
  group-by: [sourceIPAddress]
  timespan: 1h
  condition:
    field: userIdentity.userName
    gte: 2
`))
	if len(rs.Problems) > 0 {
		t.Fatal(rs.Problems)
	}
	rs.Compile()
	if len(rs.Correlations) != 2 {
		t.Fatalf("correlations = %d", len(rs.Correlations))
	}
	m := rs.NewMatcher()
	co := NewCorrelator()
	fires := 0
	for i := 0; i < 4; i++ {
		ev := ctEvent("", "eventName", "GetObject", "userIdentity.arn", "alice")
		for _, r := range m.Match(ev) {
			if !r.OnlyCorrelated {
				t.Errorf("aggregated rule should only feed the correlation")
			}
			fires += len(co.Observe(r, ev, nil))
		}
	}
	if fires != 1 {
		t.Errorf("count() > 2 fired %d times over 4 events, want 1", fires)
	}
	fires = 0
	for _, user := range []string{"a", "a", "b"} {
		ev := ctEvent("", "eventName", "ConsoleLogin", "errorCode", "x", "sourceIPAddress", "1.2.3.4", "userIdentity.userName", user)
		for _, r := range m.Match(ev) {
			for _, f := range co.Observe(r, ev, nil) {
				fires++
				if f.Count != 2 || f.Group != "sourceIPAddress=1.2.3.4" {
					t.Errorf("firing = %+v", f)
				}
			}
		}
	}
	if fires != 1 {
		t.Errorf("value_count fired %d times, want 1", fires)
	}
}

func TestRegexpPrefilter(t *testing.T) {
	cases := map[string]string{
		`.+:assumed-role/aws:.+`: ":assumed-role/aws:",
		`^foo.*bar$`:             "foo|bar",
		`(?i)foo`:                "",
		`a|bc`:                   "",
		`x(ab|cd)yz`:             "yz",
	}
	for expr, want := range cases {
		var got []string
		for _, l := range requiredLiterals(expr) {
			got = append(got, string(l))
		}
		if strings.Join(got, "|") != want {
			t.Errorf("requiredLiterals(%q) = %q, want %q", expr, got, want)
		}
	}
	// The prefilter never changes the answer.
	rs, r := mustRule(t, "  s:\n    userIdentity.arn|re: '.+:assumed-role/aws:.+'\n  condition: s\n")
	m := rs.NewMatcher()
	for v, want := range map[string]bool{"arn:aws:sts::1:assumed-role/aws:x/y": true, "arn:aws:sts::1:assumed-role/app/y": false, ":assumed-role/aws:": false} {
		if got := m.MatchRule(r, ctEvent("", "userIdentity.arn", v)); got != want {
			t.Errorf("%s: %v", v, got)
		}
	}
}
