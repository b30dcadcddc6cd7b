package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/attest-hq/attest/privacy/pii"
)

// runScanPII is `attest scan pii`: it finds personal data in files,
// directories, stdin and databases and prints one finding per line (jsonl)
// or a table on stdout, problems and a summary on stderr. It exits 0 when the
// scan ran, whatever it found; only a scan that could not run is an error.
func runScanPII(e *env, args []string) error {
	fs := newFlags(e, "scan pii")
	format := fs.String("format", "jsonl", "output: jsonl (one finding per line) or table")
	types := fs.String("types", "", "comma-separated types to report (default all): "+typeNames())
	rows := fs.Int("rows", 1000, "rows read per database table (all its text-like columns)")
	full := fs.Bool("full", false, "read every row of every database table")
	schemas := fs.String("schema", "", "PostgreSQL schemas to scan, comma-separated (default all but system schemas)")
	minConf := fs.Float64("min-confidence", 0.5, "drop findings below this confidence (0..1)")
	workers := fs.Int("workers", 0, "files scanned in parallel (default: all cores)")
	upload := fs.String("upload", "", "send the inventory (types, counts, locations; never values) to this Attest server, e.g. https://attest.example.com")
	token := fs.String("token", "", "API token for --upload (default $ATTEST_TOKEN)")
	controlCode := fs.String("control", "", "code of the control the inventory is filed on as evidence, with --upload (e.g. the one for personal data inventory)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: attest scan pii [--format jsonl|table] [--types T1,T2,...] [flags] TARGET...")
		fmt.Fprintln(e.stderr, "\nTARGET is a file, a directory, - (stdin), postgres://... or sqlite:PATH.")
		fmt.Fprintln(e.stderr, "Findings never include the value: at most its last four characters.")
		fmt.Fprintln(e.stderr, "With --upload URL --token T --control CODE the inventory (types, counts, locations) is filed")
		fmt.Fprintln(e.stderr, "as evidence on that control and shown on the server's Personal data page.\n\nFlags:")
		fs.PrintDefaults()
	}
	targets, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *format != "jsonl" && *format != "table" {
		return usageError{fmt.Sprintf("--format must be jsonl or table, not %q", *format)}
	}
	if *token == "" {
		*token = e.getenv("ATTEST_TOKEN")
	}
	if *upload != "" && (*token == "" || *controlCode == "") {
		return usageError{"--upload needs --token (or ATTEST_TOKEN) and --control CODE"}
	}
	if *upload == "" && *controlCode != "" {
		return usageError{"--control is only used with --upload URL"}
	}
	if len(targets) == 0 {
		return usageError{"scan pii: give at least one TARGET (file, directory, -, postgres://... or sqlite:PATH)"}
	}
	typeList, err := pii.ParseTypes(*types)
	if err != nil {
		return usageError{"--types: " + err.Error()}
	}
	if *rows <= 0 {
		return usageError{"--rows must be positive"}
	}
	if *minConf < 0 || *minConf > 1 {
		return usageError{"--min-confidence must be in 0..1"}
	}
	var schemaList []string
	for _, s := range strings.Split(*schemas, ",") {
		if s = strings.TrimSpace(s); s != "" {
			schemaList = append(schemaList, s)
		}
	}

	out := &findingWriter{w: bufio.NewWriterSize(e.stdout, 64<<10), table: *format == "table"}
	prog := newProgress(e.stderr)
	cfg := pii.Config{
		Types: typeList, MinConfidence: *minConf, Workers: *workers, Rows: *rows, Full: *full,
		Schemas: schemaList, Stdin: e.stdin,
		OnFinding: out.write,
		OnSkip: func(s pii.Skip) {
			prog.clear()
			fmt.Fprintf(e.stderr, "attest: scan: %s: %s\n", s.Where, s.Reason)
		},
	}
	sc, err := pii.New(cfg)
	if err != nil {
		return usageError{err.Error()}
	}
	prog.start(sc)
	started := time.Now()
	sum, scanErr := sc.Scan(e.ctx, targets)
	prog.stop()
	if err := out.flush(); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	printSummary(e.stderr, sum)
	switch {
	case scanErr != nil:
		return exitError{code: 130, msg: "scan interrupted"}
	case sum.TargetErrors == len(targets):
		return exitError{code: 1, msg: "scan pii: no target could be read"}
	}
	if *upload != "" {
		report := pii.NewReport(sum, targets, started)
		inv, err := uploadInventory(e.ctx, *upload, *token, *controlCode, report)
		if err != nil {
			return exitError{code: 1, msg: "scan pii: upload: " + err.Error() + " (the scan itself completed; its findings are above)"}
		}
		fmt.Fprintf(e.stderr, "inventory %s filed as evidence %s on control %s\n", inv.ID, inv.EvidenceID, *controlCode)
	}
	return nil
}

