package control

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/attest-hq/attest/framework"
)

func mustLibrary(t testing.TB) []Template {
	t.Helper()
	lib, err := Library()
	if err != nil {
		t.Fatalf("Library: %v", err)
	}
	return lib
}

func mustSOC2(t testing.TB) *framework.Framework {
	t.Helper()
	c, err := framework.Builtin()
	if err != nil {
		t.Fatalf("framework.Builtin: %v", err)
	}
	f, ok := c.Framework(framework.SOC2)
	if !ok {
		t.Fatal("soc2 framework missing")
	}
	return f
}

func TestLibraryTemplates(t *testing.T) {
	lib := mustLibrary(t)
	if len(lib) < 90 {
		t.Errorf("library has %d controls, want at least 90", len(lib))
	}
	soc2 := mustSOC2(t)
	codes := map[string]bool{}
	for _, tpl := range lib {
		t.Run(tpl.Code, func(t *testing.T) {
			if codes[tpl.Code] {
				t.Errorf("code %s used twice", tpl.Code)
			}
			codes[tpl.Code] = true
			for _, f := range []struct{ name, value string }{
				{"code", tpl.Code}, {"title", tpl.Title}, {"description", tpl.Description},
				{"test_procedure", tpl.TestProcedure}, {"owner_role", tpl.OwnerRole}, {"area", tpl.Area},
			} {
				if strings.TrimSpace(f.value) == "" {
					t.Errorf("empty %s", f.name)
				}
			}
			if len(tpl.Evidence) == 0 {
				t.Error("no evidence items")
			}
			if _, err := ParseFrequency(string(tpl.Frequency)); err != nil {
				t.Errorf("frequency %q: %v", tpl.Frequency, err)
			}
			if len(tpl.Criteria) == 0 {
				t.Error("maps to no criteria")
			}
			for _, id := range tpl.Criteria {
				if _, ok := soc2.Criterion(id); !ok {
					t.Errorf("criterion %q is not a SOC 2 criterion", id)
				}
			}
		})
	}
}

// TestLibraryCoversEverySOC2Criterion is what lets an organisation that adopts
// the whole library reach full coverage of any category it puts in scope.
func TestLibraryCoversEverySOC2Criterion(t *testing.T) {
	lib := mustLibrary(t)
	soc2 := mustSOC2(t)
	coveredBy := map[string][]string{}
	for _, tpl := range lib {
		for _, id := range tpl.Criteria {
			coveredBy[id] = append(coveredBy[id], tpl.Code)
		}
	}
	if len(soc2.Criteria) != 61 {
		t.Errorf("soc2 has %d criteria, want 61", len(soc2.Criteria))
	}
	var uncovered []string
	for _, c := range soc2.Criteria {
		if len(coveredBy[c.ID]) == 0 {
			uncovered = append(uncovered, c.ID)
		}
	}
	if len(uncovered) > 0 {
		t.Errorf("no library control covers %s", strings.Join(uncovered, ", "))
	}
}

// TestLibraryHasTheEssentials pins the controls any SOC 2 auditor expects, by
// a word from their title, so that a rewrite of the library cannot drop one.
func TestLibraryHasTheEssentials(t *testing.T) {
	lib := mustLibrary(t)
	tests := []struct {
		name      string
		code      string
		titleHas  string
		frequency Frequency
	}{
		{"MFA enforced", "AC-02", "Multi-factor", FrequencyContinuous},
		{"quarterly access reviews", "AC-05", "access reviews", FrequencyQuarterly},
		{"offboarding within 24 h", "AC-04", "24 hours", FrequencyOnEvent},
		{"encryption at rest", "AC-10", "at rest", FrequencyContinuous},
		{"encryption in transit", "AC-11", "in transit", FrequencyContinuous},
		{"backups taken", "AV-03", "Backups", FrequencyDaily},
		{"restore tested", "AV-04", "restore tested", FrequencyQuarterly},
		{"change reviewed before merge", "CM-02", "reviewed before merge", FrequencyContinuous},
		{"vulnerability scanning", "OP-03", "vulnerability scanning", FrequencyWeekly},
		{"yearly penetration test", "OP-06", "penetration test", FrequencyYearly},
		{"incident response plan tested", "IR-02", "tested yearly", FrequencyYearly},
		{"vendor reviews", "VN-03", "reviewed yearly", FrequencyYearly},
		{"security awareness training", "HR-02", "awareness training", FrequencyYearly},
		{"background checks", "HR-01", "Background checks", FrequencyOnEvent},
		{"yearly risk assessment", "RA-01", "risk assessment", FrequencyYearly},
		{"logging", "OP-07", "logging", FrequencyContinuous},
		{"alerting", "OP-08", "alerts", FrequencyContinuous},
	}
	byCode := map[string]Template{}
	for _, tpl := range lib {
		byCode[tpl.Code] = tpl
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, ok := byCode[tt.code]
			if !ok {
				t.Fatalf("control %s missing", tt.code)
			}
			if !strings.Contains(strings.ToLower(tpl.Title), strings.ToLower(tt.titleHas)) {
				t.Errorf("%s title %q does not mention %q", tt.code, tpl.Title, tt.titleHas)
			}
			if tpl.Frequency != tt.frequency {
				t.Errorf("%s frequency %s, want %s", tt.code, tpl.Frequency, tt.frequency)
			}
		})
	}
}

