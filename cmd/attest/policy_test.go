package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/policy"
	"github.com/attest-hq/attest/store"
)

// publishPolicy creates a policy from a template in org and takes it
// through review, approval (by a second admin) and publication.
func publishPolicy(t *testing.T, cfg store.Config, orgName, templateID string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o, err := account.OrgByName(ctx, db.Q(), orgName)
	if err != nil {
		t.Fatal(err)
	}
	author := testutil.Member(t, db, o.ID, templateID+"-author@acme.example", attest.RoleAdmin)
	approver := testutil.Member(t, db, o.ID, templateID+"-approver@acme.example", attest.RoleAdmin)
	var id string
	step := func(actor attest.Actor, f func(context.Context, *store.Tx) error) {
		t.Helper()
		if err := db.InTx(ctx, actor, func(tx *store.Tx) error { return f(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
	}
	step(author, func(ctx context.Context, tx *store.Tx) error {
		p, err := policy.Create(ctx, tx, o.ID, policy.New{TemplateID: templateID})
		id = p.ID
		return err
	})
	step(author, func(ctx context.Context, tx *store.Tx) error { _, err := policy.Submit(ctx, tx, o.ID, id); return err })
	step(approver, func(ctx context.Context, tx *store.Tx) error { _, err := policy.Approve(ctx, tx, o.ID, id); return err })
	step(approver, func(ctx context.Context, tx *store.Tx) error { _, err := policy.Publish(ctx, tx, o.ID, id); return err })
	// A draft is not part of the published set.
	step(author, func(ctx context.Context, tx *store.Tx) error {
		_, err := policy.Create(ctx, tx, o.ID, policy.New{Title: "Unfinished Draft Policy"})
		return err
	})
}

func TestPolicyExport(t *testing.T) {
	for _, b := range testutil.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := []string{"--data", b.Cfg.DataDir}
			if b.Cfg.URL != "" {
				st = append(st, "--database-url", b.Cfg.URL)
			}
			with := func(args ...string) []string { return append(args, st...) }
			if _, errOut, code := runCLI(t, noEnv, with("init", "--org", "Acme", "--email", "ana@acme.example")...); code != 0 {
				t.Fatalf("init: %s", errOut)
			}
			dir := t.TempDir()
			empty := filepath.Join(dir, "empty.pdf")
			out, errOut, code := runCLI(t, noEnv, with("policy", "export", "--org", "Acme", "--format", "pdf", "--out", empty)...)
			if code != 0 || !strings.Contains(out, "Wrote 0 published policies") || !strings.Contains(errOut, "no published policy") {
				t.Fatalf("empty export: %d %q %q", code, out, errOut)
			}
			publishPolicy(t, b.Cfg, "Acme", "backup")
			publishPolicy(t, b.Cfg, "Acme", "encryption")

			pdfPath := filepath.Join(dir, "policies.pdf")
			out, errOut, code = runCLI(t, noEnv, with("policy", "export", "--org", "Acme", "--format", "pdf", "--out", pdfPath)...)
			if code != 0 || !strings.Contains(out, "Wrote 2 published policies") {
				t.Fatalf("pdf export: %d %q %q", code, out, errOut)
			}
			pdf, err := os.ReadFile(pdfPath)
			if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 5000 {
				t.Fatalf("pdf: %d bytes, %v", len(pdf), err)
			}
			htmlPath := filepath.Join(dir, "policies.html")
			if _, errOut, code := runCLI(t, noEnv, with("policy", "export", "--org", "Acme", "--format", "html", "--out", htmlPath)...); code != 0 {
				t.Fatalf("html export: %s", errOut)
			}
			html, _ := os.ReadFile(htmlPath)
			for _, want := range []string{"Backup Policy", "Encryption Policy", "backup-approver@acme.example", "SHA-256", "Version"} {
				if !strings.Contains(string(html), want) {
					t.Errorf("HTML export lacks %q", want)
				}
			}
			if strings.Contains(string(html), "Unfinished Draft Policy") {
				t.Error("a draft was exported with the published set")
			}
			stdout, _, code := runCLI(t, noEnv, with("policy", "export", "--org", "Acme", "--format", "html", "--out", "-")...)
			if code != 0 || !strings.HasPrefix(stdout, "<!doctype html>") {
				t.Fatalf("export to stdout: %d %.80q", code, stdout)
			}

			for _, c := range []struct {
				args []string
				code int
				msg  string
			}{
				{with("policy", "export", "--format", "pdf", "--out", pdfPath), 2, "--org is required"},
				{with("policy", "export", "--org", "Acme", "--format", "pdf"), 2, "--out is required"},
				{with("policy", "export", "--org", "Acme", "--format", "docx", "--out", pdfPath), 2, "pdf or html"},
				{with("policy", "export", "--org", "Nobody", "--out", pdfPath), 1, "Nobody"},
				{with("policy", "export", "--org", "Acme", "--out", filepath.Join(dir, "missing", "x.pdf")), 1, "missing"},
				{with("policy", "export", "--org", "Acme", "--out", pdfPath, "extra"), 2, "unexpected argument"},
			} {
				_, errOut, code := runCLI(t, noEnv, c.args...)
				if code != c.code || !strings.Contains(errOut, c.msg) {
					t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.msg)
				}
			}
			if _, errOut, code := runCLI(t, noEnv, "policy", "export", "--data", t.TempDir(), "--org", "Acme", "--out", pdfPath); code != 1 || !strings.Contains(errOut, "no Attest database") {
				t.Errorf("export without a database: %d %q", code, errOut)
			}
			// The audit chain stays intact through all of it.
			if out, errOut, code := runCLI(t, noEnv, with("auditlog", "verify")...); code != 0 {
				t.Fatalf("verify: %s %s", out, errOut)
			}
		})
	}
}
