package framework

import (
	"strings"
	"testing"
	"testing/fstest"
)

// soc2Criteria is every SOC 2 criterion id with its category, in catalog
// order. It is written out by hand on purpose: the test fails if a criterion
// is dropped, added or moved to the wrong category in the data file.
var soc2Criteria = []struct{ id, category string }{
	{"CC1.1", "security"}, {"CC1.2", "security"}, {"CC1.3", "security"}, {"CC1.4", "security"}, {"CC1.5", "security"},
	{"CC2.1", "security"}, {"CC2.2", "security"}, {"CC2.3", "security"},
	{"CC3.1", "security"}, {"CC3.2", "security"}, {"CC3.3", "security"}, {"CC3.4", "security"},
	{"CC4.1", "security"}, {"CC4.2", "security"},
	{"CC5.1", "security"}, {"CC5.2", "security"}, {"CC5.3", "security"},
	{"CC6.1", "security"}, {"CC6.2", "security"}, {"CC6.3", "security"}, {"CC6.4", "security"},
	{"CC6.5", "security"}, {"CC6.6", "security"}, {"CC6.7", "security"}, {"CC6.8", "security"},
	{"CC7.1", "security"}, {"CC7.2", "security"}, {"CC7.3", "security"}, {"CC7.4", "security"}, {"CC7.5", "security"},
	{"CC8.1", "security"},
	{"CC9.1", "security"}, {"CC9.2", "security"},
	{"A1.1", "availability"}, {"A1.2", "availability"}, {"A1.3", "availability"},
	{"PI1.1", "processing_integrity"}, {"PI1.2", "processing_integrity"}, {"PI1.3", "processing_integrity"},
	{"PI1.4", "processing_integrity"}, {"PI1.5", "processing_integrity"},
	{"C1.1", "confidentiality"}, {"C1.2", "confidentiality"},
	{"P1.1", "privacy"}, {"P2.1", "privacy"}, {"P3.1", "privacy"}, {"P3.2", "privacy"},
	{"P4.1", "privacy"}, {"P4.2", "privacy"}, {"P4.3", "privacy"},
	{"P5.1", "privacy"}, {"P5.2", "privacy"},
	{"P6.1", "privacy"}, {"P6.2", "privacy"}, {"P6.3", "privacy"}, {"P6.4", "privacy"},
	{"P6.5", "privacy"}, {"P6.6", "privacy"}, {"P6.7", "privacy"},
	{"P7.1", "privacy"}, {"P8.1", "privacy"},
}

func soc2(t testing.TB) *Framework {
	t.Helper()
	c, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	f, ok := c.Framework(SOC2)
	if !ok {
		t.Fatalf("framework %q not in builtin catalog", SOC2)
	}
	return f
}

func TestSOC2Criteria(t *testing.T) {
	f := soc2(t)
	if f.Name != "SOC 2 Trust Services Criteria" {
		t.Errorf("name = %q", f.Name)
	}
	if len(soc2Criteria) != 61 {
		t.Fatalf("test table has %d criteria, want 61", len(soc2Criteria))
	}
	if len(f.Criteria) != len(soc2Criteria) {
		t.Errorf("framework has %d criteria, want %d", len(f.Criteria), len(soc2Criteria))
	}
	for i, want := range soc2Criteria {
		c, ok := f.Criterion(want.id)
		if !ok {
			t.Errorf("criterion %s missing", want.id)
			continue
		}
		if c.Category != want.category {
			t.Errorf("criterion %s: category %q, want %q", want.id, c.Category, want.category)
		}
		if i < len(f.Criteria) && f.Criteria[i].ID != want.id {
			t.Errorf("criterion #%d is %s, want %s (catalog order)", i+1, f.Criteria[i].ID, want.id)
		}
		// The group is the id's prefix before the dot: CC6.1 -> CC6.
		if wantGroup, _, _ := strings.Cut(want.id, "."); c.Group != wantGroup {
			t.Errorf("criterion %s: group %q, want %q", want.id, c.Group, wantGroup)
		}
		if idx, ok := f.CriterionIndex(want.id); !ok || f.Criteria[idx].ID != want.id {
			t.Errorf("CriterionIndex(%s) = %d, %v", want.id, idx, ok)
		}
	}
	if _, ok := f.Criterion("CC10.1"); ok {
		t.Error("Criterion(CC10.1) found a criterion that does not exist")
	}
}