func TestTemplateControl(t *testing.T) {
	lib := mustLibrary(t)
	tpl := lib[0]
	c := tpl.Control()
	if c.Code != tpl.Code || c.Title != tpl.Title || c.Area != tpl.Area || c.Frequency != tpl.Frequency {
		t.Errorf("Control() = %+v, from %+v", c, tpl)
	}
	if c.Status != StatusNotStarted || c.Custom {
		t.Errorf("new control status %s custom %v, want not_started and not custom", c.Status, c.Custom)
	}
	if !slices.Equal(c.Criteria, tpl.Criteria) || !slices.Equal(c.Evidence, tpl.Evidence) {
		t.Error("criteria or evidence not copied")
	}
	c.Criteria[0] = "changed"
	if again := mustLibrary(t); again[0].Criteria[0] == "changed" {
		t.Error("editing a control changed the library")
	}
}

const validLibraryFile = `
area: Testing
controls:
  - code: TS-01
    title: T
    description: D
    test_procedure: P
    evidence: [E]
    owner_role: CTO
    frequency: monthly
    criteria: [CC6.1]
`

func TestLoadLibraryRejectsBadData(t *testing.T) {
	catalog, err := framework.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	load := func(files map[string]string) error {
		fsys := fstest.MapFS{}
		for name, data := range files {
			fsys[name] = &fstest.MapFile{Data: []byte(data)}
		}
		_, err := loadLibrary(fsys, catalog)
		return err
	}
	if err := load(map[string]string{"a.yaml": validLibraryFile}); err != nil {
		t.Fatalf("valid file rejected: %v", err)
	}
	edit := func(from, to string) string {
		if !strings.Contains(validLibraryFile, from) {
			t.Fatalf("fixture does not contain %q", from)
		}
		return strings.Replace(validLibraryFile, from, to, 1)
	}
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"bad frequency", map[string]string{"a.yaml": edit("monthly", "fortnightly")}, `a.yaml: control TS-01: frequency "fortnightly"`},
		{"unknown criterion", map[string]string{"a.yaml": edit("[CC6.1]", "[CC6.9]")}, `control TS-01: unknown criterion "CC6.9"`},
		{"repeated criterion", map[string]string{"a.yaml": edit("[CC6.1]", "[CC6.1, CC6.1]")}, "criterion CC6.1 listed twice"},
		{"no criteria", map[string]string{"a.yaml": edit("[CC6.1]", "[]")}, "maps to no criteria"},
		{"missing title", map[string]string{"a.yaml": edit("title: T", `title: ""`)}, "control TS-01: missing title"},
		{"missing test procedure", map[string]string{"a.yaml": edit("test_procedure: P", "test_procedure: ' '")}, "missing test_procedure"},
		{"missing owner", map[string]string{"a.yaml": edit("owner_role: CTO", `owner_role: ""`)}, "missing owner_role"},
		{"no evidence", map[string]string{"a.yaml": edit("[E]", "[]")}, "no evidence items"},
		{"bad code", map[string]string{"a.yaml": edit("TS-01", "ts1")}, `code "ts1" must look like AC-01`},
		{"missing code", map[string]string{"a.yaml": edit("code: TS-01", `code: ""`)}, "control #1"},
		{"missing area", map[string]string{"a.yaml": edit("area: Testing", "")}, "a.yaml: missing area"},
		{"unknown field", map[string]string{"a.yaml": edit("owner_role:", "owner: x\n    owner_role:")}, "field owner not found"},
		{"duplicate code across files", map[string]string{"a.yaml": validLibraryFile, "b.yaml": validLibraryFile}, "b.yaml: control TS-01: code already used in a.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := load(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
