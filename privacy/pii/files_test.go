package pii

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// scanTargets runs a scanner over targets and returns findings and skips.
func scanTargets(t *testing.T, cfg Config, targets ...string) ([]Finding, []Skip, *Summary) {
	t.Helper()
	var fs []Finding
	var skips []Skip
	cfg.OnFinding = func(f Finding) { fs = append(fs, f) }
	cfg.OnSkip = func(s Skip) { skips = append(skips, s) }
	if cfg.Now.IsZero() {
		cfg.Now = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	sc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := sc.Scan(context.Background(), targets)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return fs, skips, sum
}

func short(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.IsDatabase() {
			out = append(out, fmt.Sprintf("%s %s.%s:%d %s", f.Type, f.Table, f.Column, f.Row, f.Redacted))
		} else {
			out = append(out, fmt.Sprintf("%s %s:%d:%d %s", f.Type, filepath.Base(f.Path), f.Line, f.Col, f.Redacted))
		}
	}
	return out
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gz(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zipOf(t *testing.T, files ...string) []byte { // name, content, name, content ...
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for i := 0; i < len(files); i += 2 {
		f, err := w.Create(files[i])
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(files[i+1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// streamFindings scans text through the streaming layer with a chunk size.
func streamFindings(t testing.TB, text []byte, chunk int, st structure) []located {
	d := &detector{types: allTypeSet, minConf: 0.5, maxYear: 2025}
	var out []located
	_, err := d.scanStream(context.Background(), bytes.NewReader(text), st, chunk, func(l located) { out = append(out, l) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const sample = `Employee record
name: Jane Roe, email jane.roe@corp.example.org, SSN 536-22-1234
Émilie (mobile +33 6 12 34 56 78) paid with 4111-1111-1111-1111 from 203.0.113.9
DOB: 1985-03-02 passport no. C03005988 DL# D1234567
IBAN GB82 WEST 1234 5698 7654 32, NI number AB 12 34 56 C, SIN 046 454 286
order 123-45-6789 build 1.2.3.4 uuid 123e4567-e89b-12d3-a456-426614174000
`

func TestStreamChunkingIsInvisible(t *testing.T) {
	text := []byte(strings.Repeat(sample, 5))
	want := streamFindings(t, text, 1<<20, nil)
	if len(want) != 5*11 {
		t.Fatalf("whole-buffer scan found %d, want 55: %v", len(want), want)
	}
	for _, chunk := range []int{1, 2, 3, 7, 16, 61, 100, 257, 1000} {
		got := streamFindings(t, text, chunk, nil)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("chunk %d: got\n%v\nwant\n%v", chunk, got, want)
		}
	}
}

func TestLineAndColumn(t *testing.T) {
	got := streamFindings(t, []byte(sample), 5, nil)
	want := map[Type][2]int64{
		Email:            {2, 23},
		USSSN:            {2, 54},
		Phone:            {3, 16},
		CreditCard:       {3, 45},
		IPAddress:        {3, 70},
		DateOfBirth:      {4, 6},
		PassportNumber:   {4, 30},
		USDriversLicense: {4, 44},
		IBAN:             {5, 6},
		UKNINO:           {5, 45},
		CASIN:            {5, 64},
	}
	for _, l := range got {
		w, ok := want[l.typ]
		if !ok {
			t.Errorf("unexpected %v", l)
			continue
		}
		if w != [2]int64{l.line, l.col} {
			t.Errorf("%s at %d:%d, want %d:%d", l.typ, l.line, l.col, w[0], w[1])
		}
	}
}

// repeatReader yields a pattern over and over up to n bytes without ever
// holding more than the pattern.
type repeatReader struct {
	pattern []byte
	off     int
	left    int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		k := copy(p[n:], r.pattern[r.off:])
		if int64(k) > r.left {
			k = int(r.left)
		}
		n += k
		r.left -= int64(k)
		r.off = (r.off + k) % len(r.pattern)
	}
	return n, nil
}

// TestLongSingleLine scans a 256 MB line and checks memory stays bounded
// and the columns stay right.
func TestLongSingleLine(t *testing.T) {
	if testing.Short() {
		t.Skip("long input; -short")
	}
	pattern := []byte("lorem ipsum dolor sit amet, ssn 536-22-1234 consectetur ")
	const size = 256 << 20
	d := &detector{types: allTypeSet, minConf: 0.5, maxYear: 2025}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	count := 0
	var last located
	n, err := d.scanStream(context.Background(), &repeatReader{pattern: pattern, left: size}, nil, 0, func(l located) {
		count++
		last = l
		if l.line != 1 || (l.col-33)%int64(len(pattern)) != 0 {
			t.Fatalf("finding at %d:%d", l.line, l.col)
		}
	})
	if err != nil || n != size {
		t.Fatalf("read %d, %v", n, err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if want := size / len(pattern); count != want {
		t.Errorf("found %d, want %d (last %v)", count, want, last)
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 32<<20 {
		t.Errorf("heap grew by %d bytes scanning one long line", grew)
	}
}

func TestCSVAndJSONHints(t *testing.T) {
	csv := "id,full_name,ssn,date_of_birth,notes\n1,\"Roe, Jane\",536221234,1985-03-02,\"said \"\"hi\"\"\"\n2,Bo,078051120,2001-13-01,x\n"
	got := streamFindings(t, []byte(csv), 8, newCSVTracker(','))
	if s := fmt.Sprint(got); !strings.Contains(s, "us_ssn 2 15") || !strings.Contains(s, "date_of_birth 2 25") || len(got) != 2 {
		t.Errorf("csv: %v", got)
	}
	tsv := "name\tphone\nJane\t4155552671\n"
	if got := streamFindings(t, []byte(tsv), 8, newCSVTracker('\t')); len(got) != 1 || got[0].typ != Phone {
		t.Errorf("tsv: %v", got)
	}
	jsonl := `{"user":{"passport":"912345678","phones":["4155552671",` + "\n" + `"2125550147"]},"n":536221234}` + "\n"
	got = streamFindings(t, []byte(jsonl), 8, newJSONTracker())
	if s := fmt.Sprint(got); len(got) != 3 || !strings.Contains(s, "passport_number 1 22") || !strings.Contains(s, "phone 2 2") {
		t.Errorf("json: %v", got)
	}
}

func officeDocs(t *testing.T) (docx, xlsx, pptx []byte) {
	docx = zipOf(t, "[Content_Types].xml", "<Types/>",
		"word/document.xml", `<?xml version="1.0"?><w:document xmlns:w="x"><w:body>`+
			`<w:p><w:r><w:t>Hello</w:t></w:r></w:p>`+
			`<w:p><w:r><w:t xml:space="preserve">SSN: </w:t></w:r><w:r><w:t>536-22-1234</w:t></w:r></w:p>`+
			`</w:body></w:document>`)
	xlsx = zipOf(t, "xl/workbook.xml", "<workbook/>",
		"xl/sharedStrings.xml", `<sst><si><t>email</t></si><si><t>ssn</t></si><si><t>bo@corp.io</t></si></sst>`,
		"xl/worksheets/sheet1.xml", `<worksheet><sheetData>`+
			`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>`+
			`<row r="3"><c r="A3" t="s"><v>2</v></c><c r="C3"><v>536221234</v></c></row>`+
			`</sheetData></worksheet>`)
	pptx = zipOf(t, "ppt/presentation.xml", "<p/>",
		"ppt/slides/slide1.xml", `<p:sld xmlns:a="a" xmlns:p="p"><a:p><a:r><a:t>Call (415) 555-2671</a:t></a:r></a:p></p:sld>`)
	return
}

func TestFilesArchivesAndOffice(t *testing.T) {
	dir := t.TempDir()
	docx, xlsx, pptx := officeDocs(t)
	write(t, filepath.Join(dir, "a.txt"), []byte("contact jane@corp.io\n"))
	write(t, filepath.Join(dir, "logs/b.log.gz"), gz(t, []byte("x\nclient 203.0.113.9 ok\n")))
	write(t, filepath.Join(dir, "c.zip"), zipOf(t, "inner/d.csv", "name,ssn\nJo,536221234\n",
		"inner/e.zip", string(zipOf(t, "f.txt", "\n\nSSN 536-22-1234"))))
	write(t, filepath.Join(dir, "r.docx"), docx)
	write(t, filepath.Join(dir, "s.xlsx"), xlsx)
	write(t, filepath.Join(dir, "p.pptx"), pptx)
	write(t, filepath.Join(dir, "bin.dat"), []byte("\x00\x01\x02 jane@corp.io"))
	write(t, filepath.Join(dir, "doc.pdf"), []byte("%PDF-1.7\n..."))
	write(t, filepath.Join(dir, "trunc.gz"), gz(t, []byte("mail bob@corp.io\n"+strings.Repeat("z", 5000)))[:40])
	u16 := []byte{0xFF, 0xFE}
	for _, r := range "SSN 536-22-1234\n" {
		u16 = append(u16, byte(r), 0)
	}
	write(t, filepath.Join(dir, "u16.txt"), u16)
	os.Symlink(dir, filepath.Join(dir, "loop"))                      // a loop back to the root
	os.Symlink(filepath.Join(dir, "a.txt"), filepath.Join(dir, "z")) // a second way to a.txt
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "broken"))

	fs, skips, sum := scanTargets(t, Config{}, dir)
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s %s:%d:%d", f.Type, strings.TrimPrefix(f.Path, dir+"/"), f.Line, f.Col))
	}
	want := []string{
		"email a.txt:1:9",
		"us_ssn c.zip/inner/d.csv:2:4",
		"us_ssn c.zip/inner/e.zip/f.txt:3:5",
		"ip_address logs/b.log.gz:2:8",
		"phone p.pptx/ppt/slides/slide1.xml:1:6",
		"us_ssn r.docx/word/document.xml:2:6",
		"email s.xlsx/xl/worksheets/sheet1.xml:3:1",
		"us_ssn s.xlsx/xl/worksheets/sheet1.xml:3:13",
		"us_ssn u16.txt:1:5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	reasons := fmt.Sprint(skips)
	for _, w := range []string{"broken: does not exist", "doc.pdf: PDF: damaged or unsupported file; not scanned", "trunc.gz"} {
		if !strings.Contains(reasons, strings.SplitN(w, ":", 2)[0]) || !strings.Contains(reasons, strings.SplitN(w, ": ", 2)[len(strings.SplitN(w, ": ", 2))-1]) {
			t.Errorf("skips %s: missing %q", reasons, w)
		}
	}
	if sum.Binary != 1 {
		t.Errorf("binary files %d, want 1", sum.Binary)
	}
	for _, s := range skips {
		if strings.Contains(s.Reason, "bob@corp.io") || strings.Contains(s.Reason, "536") {
			t.Errorf("a skip reason carries content: %v", s)
		}
	}
}

func TestArchiveCaps(t *testing.T) {
	dir := t.TempDir()
	zeros := make([]byte, 30<<20)
	write(t, filepath.Join(dir, "bomb.zip"), zipOf(t, "z.txt", string(zeros)))
	write(t, filepath.Join(dir, "bomb.gz"), gz(t, bytes.Repeat([]byte("a"), 30<<20)))
	nested := zipOf(t, "deep.txt", "SSN 536-22-1234")
	for range 6 {
		nested = zipOf(t, "n.zip", string(nested))
	}
	write(t, filepath.Join(dir, "nested.zip"), nested)
	fs, skips, _ := scanTargets(t, Config{}, dir)
	if len(fs) != 0 {
		t.Errorf("findings past the caps: %v", short(fs))
	}
	var reasons string
	for _, s := range skips {
		reasons += s.Where + ": " + s.Reason + "\n"
	}
	for _, w := range []string{"bomb.zip/z.txt: compression ratio", "bomb.gz: stopped: expansion ratio", "nested deeper than 4"} {
		if !strings.Contains(reasons, w) {
			t.Errorf("skips %s: missing %q", reasons, w)
		}
	}
	// Raising the depth cap reaches the value.
	fs, _, _ = scanTargets(t, Config{MaxDepth: 10}, filepath.Join(dir, "nested.zip"))
	if len(fs) != 1 || !strings.HasSuffix(fs[0].Path, "n.zip/n.zip/n.zip/n.zip/n.zip/n.zip/deep.txt") {
		t.Errorf("deep: %v", short(fs))
	}
}

func TestStdinAndTypes(t *testing.T) {
	in := strings.NewReader("SSN 536-22-1234 mail jane@corp.io\n")
	fs, _, sum := scanTargets(t, Config{Stdin: in, Types: []Type{Email}}, "-")
	if len(fs) != 1 || fs[0].Type != Email || fs[0].Path != "-" || sum.Bytes != 34 {
		t.Errorf("stdin: %v, %+v", short(fs), sum)
	}
}
