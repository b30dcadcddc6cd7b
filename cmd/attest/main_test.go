package main

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/store"
)

// syncBuffer lets a test read what a running command has written so far.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// attest runs the CLI in-process and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, getenv func(string) string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errOut)
	code := exitCode(err, &errOut)
	return out.String(), errOut.String(), code
}

func noEnv(string) string { return "" }

// backendArgs returns the storage flags for each backend.
func backendArgs(t *testing.T) map[string][]string {
	out := map[string][]string{}
	for _, b := range testutil.Backends(t) {
		args := []string{"--data", b.Cfg.DataDir}
		if b.Cfg.URL != "" {
			args = append(args, "--database-url", b.Cfg.URL)
		}
		out[b.Name] = args
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestAdminCommandsAndServe(t *testing.T) {
	for name, st := range backendArgs(t) {
		t.Run(name, func(t *testing.T) {
			with := func(args ...string) []string { return append(args, st...) }
			out, errOut, code := runCLI(t, noEnv, with("init", "--org", "Acme", "--email", "Ana@Acme.example")...)
			if code != 0 || !strings.Contains(out, "One-time password") {
				t.Fatalf("init: %d %s %s", code, out, errOut)
			}
			if _, _, code := runCLI(t, noEnv, with("init", "--org", "Acme", "--email", "bo@acme.example")...); code == 0 {
				t.Fatal("a second org with the same name was accepted")
			}
			out, errOut, code = runCLI(t, noEnv, with("user", "add", "--org", "Acme", "--email", "viewer@acme.example", "--role", "viewer")...)
			if code != 0 || !strings.Contains(out, "viewer") {
				t.Fatalf("user add: %d %s %s", code, out, errOut)
			}
			out, _, code = runCLI(t, noEnv, with("token", "create", "--email", "ana@acme.example")...)
			tok := lastLine(out)
			if code != 0 || !strings.HasPrefix(tok, "att_") {
				t.Fatalf("token create: %d %q", code, out)
			}
			out, _, _ = runCLI(t, noEnv, with("token", "create", "--email", "viewer@acme.example", "--org", "Acme")...)
			viewerTok := lastLine(out)

			// serve on a free port, then talk to it.
			ctx, cancel := context.WithCancel(context.Background())
			var stdout, stderr syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, with("serve", "--addr", "127.0.0.1:0"), noEnv, strings.NewReader(""), &stdout, &stderr)
			}()
			url := waitForURL(t, &stdout, &stderr)
			get := func(path, token string) *http.Response {
				req, _ := http.NewRequest("GET", url+path, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			for _, c := range []struct {
				path, tok string
				want      int
			}{{"/healthz", "", 200}, {"/metrics", "", 200}, {"/api/v1/controls", tok, 200}, {"/api/v1/controls", "", 401}, {"/api/v1/audit-log", viewerTok, 403}} {
				if got := get(c.path, c.tok).StatusCode; got != c.want {
					t.Errorf("GET %s: %d, want %d", c.path, got, c.want)
				}
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve stopped with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("serve did not shut down")
			}
			if !strings.Contains(stderr.String(), `"msg":"shutting down"`) {
				t.Errorf("no structured shutdown log in %s", stderr.String())
			}

			out, errOut, code = runCLI(t, noEnv, with("auditlog", "verify")...)
			if code != 0 || !strings.Contains(out, "intact") {
				t.Fatalf("verify: %d %s %s", code, out, errOut)
			}
		})
	}
}

var urlRE = regexp.MustCompile(`listening on (http://\S+)`)

func waitForURL(t *testing.T, stdout, stderr *syncBuffer) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := urlRE.FindStringSubmatch(stdout.String()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve printed no URL; stdout %q stderr %q", stdout.String(), stderr.String())
	return ""
}

func TestVerifyNamesTheFirstBadEntry(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, code := runCLI(t, noEnv, "init", "--data", dir, "--org", "Acme", "--email", "a@acme.example"); code != 0 {
		t.Fatal(errOut)
	}
	runCLI(t, noEnv, "user", "add", "--data", dir, "--org", "Acme", "--email", "b@acme.example", "--role", "member")
	db, err := sql.Open("sqlite", filepath.Join(dir, store.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, errOut, code := runCLI(t, noEnv, "auditlog", "verify", "--data", dir)
	if code == 0 || !strings.Contains(errOut, "entry 2") {
		t.Fatalf("verify after tampering: exit %d, %q", code, errOut)
	}
}

func TestSettingsFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string {
		if k == "ATTEST_DATA" {
			return dir
		}
		return ""
	}
	if _, errOut, code := runCLI(t, env, "init", "--org", "EnvCo", "--email", "a@env.example"); code != 0 {
		t.Fatal(errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, store.SQLiteFile)); err != nil {
		t.Fatalf("ATTEST_DATA was not used: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v, mode %v", err, info.Mode())
	}
}

func TestBadInvocations(t *testing.T) {
	blocked := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocked, []byte("x"), 0o600)
	corrupt := t.TempDir()
	os.WriteFile(filepath.Join(corrupt, store.SQLiteFile), bytes.Repeat([]byte("garbage "), 200), 0o600)
	empty := t.TempDir()
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"unknown flag", []string{"serve", "--colour"}, 2, "flag provided but not defined"},
		{"missing org", []string{"init", "--data", empty, "--email", "a@b.example"}, 2, "--org is required"},
		{"bad role", []string{"user", "add", "--data", empty, "--org", "x", "--email", "a@b.example", "--role", "king"}, 2, "--role must be"},
		{"no database yet", []string{"auditlog", "verify", "--data", empty}, 1, "no Attest database"},
		{"data dir is a file", []string{"init", "--data", blocked, "--org", "x", "--email", "a@b.example"}, 1, "data directory"},
		{"corrupt database", []string{"auditlog", "verify", "--data", corrupt}, 1, "not a database"},
		{"database does not answer", []string{"auditlog", "verify", "--data", empty, "--database-url", "postgres://u:pw@127.0.0.1:1/x?connect_timeout=2"}, 1, "does not answer"},
		{"not a postgres url", []string{"init", "--data", empty, "--org", "x", "--email", "a@b.example", "--database-url", "mysql://x"}, 1, "postgres://"},
		{"bad email", []string{"init", "--data", empty, "--org", "x", "--email", "nope"}, 1, "email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, code := runCLI(t, noEnv, c.args...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, c.code, c.want)
			}
		})
	}
}
