package pii

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-pdf/fpdf"
)

// pdfOf writes a PDF with one line of text per entry, a page per slice.
func pdfOf(t *testing.T, compress bool, pages ...[]string) []byte {
	t.Helper()
	doc := fpdf.New("P", "mm", "A4", "")
	doc.SetCompression(compress)
	doc.SetFont("Helvetica", "", 12)
	for _, lines := range pages {
		doc.AddPage()
		for _, l := range lines {
			doc.Cell(0, 10, l)
			doc.Ln(10)
		}
	}
	var b bytes.Buffer
	if err := doc.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPDFText(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.pdf"), pdfOf(t, true, []string{"Customer record", "SSN 536-22-1234"}, []string{"contact jane.roe@corp.io"}))
	write(t, filepath.Join(dir, "b.pdf"), pdfOf(t, false, []string{"card 4111 1111 1111 1111"}))
	write(t, filepath.Join(dir, "c.zip"), zipOf(t, "inner.pdf", string(pdfOf(t, true, []string{"DOB: 1985-03-15"}))))
	write(t, filepath.Join(dir, "d.pdf"), pdfOf(t, true, []string{"SSN 536-22-1234"})[:300]) // truncated
	write(t, filepath.Join(dir, "e.pdf"), []byte("%PDF-1.4\n1 0 obj << /Length 999999999 >> stream\n"))

	fs, skips, sum := scanTargets(t, Config{}, dir)
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s %s %s", f.Type, strings.TrimPrefix(f.Path, dir+"/"), f.Redacted))
	}
	for _, w := range []string{"us_ssn a.pdf ***-**-1234", "email a.pdf", "credit_card b.pdf", "date_of_birth c.zip/inner.pdf"} {
		if !strings.Contains(strings.Join(got, "\n"), w) {
			t.Errorf("findings %q: missing %q", got, w)
		}
	}
	reasons := fmt.Sprint(skips)
	for _, w := range []string{"d.pdf", "e.pdf"} {
		if !strings.Contains(reasons, w) || !strings.Contains(reasons, "not scanned") {
			t.Errorf("skips %s: missing %s not scanned", reasons, w)
		}
	}
	// The temp dir's random name may itself hold those digits: look only
	// at what follows it.
	if strings.Contains(strings.ReplaceAll(reasons, dir, ""), "536") {
		t.Errorf("a skip reason carries content: %s", reasons)
	}
	if sum.Files < 3 {
		t.Errorf("files %d, want the three readable PDFs counted", sum.Files)
	}
}

func FuzzPDF(f *testing.F) {
	f.Add([]byte("%PDF-1.4\n%%EOF"))
	f.Add([]byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.HasPrefix(data, []byte("%PDF-")) {
			data = append([]byte("%PDF-1.4\n"), data...)
		}
		r, err := openPDF(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		text := &pdfText{r: r, pages: min(r.NumPage(), 50)}
		var buf [4096]byte
		for {
			if _, err := text.Read(buf[:]); err != nil {
				break
			}
		}
	})
}
