package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// scanCLI runs `attest scan pii ARGS` in-process and returns stdout,
// stderr and the exit code main would use.
func scanCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"scan", "pii"}, args...), func(string) string { return "" },
		strings.NewReader(stdin), &out, &errOut)
	code := exitCode(err, &errOut)
	return out.String(), errOut.String(), code
}

// scanLines decodes the jsonl output, checking every line is one object.
func scanLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var res []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		res = append(res, m)
	}
	return res
}

func TestScanFilesJSONL(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte("name,ssn,email\nJane,536221234,jane@corp.io\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("nothing here\nSSN: 536-22-1234 order 123-45-6789\n"), 0o644)
	os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "dangling"))

	stdout, stderr, code := scanCLI(t, "", "--format", "jsonl", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := scanLines(t, stdout)
	want := []string{
		"us_ssn notes.txt 2 6 ***-**-1234",
		"us_ssn people.csv 2 6 *****1234",
		"email people.csv 2 16 ********p.io",
	}
	var have []string
	for _, m := range got {
		if len(m) != 6 {
			t.Errorf("finding has keys %v, want type,path,line,column,confidence,redacted", m)
		}
		conf, _ := m["confidence"].(json.Number).Float64()
		if conf <= 0 || conf > 1 {
			t.Errorf("confidence %v", conf)
		}
		have = append(have, strings.Join([]string{m["type"].(string), filepath.Base(m["path"].(string)),
			m["line"].(json.Number).String(), m["column"].(json.Number).String(), m["redacted"].(string)}, " "))
	}
	if strings.Join(sortedCopy(have), "\n") != strings.Join(sortedCopy(want), "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range []string{"dangling: does not exist", "2 files", "MB/s", "us_ssn", "findings: 3"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	for _, secret := range []string{"536221234", "536-22-1234", "jane@corp.io"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("output carries the value %q", secret)
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestScanStdinTableAndTypes(t *testing.T) {
	in := "call (415) 555-2671 or mail bo@corp.io\n"
	stdout, stderr, code := scanCLI(t, in, "-", "--format", "table", "--types", "phone")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "phone") || !strings.Contains(stdout, "-:1:6") || strings.Contains(stdout, "email") {
		t.Errorf("table:\n%s", stdout)
	}
	if strings.Contains(stderr, "\r") {
		t.Error("progress written to a non-terminal stderr")
	}
}

func TestScanSQLiteAndBadDatabase(t *testing.T) {
	p := filepath.Join(t.TempDir(), "crm.db")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE contacts (name TEXT, phone TEXT, dob TEXT)",
		"INSERT INTO contacts VALUES ('Jo', '415-555-2671', '1985-03-02'), ('Al', '2125550147', '')",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	stdout, stderr, code := scanCLI(t, "", "--rows", "10", "postgres://u:hunter2@127.0.0.1:1/x?connect_timeout=2", "sqlite:"+p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := scanLines(t, stdout)
	if len(got) != 3 {
		t.Fatalf("findings %v", got)
	}
	for _, m := range got {
		if m["table"] != "contacts" || m["row"] == nil || m["path"] != nil || len(m) != 6 {
			t.Errorf("database finding %v", m)
		}
	}
	if !strings.Contains(stderr, "cannot connect") || strings.Contains(stderr, "hunter2") {
		t.Errorf("bad URL message:\n%s", stderr)
	}
	if !strings.Contains(stderr, "contacts.phone: phone 2") || !strings.Contains(stderr, "2 rows") {
		t.Errorf("summary lacks the per-column inventory:\n%s", stderr)
	}
}

func TestScanCouldNotRun(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "at least one TARGET"},
		{[]string{"--format", "xml", "."}, 2, "--format"},
		{[]string{"--types", "email,shoe_size", "."}, 2, "unknown type"},
		{[]string{"--rows", "0", "."}, 2, "--rows"},
		{[]string{"/does/not/exist"}, 1, "no target could be read"},
		{[]string{"sqlite:"}, 1, "no target could be read"},
	} {
		_, stderr, code := scanCLI(t, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.msg)
		}
	}
	// Flags after targets are flags too.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("SSN 536-22-1234\n"), 0o644)
	stdout, _, code := scanCLI(t, "", dir, "--format", "table")
	if code != 0 || !strings.HasPrefix(stdout, "TYPE") {
		t.Errorf("flags after target: exit %d\n%s", code, stdout)
	}
}

