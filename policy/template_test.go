package policy

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"
)

func TestTemplatesCoverTheProgramme(t *testing.T) {
	ts, err := Templates()
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) < 22 {
		t.Fatalf("%d templates, want at least 22", len(ts))
	}
	want := []string{"information-security", "acceptable-use", "access-control", "asset-management", "business-continuity",
		"backup", "change-management", "code-of-conduct", "data-classification", "data-retention", "encryption",
		"incident-response", "logging-monitoring", "network-security", "password-authentication", "physical-security",
		"privacy", "risk-management", "secure-development", "vendor-management", "vulnerability-management", "hr-security"}
	for _, id := range want {
		tpl, err := TemplateByID(id)
		if err != nil {
			t.Errorf("template %s: %v", id, err)
			continue
		}
		body := tpl.Fill(map[string]string{"company": "Acme", "owner": "Ana", "owner_email": "ana@acme.example",
			"security_contact": "security@acme.example", "review_cadence": "at least once a year", "effective_date": "1 March 2026"})
		if strings.Contains(body, "{{") {
			t.Errorf("template %s: unfilled placeholder left in %q", id, body[strings.Index(body, "{{"):][:40])
		}
		if !strings.Contains(body, "Acme") {
			t.Errorf("template %s never names the company", id)
		}
		html, err := RenderHTML(body)
		if err != nil || !strings.Contains(string(html), "<h2") {
			t.Errorf("template %s renders without sections: %v", id, err)
		}
	}
	if _, err := TemplateByID("no-such-policy"); err == nil || !strings.Contains(err.Error(), "template_id") {
		t.Errorf("unknown template: %v", err)
	}
}

// TestFillIsLiteral: an organisation name full of Markdown and HTML reads
// as text, adds no markup, and cannot smuggle a script into the page.
func TestFillIsLiteral(t *testing.T) {
	tpl, err := TemplateByID("acceptable-use")
	if err != nil {
		t.Fatal(err)
	}
	evil := "Evil <script>alert(1)</script> *Corp* [x](javascript:alert(1))\n# Heading"
	body := tpl.Fill(map[string]string{"company": evil})
	html, err := RenderHTML(body)
	if err != nil {
		t.Fatal(err)
	}
	s := string(html)
	for _, bad := range []string{"<script", "<em>Corp", `href="javascript`, "<h1>Heading"} {
		if strings.Contains(s, bad) {
			t.Errorf("filled template renders %q:\n%s", bad, s[:min(len(s), 600)])
		}
	}
	if !strings.Contains(s, "Evil &lt;script&gt;alert(1)&lt;/script&gt; *Corp*") {
		t.Errorf("company name not shown literally:\n%s", s[:min(len(s), 600)])
	}
	if got := tpl.Fill(map[string]string{"company": "", "nothing": "x"}); !strings.Contains(got, "{{company}}") {
		t.Error("an empty value should leave the placeholder for the author to see")
	}
}

func TestRawHTMLIsDropped(t *testing.T) {
	html, err := RenderHTML("# T\n\n<img src=x onerror=alert(1)>\n\nText <b onclick=x>bold</b> and [link](javascript:alert(1)).\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<img", "onerror", "onclick", "javascript:"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("rendered %q: %s", bad, html)
		}
	}
}

