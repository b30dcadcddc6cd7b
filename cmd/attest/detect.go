package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/attest-hq/attest/detect"
	"github.com/attest-hq/attest/detect/baseline"
	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/ingest"
	"github.com/attest-hq/attest/detect/rules"
	"github.com/attest-hq/attest/detect/sigma"
)

// stringList is a repeatable string flag (--rules A --rules B).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const detectUsage = `Usage: attest detect [--rules DIR]... [--format FORMAT] [--state FILE] FILE|DIR|-...

Reads audit logs and prints one alert per line as JSON on stdout (rule,
title, severity, criteria, time, actor, reason, events, ...) and a summary
on stderr. Without --rules the built-in rule pack runs. Directories are
read recursively in name order; gzip is detected. Malformed records are
counted and skipped. Exit status: 0 when every input was read (alerts or
not), 1 when an input could not be read or no rule could run, 2 for usage
mistakes.

FORMAT is one of: ` + "auto, cloudtrail, github, okta, gworkspace, k8s, authlog, auditd" + `

Flags:
`

func runDetect(e *env, args []string) error {
	fs := newFlags(e, "detect")
	var ruleDirs stringList
	fs.Var(&ruleDirs, "rules", "directory of Sigma rules (repeatable); default: the built-in pack")
	format := fs.String("format", "auto", "log format, or auto to detect it per file")
	statePath := fs.String("state", "", "file keeping learned baselines between runs")
	window := fs.Duration("group-window", time.Hour, "alerts of one rule and actor within this span are grouped")
	learning := fs.Duration("learning", 7*24*time.Hour, "baseline learning period per actor (event time)")
	noBaselines := fs.Bool("no-baselines", false, "run rules only")
	fs.Usage = func() {
		fmt.Fprint(e.stderr, detectUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"detect needs a FILE, DIR or - (stdin); see 'attest detect -h'"}
	}
	src, err := ingest.ParseFormat(*format)
	if err != nil {
		return usageError{err.Error()}
	}
	rs, err := loadRules(e, ruleDirs)
	if err != nil {
		return err
	}
	cfg := detect.Config{
		Rules:            rs,
		Sink:             detect.NewJSONLines(e.stdout),
		GroupWindow:      *window,
		DisableBaselines: *noBaselines,
		Baseline:         baseline.Config{LearningPeriod: *learning},
	}
	eng, err := detect.New(cfg)
	if err != nil {
		return err
	}
	var store baseline.Store
	if *statePath != "" && eng.Baseline() != nil {
		store = baseline.FileStore{Path: *statePath}
		st, err := store.Load(e.ctx)
		if err != nil {
			return err
		}
		if st != nil {
			if err := eng.Baseline().Restore(st); err != nil {
				return fmt.Errorf("restore baseline from %s: %w", *statePath, err)
			}
		}
	}
	inputs, fromDir, err := expandInputs(fs.Args())
	if err != nil {
		return err
	}
	start := time.Now()
	var events, malformed int64
	var failed []string
	for _, in := range inputs {
		st, err := detectOne(e, eng, in, src)
		events += st.Events
		malformed += st.Malformed
		for _, m := range st.Samples {
			fmt.Fprintf(e.stderr, "attest detect: %s:%d: skipped: %s\n", in, m.Line, m.Reason)
		}
		if st.Malformed > int64(len(st.Samples)) {
			fmt.Fprintf(e.stderr, "attest detect: %s: %d more malformed records not shown\n", in, st.Malformed-int64(len(st.Samples)))
		}
		if err != nil {
			if e.ctx.Err() != nil {
				return e.ctx.Err()
			}
			if fromDir[in] && errors.Is(err, ingest.ErrUnknownFormat) {
				// A README or other stray file beside the logs.
				fmt.Fprintf(e.stderr, "attest detect: %s: skipped, not a log Attest reads\n", in)
				continue
			}
			fmt.Fprintf(e.stderr, "attest detect: %s: %v\n", in, err)
			failed = append(failed, in)
		}
	}
	if err := eng.Flush(e.ctx); err != nil {
		return err
	}
	if store != nil {
		if err := store.Save(e.ctx, eng.Baseline().Snapshot()); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	es := eng.Stats()
	sum := detect.Summary{Events: events, Malformed: malformed, Alerts: es.Alerts, ClockSkewed: es.ClockSkewed, Elapsed: elapsed}
	fmt.Fprintf(e.stderr, "attest detect: %d events read, %d malformed, %d alerts, %.0f events/s, %d clock-skewed (%d inputs, %s)\n",
		sum.Events, sum.Malformed, sum.Alerts, sum.EventsPerSecond(), sum.ClockSkewed, len(inputs), elapsed.Round(time.Millisecond))
	if len(failed) > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("%d of %d inputs could not be read fully", len(failed), len(inputs))}
	}
	return nil
}

// loadRules loads the rule directories, or the built-in pack. Rules that
// cannot run are reported on stderr; the rest run.
func loadRules(e *env, dirs []string) (*sigma.RuleSet, error) {
	if len(dirs) == 0 {
		return rules.Builtin()
	}
	rs := sigma.NewRuleSet()
	for _, d := range dirs {
		if err := rs.LoadFS(os.DirFS(d), "."); err != nil {
			return nil, fmt.Errorf("load rules from %s: %w", d, err)
		}
	}
	rs.Compile()
	if len(rs.Problems) > 0 {
		fmt.Fprintf(e.stderr, "attest detect: %d rule(s) cannot run and are skipped (details: attest rules check %s)\n", len(rs.Problems), strings.Join(dirs, " "))
	}
	if len(rs.Rules) == 0 {
		return nil, exitError{code: 1, msg: "no rule can run"}
	}
	return rs, nil
}

// expandInputs turns the arguments into files: directories are walked in
// name order; "-" is stdin. fromDir marks files found in a directory,
// which are skipped rather than failed when they are not logs.
func expandInputs(args []string) (out []string, fromDir map[string]bool, err error) {
	fromDir = map[string]bool{}
	for _, a := range args {
		if a == "-" {
			out = append(out, a)
			continue
		}
		info, err := os.Stat(a)
		if err != nil {
			return nil, nil, usageError{fmt.Sprintf("input %s: %v", a, errors.Unwrap(err))}
		}
		if !info.IsDir() {
			out = append(out, a)
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("list inputs in %s: %w", a, err)
		}
		sort.Strings(files)
		for _, f := range files {
			fromDir[f] = true
		}
		out = append(out, files...)
	}
	return out, fromDir, nil
}

func detectOne(e *env, eng *detect.Engine, in string, format event.Source) (ingest.Stats, error) {
	var r io.Reader = e.stdin
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return ingest.Stats{}, fmt.Errorf("open: %w", err)
		}
		defer f.Close()
		r = f
	}
	rd, err := ingest.NewReader(r, ingest.Options{Format: format})
	if err != nil {
		return ingest.Stats{}, err
	}
	defer rd.Close()
	if err := detect.Run(e.ctx, rd, eng); err != nil {
		return rd.Stats(), err
	}
	return rd.Stats(), rd.Err()
}