// uploadedInventory is the part of the server's answer the command reports.
type uploadedInventory struct {
	ID         string `json:"id"`
	EvidenceID string `json:"evidence_id"`
}

// uploadInventory finds the control by its exact code, then posts the report
// to the server's inventory route, which records it for the privacy pages and
// files it as evidence (a JSON file) on that control.
func uploadInventory(ctx context.Context, base, token, code string, report pii.Report) (uploadedInventory, error) {
	base = strings.TrimRight(base, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return uploadedInventory{}, fmt.Errorf("--upload %q is not an http(s) URL", base)
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	send := func(req *http.Request, into any) error {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("server did not answer: %w", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			return errors.New("the token was refused (401): check --token")
		case resp.StatusCode == http.StatusForbidden:
			return errors.New("this token's role may not do that (403): use a member, admin or owner token")
		case resp.StatusCode >= 300:
			var problem struct{ Title, Detail string }
			json.Unmarshal(body, &problem)
			msg := strings.TrimSpace(problem.Title + ": " + problem.Detail)
			if problem.Title == "" && problem.Detail == "" {
				msg = http.StatusText(resp.StatusCode)
			}
			return fmt.Errorf("server answered %d: %s", resp.StatusCode, strings.Trim(msg, ": "))
		}
		if err := json.Unmarshal(body, into); err != nil {
			return fmt.Errorf("unexpected answer from the server (is %s an Attest server?)", base)
		}
		return nil
	}

	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/controls?q="+url.QueryEscape(code), nil)
	if err != nil {
		return uploadedInventory{}, err
	}
	var controls struct {
		Items []struct{ ID, Code string }
	}
	if err := send(req, &controls); err != nil {
		return uploadedInventory{}, fmt.Errorf("look up control %s: %w", code, err)
	}
	id := ""
	for _, c := range controls.Items {
		if c.Code == code {
			id = c.ID
		}
	}
	if id == "" {
		return uploadedInventory{}, fmt.Errorf("no control has the code %q in this organisation", code)
	}

	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return uploadedInventory{}, fmt.Errorf("encode report: %w", err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("control", id)
	fw, err := mw.CreateFormFile("file", "pii-inventory-"+report.ScannedAt.Format("2006-01-02")+".json")
	if err != nil {
		return uploadedInventory{}, err
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		return uploadedInventory{}, err
	}
	req, err = http.NewRequestWithContext(ctx, "POST", base+"/api/v1/privacy/inventories", &body)
	if err != nil {
		return uploadedInventory{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var inv uploadedInventory
	if err := send(req, &inv); err != nil {
		return uploadedInventory{}, fmt.Errorf("send inventory: %w", err)
	}
	return inv, nil
}

// parseInterleaved parses flags placed before, between or after targets.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var targets []string
	rest := args
	for {
		if err := parseFlags(fs, rest); err != nil {
			return nil, err
		}
		left := fs.Args()
		consumed := len(rest) - len(left)
		if consumed > 0 && rest[consumed-1] == "--" {
			return append(targets, left...), nil
		}
		if len(left) == 0 {
			return targets, nil
		}
		targets = append(targets, left[0])
		rest = left[1:]
	}
}

func typeNames() string {
	names := make([]string, len(pii.AllTypes))
	for i, t := range pii.AllTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ",")
}

// findingWriter prints findings as they come; the scanner calls it one
// finding at a time.
type findingWriter struct {
	w      *bufio.Writer
	table  bool
	header bool
	err    error
	buf    []byte // reused for each jsonl line
}

func (f *findingWriter) write(x pii.Finding) {
	if f.err != nil {
		return
	}
	if f.table {
		if !f.header {
			f.header = true
			_, f.err = fmt.Fprintf(f.w, "%-18s %-5s %-24s %s\n", "TYPE", "CONF", "REDACTED", "WHERE")
		}
		where := fmt.Sprintf("%s:%d:%d", x.Path, x.Line, x.Col)
		if x.IsDatabase() {
			where = fmt.Sprintf("%s.%s row %d", x.Table, x.Column, x.Row)
		}
		_, f.err = fmt.Fprintf(f.w, "%-18s %-5.2f %-24s %s\n", x.Type, x.Confidence, x.Redacted, where)
		return
	}
	// AppendJSON writes what json.Marshal would, without reflection and
	// without re-compacting: this runs under the scanner's callback lock,
	// so its cost stalls every worker.
	f.buf = append(x.AppendJSON(f.buf[:0]), '\n')
	_, f.err = f.w.Write(f.buf)
}

func (f *findingWriter) flush() error {
	if f.err != nil {
		return f.err
	}
	return f.w.Flush()
}

// progress shows a status line on stderr while a long scan runs, only when
// stderr is a terminal (a pipe or a file gets the summary only).
type progress struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	shown bool
	done  chan struct{}
	wg    sync.WaitGroup
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) start(sc *pii.Scanner) {
	if !p.tty {
		return
	}
	p.done = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		begun := time.Now()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				files, bytes, found := sc.Progress()
				p.mu.Lock()
				fmt.Fprintf(p.w, "\r\033[Kscanning: %d files, %.1f MB, %d findings, %s", files, float64(bytes)/1e6, found,
					time.Since(begun).Round(time.Second))
				p.shown = true
				p.mu.Unlock()
			}
		}
	}()
}

