package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/policy"
)

// runPolicyExport writes every published policy of an organisation, each
// with its version, approver, dates and SHA-256, as one PDF or HTML file.
func runPolicyExport(e *env, args []string) error {
	fs := newFlags(e, "policy export")
	var sf storeFlags
	sf.register(fs, e)
	org := fs.String("org", "", "organisation name")
	format := fs.String("format", "pdf", "pdf or html")
	out := fs.String("out", "", "file to write (- for standard output)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := errors.Join(noArgs(fs), require("org", *org), require("out", *out)); err != nil {
		return err
	}
	if *format != "pdf" && *format != "html" {
		return usageError{fmt.Sprintf("--format must be pdf or html (got %q)", *format)}
	}
	db, err := sf.openExisting(e)
	if err != nil {
		return err
	}
	defer db.Close()
	o, err := account.OrgByName(e.ctx, db.Q(), *org)
	if err != nil {
		return err
	}
	ex, err := policy.PublishedSet(e.ctx, db.Q(), o.ID, db.Now())
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if *format == "html" {
		err = policy.WriteHTML(&b, ex)
	} else {
		err = policy.WritePDF(&b, ex)
	}
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err = e.stdout.Write(b.Bytes())
		return err
	}
	if err := writeFileAtomic(*out, b.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Wrote %d published polic%s of %q to %s (%s, %d bytes).\n", len(ex.Documents),
		map[bool]string{true: "y", false: "ies"}[len(ex.Documents) == 1], o.Name, *out, *format, b.Len())
	if len(ex.Documents) == 0 {
		fmt.Fprintln(e.stderr, "attest: note: the organisation has no published policy yet; the file holds only its cover page")
	}
	return nil
}

// writeFileAtomic writes through a temporary file in the same directory,
// so a failed export never leaves half a file where the old one was.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".attest-export-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