// TestScanUpload runs serve in-process, then `scan pii --upload` against it:
// the inventory lands as evidence and on the privacy API; a bad token, an
// unknown control code and a server that is down each give a clear message
// and exit 1, with the findings still printed.
func TestScanUpload(t *testing.T) {
	for name, st := range backendArgs(t) {
		t.Run(name, func(t *testing.T) {
			with := func(args ...string) []string { return append(args, st...) }
			if _, errOut, code := runCLI(t, noEnv, with("init", "--org", "Acme", "--email", "ana@acme.example")...); code != 0 {
				t.Fatalf("init: %s", errOut)
			}
			out, _, _ := runCLI(t, noEnv, with("token", "create", "--email", "ana@acme.example")...)
			tok := lastLine(out)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, with("serve", "--addr", "127.0.0.1:0"), noEnv, strings.NewReader(""), &stdout, &stderr)
			}()
			base := waitForURL(t, &stdout, &stderr)
			api := func(path string) []byte {
				req, _ := http.NewRequest("GET", base+path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return b
			}
			var controls struct{ Items []struct{ ID, Code string } }
			json.Unmarshal(api("/api/v1/controls"), &controls)
			if len(controls.Items) == 0 {
				t.Fatal("no controls to file on")
			}
			code := controls.Items[0].Code

			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "users.csv"), []byte("name,email,ssn\nJo,jo@corp.io,536-22-1234\n"), 0o644)

			out, errOut, exit := scanCLI(t, "", "--upload", base, "--token", tok, "--control", code, dir)
			if exit != 0 || !strings.Contains(errOut, "filed as evidence") || len(scanLines(t, out)) != 2 {
				t.Fatalf("upload: %d\n%s\n%s", exit, out, errOut)
			}
			body := string(api("/api/v1/privacy/inventories/latest"))
			// The temp dir's random name may hold the same digits; look past it.
			if !strings.Contains(body, "users.csv") || !strings.Contains(body, `"us_ssn":1`) || strings.Contains(strings.ReplaceAll(body, dir, ""), "1234") || strings.Contains(body, "jo@corp.io") {
				t.Errorf("latest inventory: %s", body)
			}
			if !strings.Contains(string(api("/api/v1/controls/"+controls.Items[0].ID+"/evidence")), "pii-inventory-") {
				t.Error("no inventory evidence on the control")
			}

			for _, tc := range []struct {
				name string
				args []string
				want string
			}{
				{"bad token", []string{"--upload", base, "--token", "att_nope", "--control", code}, "token was refused"},
				{"unknown code", []string{"--upload", base, "--token", tok, "--control", "NOPE-99"}, `no control has the code "NOPE-99"`},
				{"server down", []string{"--upload", "http://127.0.0.1:1", "--token", tok, "--control", code}, "server did not answer"},
				{"not a URL", []string{"--upload", "ftp://x", "--token", tok, "--control", code}, "not an http(s) URL"},
			} {
				out, errOut, exit := scanCLI(t, "", append(tc.args, dir)...)
				if exit != 1 || !strings.Contains(errOut, tc.want) || len(scanLines(t, out)) != 2 || !strings.Contains(errOut, "findings: 2") {
					t.Errorf("%s: exit %d, stderr %s, stdout %s", tc.name, exit, errOut, out)
				}
				if strings.Contains(errOut, tok) {
					t.Errorf("%s: the token is printed", tc.name)
				}
			}
			if _, errOut, exit := scanCLI(t, "", "--upload", base, "--control", code, dir); exit != 2 || !strings.Contains(errOut, "--token") {
				t.Errorf("missing token: %d %s", exit, errOut)
			}
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("serve did not shut down")
			}
		})
	}
}

// TestScanPIIForProfile runs `attest scan pii --format jsonl DIR` in-process
// three times over the directory named by $ATTEST_PGO_DATA (skipped without
// it). It is how cmd/attest/default.pgo is made (see bench/README.md):
//
//	ATTEST_PGO_DATA=/tmp/attest-pii-bench-NNN go test ./cmd/attest \
//	    -run TestScanPIIForProfile -count=1 -cpuprofile /tmp/scan.pprof
func TestScanPIIForProfile(t *testing.T) {
	dir := os.Getenv("ATTEST_PGO_DATA")
	if dir == "" {
		t.Skip("set ATTEST_PGO_DATA to a directory to scan (bench/pii -keep makes one)")
	}
	for range 3 {
		var errOut bytes.Buffer
		err := run(context.Background(), []string{"scan", "pii", "--format", "jsonl", dir}, func(string) string { return "" },
			strings.NewReader(""), io.Discard, &errOut)
		if err != nil {
			t.Fatalf("%v: %s", err, errOut.String())
		}
		summary := strings.Split(strings.TrimSpace(errOut.String()), "\n")
		t.Log(summary[len(summary)-1])
	}
}
