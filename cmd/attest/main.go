// Command attest is the Attest binary: the web server, the administrative
// CLI, the log-detection engine and the PII scanner. main only wires; run
// is what tests call in-process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// env is what a command may touch of the outside world; tests fill it in.
type env struct {
	ctx    context.Context
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one entry of the CLI table. Subcommands ("user add") are
// looked up by joining the first two words.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) error
}

var commands = []command{
	{"serve", "run the web server and API", runServe},
	{"init", "create an organisation and its owner", runInit},
	{"user add", "add a user to an organisation", runUserAdd},
	{"token create", "create an API token for a user", runTokenCreate},
	{"auditlog verify", "check the audit log's hash chain", runAuditlogVerify},
	{"detect", "run detection rules over log files", runDetect},
	{"rules check", "load detection rules and report each", runRulesCheck},
	{"scan pii", "find personal data in files and databases", runScanPII},
	{"policy export", "export published policies as HTML or PDF", runPolicyExport},
}

// usageError marks a mistake in how the command was called (exit code 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return nil
	}
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c.run(e, args[len(words):])
		}
	}
	return usageError{fmt.Sprintf("unknown command %q; run 'attest help' for the list", strings.Join(args, " "))}
}

func printUsage(w io.Writer) {
	names := make([]string, 0, len(commands))
	byName := map[string]string{}
	for _, c := range commands {
		names = append(names, c.name)
		byName[c.name] = c.summary
	}
	sort.Strings(names)
	fmt.Fprintln(w, "Attest — self-hosted SOC 2 compliance\n\nUsage: attest COMMAND [flags]\n\nCommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, byName[n])
	}
	fmt.Fprintln(w, "\nRun 'attest COMMAND -h' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting and
// writes its usage to stderr.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("attest "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return usageError{err.Error()}
	}
	return nil
}

var errHelpShown = errors.New("help shown")

// exitCode prints err (if any) and returns the process exit status.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	var ee exitError
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return 0
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, "attest:", ee.msg)
		}
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "attest:", ue.msg)
		return 2
	default:
		fmt.Fprintln(stderr, "attest:", err)
		return 1
	}
}

// exitError lets a command choose its exit status (e.g. a failed verify).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }
