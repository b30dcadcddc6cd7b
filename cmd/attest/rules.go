package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/attest-hq/attest/detect/sigma"
)

const rulesCheckUsage = `Usage: attest rules check DIR...

Loads every .yml/.yaml Sigma rule under DIR and prints one line per rule:
"ok" with the log sources it runs on, or "cannot run" with the reason (an
unknown modifier, a logsource Attest does not read, a regular expression
RE2 rejects, ...). Exit status 1 when any rule cannot run, so CI can gate
a rule repository; 0 when all can.
`

func runRulesCheck(e *env, args []string) error {
	fs := newFlags(e, "rules check")
	fs.Usage = func() { fmt.Fprint(e.stderr, rulesCheckUsage) }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"rules check needs a DIR; see 'attest rules check -h'"}
	}
	rs := sigma.NewRuleSet()
	for _, d := range fs.Args() {
		info, err := os.Stat(d)
		if err != nil || !info.IsDir() {
			return usageError{fmt.Sprintf("%s is not a directory", d)}
		}
		if err := rs.LoadFS(os.DirFS(d), "."); err != nil {
			return fmt.Errorf("load rules from %s: %w", d, err)
		}
	}
	rs.Compile()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	ok, bad := 0, 0
	for _, l := range rs.Loaded {
		switch {
		case l.Problem != nil:
			bad++
			fmt.Fprintf(tw, "cannot run\t%s\t%s\t%s\n", l.Path, l.Problem.Title, l.Problem.Reason)
		case l.Corr != nil:
			ok++
			fmt.Fprintf(tw, "ok\t%s\t%s\tcorrelation %s of %d rule(s)\n", l.Path, l.Corr.Meta.Title, l.Corr.Type, len(l.Corr.Rules))
		case l.Rule != nil:
			ok++
			fmt.Fprintf(tw, "ok\t%s\t%s\t%v\n", l.Path, l.Rule.Title, l.Rule.Sources())
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d rules: %d ok, %d cannot run\n", ok+bad, ok, bad)
	if bad > 0 {
		return exitError{code: 1}
	}
	return nil
}
