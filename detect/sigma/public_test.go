package sigma

import (
	"os"
	"path/filepath"
	"testing"
)

// publicRules returns the SigmaHQ rules shipped beside the repository in
// ../shared/sigma (relative to the repository root), or skips the test.
func publicRules(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "..", "shared", "sigma", "rules")); err == nil {
				return filepath.Join(dir, "..", "shared", "sigma", "rules")
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("public SigmaHQ rules not found at ../shared/sigma/rules beside the repository; these tests need them")
		}
		dir = parent
	}
}

func loadPublic(t testing.TB) *RuleSet {
	t.Helper()
	dir := publicRules(t)
	rs := NewRuleSet()
	if err := rs.LoadFS(os.DirFS(dir), "."); err != nil {
		t.Fatal(err)
	}
	rs.Compile()
	return rs
}

func TestPublicRulesLoad(t *testing.T) {
	rs := loadPublic(t)
	ok := 0
	for _, l := range rs.Loaded {
		if l.Problem == nil {
			ok++
		}
	}
	t.Logf("public rules: %d documents, %d run, %d cannot", len(rs.Loaded), ok, len(rs.Problems))
	for _, p := range rs.Problems {
		t.Logf("cannot run %s: %s", p.Path, p.Reason)
	}
	if ok < 150 {
		t.Errorf("only %d public rules load; expected at least 150", ok)
	}
	for _, p := range rs.Problems {
		if !p.Unsupported {
			t.Errorf("rule %s reported invalid, not unsupported: %s", p.Path, p.Reason)
		}
	}
}