func (p *progress) clear() {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

func (p *progress) stop() {
	if !p.tty || p.done == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
	p.clear()
}

// maxListed bounds the per-file and per-column lines of the summary.
const maxListed = 50

func printSummary(w io.Writer, s *pii.Summary) {
	fmt.Fprintf(w, "scan pii: %d files, %s bytes, %d tables, %d rows scanned in %s (%.1f MB/s)\n",
		s.Files, groupDigits(s.Bytes), s.Tables, s.Rows, s.Elapsed.Round(time.Millisecond), s.MBPerSecond())
	if s.Binary > 0 || s.NotScanned > 0 {
		fmt.Fprintf(w, "skipped: %d binary files, %d not scanned (reasons above)\n", s.Binary, s.NotScanned)
	}
	fmt.Fprintf(w, "findings: %d\n", s.Findings)
	for _, t := range pii.AllTypes {
		if n := s.ByType[t]; n > 0 {
			fmt.Fprintf(w, "  %-20s %d\n", t, n)
		}
	}
	listCounts(w, "by file", s.ByFile)
	listCounts(w, "by column", s.ByColumn)
}

func listCounts(w io.Writer, title string, m map[string]map[pii.Type]int64) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "%s:\n", title)
	for i, k := range keys {
		if i == maxListed {
			fmt.Fprintf(w, "  ... and %d more\n", len(keys)-maxListed)
			break
		}
		var parts []string
		for _, t := range pii.AllTypes {
			if n := m[k][t]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", t, n))
			}
		}
		fmt.Fprintf(w, "  %s: %s\n", k, strings.Join(parts, ", "))
	}
}

func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