func TestLoadTemplatesRejectsBadData(t *testing.T) {
	body := "# Title\n\n" + strings.Repeat("word ", 310) + "\n"
	good := "---\nid: one\ntitle: One\nsummary: s\ncontrols: [AC-01]\ncriteria: [CC6.1]\n---\n" + body
	known := func(s string) bool { return s == "AC-01" || s == "CC6.1" }
	if _, err := loadTemplates(fstest.MapFS{"one.md": {Data: []byte(good)}}, known, known); err != nil {
		t.Fatalf("good template refused: %v", err)
	}
	cases := map[string]string{
		"no front matter":      body,
		"unclosed":             "---\nid: one\n" + body,
		"unknown field":        strings.Replace(good, "summary: s", "summary: s\ncolour: red", 1),
		"bad id":               strings.Replace(good, "id: one", "id: One Policy", 1),
		"unknown control":      strings.Replace(good, "[AC-01]", "[ZZ-99]", 1),
		"unknown criterion":    strings.Replace(good, "[CC6.1]", "[CC99.9]", 1),
		"no controls":          strings.Replace(good, "[AC-01]", "[]", 1),
		"unknown placeholder":  strings.Replace(good, "# Title", "# Title\n\n{{mystery}}", 1),
		"too short":            strings.Replace(good, body, "# Title\n\nShort.\n", 1),
		"no heading":           strings.Replace(good, "# Title", "Title", 1),
		"shadowed standard":    strings.Replace(good, "criteria: [CC6.1]", "criteria: [CC6.1]\nvariables:\n  company: x", 1),
		"missing summary":      strings.Replace(good, "summary: s\n", "", 1),
		"duplicate ids (pair)": "",
	}
	for name, data := range cases {
		fs := fstest.MapFS{"bad.md": {Data: []byte(data)}}
		if name == "duplicate ids (pair)" {
			fs = fstest.MapFS{"a.md": {Data: []byte(good)}, "b.md": {Data: []byte(good)}}
		}
		if _, err := loadTemplates(fs, known, known); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDiff(t *testing.T) {
	cases := []struct {
		a, b string
		add  int
		del  int
	}{
		{"", "", 0, 0},
		{"a\nb\nc\n", "a\nb\nc\n", 0, 0},
		{"", "a\nb\n", 2, 0},
		{"a\nb\n", "", 0, 2},
		{"a\nb\nc\n", "a\nx\nc\n", 1, 1},
		{"a\nb\nc\nd\n", "a\nc\nd\ne\n", 1, 1},
		{"x\na\nb\n", "a\nb\ny\n", 1, 1},
		{"a\nb\nc\na\nb\nb\na\n", "c\nb\na\nb\na\nc\n", 3, 4}, // Myers' paper example, D = 5... in lines
	}
	for _, c := range cases {
		d := Diff(c.a, c.b)
		checkDiff(t, c.a, c.b, d)
		add, del := DiffStats(d)
		if c.a == "a\nb\nc\na\nb\nb\na\n" {
			if add+del != 5 {
				t.Errorf("Myers example: %d edits, want 5", add+del)
			}
			continue
		}
		if add != c.add || del != c.del {
			t.Errorf("Diff(%q, %q): +%d -%d, want +%d -%d", c.a, c.b, add, del, c.add, c.del)
		}
	}
}

// TestDiffIsShortest compares the number of edits with an LCS computed by
// dynamic programming on random small texts, and checks both texts can
// be rebuilt from the diff.
func TestDiffIsShortest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() string {
		n := r.IntN(12)
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%c\n", 'a'+r.IntN(4))
		}
		return b.String()
	}
	for i := 0; i < 2000; i++ {
		a, b := gen(), gen()
		d := Diff(a, b)
		checkDiff(t, a, b, d)
		add, del := DiffStats(d)
		la, lb := splitLines(a), splitLines(b)
		lcs := lcsLen(la, lb)
		if want := len(la) + len(lb) - 2*lcs; add+del != want {
			t.Fatalf("Diff(%q, %q): %d edits, shortest is %d", a, b, add+del, want)
		}
	}
}

func TestDiffLargeFallsBackCorrectly(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&a, "old line %d\n", i)
		fmt.Fprintf(&b, "new line %d\n", i)
	}
	d := Diff(a.String(), b.String())
	checkDiff(t, a.String(), b.String(), d)
}

func checkDiff(t *testing.T, a, b string, d []DiffLine) {
	t.Helper()
	var old, nw []string
	for _, l := range d {
		switch l.Op {
		case OpSame:
			old, nw = append(old, l.Text), append(nw, l.Text)
		case OpDelete:
			old = append(old, l.Text)
		case OpAdd:
			nw = append(nw, l.Text)
		}
	}
	if strings.Join(old, "\n") != strings.Join(splitLines(a), "\n") || strings.Join(nw, "\n") != strings.Join(splitLines(b), "\n") {
		t.Fatalf("diff does not rebuild the texts:\na=%q\nb=%q\nd=%v", a, b, d)
	}
}

func lcsLen(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}
