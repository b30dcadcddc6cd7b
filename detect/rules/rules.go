// Package rules is Attest's built-in detection pack: Sigma rules written
// for the alert categories SOC 2 monitoring asks about (data exposure,
// changes to controls and configuration, file transfer, privileged access),
// each tagged with the Trust Services Criteria it evidences (attest.cc7.2
// and so on). They are embedded, so `attest detect` works with no files.
package rules

import (
	"embed"
	"fmt"

	"github.com/attest-hq/attest/detect/sigma"
)

//go:embed pack/*.yml
var pack embed.FS

// AddTo adds the built-in rules to rs.
func AddTo(rs *sigma.RuleSet) error {
	if err := rs.LoadFS(pack, "pack"); err != nil {
		return fmt.Errorf("load built-in rules: %w", err)
	}
	return nil
}

// Builtin returns a compiled rule set of the built-in rules.
func Builtin() (*sigma.RuleSet, error) {
	rs := sigma.NewRuleSet()
	if err := AddTo(rs); err != nil {
		return nil, err
	}
	if len(rs.Problems) > 0 {
		p := rs.Problems[0]
		return nil, fmt.Errorf("built-in rule %s: %s", p.Path, p.Reason)
	}
	rs.Compile()
	return rs, nil
}