func TestSOC2Categories(t *testing.T) {
	f := soc2(t)
	want := []struct {
		id       string
		required bool
	}{
		{"security", true}, {"availability", false}, {"processing_integrity", false},
		{"confidentiality", false}, {"privacy", false},
	}
	if len(f.Categories) != len(want) {
		t.Fatalf("%d categories, want %d", len(f.Categories), len(want))
	}
	for _, w := range want {
		c, ok := f.Category(w.id)
		if !ok {
			t.Errorf("category %s missing", w.id)
			continue
		}
		if c.Required != w.required {
			t.Errorf("category %s: required = %v, want %v", w.id, c.Required, w.required)
		}
		if c.Name == "" || c.Summary == "" {
			t.Errorf("category %s: empty name or summary", w.id)
		}
	}
	// Every category has at least one criterion, and every group is used.
	perCategory := map[string]int{}
	perGroup := map[string]int{}
	for _, c := range f.Criteria {
		perCategory[c.Category]++
		perGroup[c.Group]++
	}
	for _, c := range f.Categories {
		if perCategory[c.ID] == 0 {
			t.Errorf("category %s has no criteria", c.ID)
		}
	}
	for _, g := range f.Groups {
		if perGroup[g.ID] == 0 {
			t.Errorf("group %s has no criteria", g.ID)
		}
	}
	if g, ok := f.Group("CC6"); !ok || g.Name != "Logical and physical access controls" {
		t.Errorf("Group(CC6) = %+v, %v", g, ok)
	}
}

// TestSOC2TextIsUseful catches placeholder or copy-paste text in the data:
// each criterion's description and guidance must be distinct and of some
// substance.
func TestSOC2TextIsUseful(t *testing.T) {
	f := soc2(t)
	seen := map[string]string{}
	for _, c := range f.Criteria {
		for _, text := range []string{c.Description, c.Guidance} {
			if len(text) < 60 {
				t.Errorf("criterion %s: text too short to be useful: %q", c.ID, text)
			}
			if other, dup := seen[text]; dup {
				t.Errorf("criterion %s repeats text of %s", c.ID, other)
			}
			seen[text] = c.ID
		}
	}
}

func TestCatalog(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Builtin()
	if c != again {
		t.Error("Builtin parsed the files twice")
	}
	if fs := c.Frameworks(); len(fs) == 0 || fs[0].ID == "" {
		t.Errorf("Frameworks() = %v", fs)
	}
	if _, ok := c.Framework("nope"); ok {
		t.Error("Framework(nope) found something")
	}
}

const validFile = `
id: tiny
name: Tiny framework
version: "1"
categories:
  - {id: security, name: Security, summary: Always., required: true}
groups:
  - {id: G1, name: Group one}
criteria:
  - id: G1.1
    category: security
    group: G1
    title: T
    description: D
    guidance: G
    evidence: [E]
`

func TestParseRejectsBadData(t *testing.T) {
	if _, err := Parse([]byte(validFile)); err != nil {
		t.Fatalf("valid file rejected: %v", err)
	}
	tests := []struct {
		name    string
		from    string // replaced in validFile
		to      string
		wantErr string
	}{
		{"duplicate criterion", "criteria:\n", "criteria:\n  - {id: G1.1, category: security, group: G1, title: T, description: D, guidance: G, evidence: [E]}\n", "criterion G1.1: duplicate id"},
		{"unknown category", "    category: security\n", "    category: secrecy\n", `criterion G1.1: unknown category "secrecy"`},
		{"unknown group", "    group: G1\n", "    group: G9\n", `criterion G1.1: unknown group "G9"`},
		{"empty title", "    title: T\n", "    title: \"\"\n", "criterion G1.1: missing title"},
		{"empty description", "    description: D\n", "    description: \" \"\n", "criterion G1.1: missing description"},
		{"empty guidance", "    guidance: G\n", "    guidance: \"\"\n", "criterion G1.1: missing guidance"},
		{"no evidence", "    evidence: [E]\n", "    evidence: []\n", "criterion G1.1: no evidence items"},
		{"duplicate category", "categories:\n", "categories:\n  - {id: security, name: S, summary: S}\n", "category security: duplicate id"},
		{"unknown field", "    title: T\n", "    title: T\n    titel: T\n", "field titel not found"},
		{"missing id", "id: tiny\n", "", "missing id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(validFile, tt.from) {
				t.Fatalf("fixture does not contain %q", tt.from)
			}
			_, err := Parse([]byte(strings.Replace(validFile, tt.from, tt.to, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadNamesTheBadFile(t *testing.T) {
	fsys := fstest.MapFS{
		"good.yaml": {Data: []byte(validFile)},
		"bad.yaml":  {Data: []byte(strings.Replace(validFile, "id: tiny", "id: other\nname2: x", 1))},
	}
	_, err := Load(fsys)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("Load error = %v, want it to name bad.yaml", err)
	}
	dup := fstest.MapFS{"a.yaml": {Data: []byte(validFile)}, "b.yaml": {Data: []byte(validFile)}}
	if _, err := Load(dup); err == nil || !strings.Contains(err.Error(), `"tiny" already defined`) {
		t.Errorf("Load duplicate error = %v", err)
	}
	if _, err := Load(fstest.MapFS{}); err == nil {
		t.Error("Load of an empty folder succeeded")
	}
}
