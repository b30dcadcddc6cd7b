package pii

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ledongthuc/pdf"
)

// PDF text is extracted with github.com/ledongthuc/pdf (pure Go, maintained,
// recovers from malformed content streams). Each page's text follows the
// previous one; Line is the line of that extracted text. A PDF the library
// cannot open (encrypted, damaged) is listed as not scanned, with the reason.

// maxPDFPages caps the pages read from one PDF.
const maxPDFPages = 10000

func (s *Scanner) scanPDF(ctx context.Context, in input, br *bufio.Reader, b *budget) {
	ra, size := in.ra, in.size // a file is read at random where it is
	if ra == nil || size < 0 {
		data, err := io.ReadAll(io.LimitReader(br, s.cfg.MaxInMemory+1))
		if err != nil {
			s.skip(in.name, "read: "+errString(err))
			return
		}
		if int64(len(data)) > s.cfg.MaxInMemory {
			s.skip(in.name, fmt.Sprintf("PDF inside an archive or on stdin is larger than %d bytes; not scanned", s.cfg.MaxInMemory))
			return
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	r, err := openPDF(ra, size)
	if err != nil {
		s.skip(in.name, "PDF: "+err.Error())
		return
	}
	pages := r.NumPage()
	text := &pdfText{r: r, pages: min(pages, maxPDFPages)}
	lr := &limitReader{r: text, b: b}
	s.scanText(ctx, in.name, ".txt", lr, nil)
	switch {
	case text.failed > 0:
		s.skip(in.name, fmt.Sprintf("PDF: text of %d of %d pages could not be extracted (damaged or unusual encoding)", text.failed, pages))
	case pages > maxPDFPages:
		s.skip(in.name, fmt.Sprintf("PDF: only the first %d of %d pages scanned", maxPDFPages, pages))
	}
}

// openPDF opens a PDF, turning the library's errors (and any panic) into a
// reason that carries none of the file's content.
func openPDF(ra io.ReaderAt, size int64) (r *pdf.Reader, err error) {
	defer func() {
		if recover() != nil {
			r, err = nil, errors.New("damaged file; not scanned")
		}
	}()
	r, err = pdf.NewReader(ra, size)
	switch {
	case errors.Is(err, pdf.ErrInvalidPassword):
		return nil, errors.New("encrypted; not scanned")
	case err != nil:
		if strings.Contains(strings.ToLower(err.Error()), "encrypt") {
			return nil, errors.New("encrypted; not scanned")
		}
		return nil, errors.New("damaged or unsupported file; not scanned")
	}
	return r, nil
}

// pdfText reads the text of a PDF page after page, so only one page's text
// is in memory at a time.
type pdfText struct {
	r      *pdf.Reader
	pages  int
	next   int // pages are numbered from 1
	cur    strings.Reader
	failed int
}

func (t *pdfText) Read(p []byte) (int, error) {
	for t.cur.Len() == 0 {
		if t.next >= t.pages {
			return 0, io.EOF
		}
		t.next++
		text, err := pageText(t.r, t.next)
		if err != nil {
			t.failed++
			continue
		}
		t.cur.Reset(text + "\n")
	}
	return t.cur.Read(p)
}

func pageText(r *pdf.Reader, n int) (text string, err error) {
	defer func() {
		if recover() != nil {
			text, err = "", errors.New("page could not be read")
		}
	}()
	p := r.Page(n)
	if p.V.IsNull() {
		return "", nil
	}
	return p.GetPlainText(nil)
}
