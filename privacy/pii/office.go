package pii

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Office documents (.docx, .xlsx, .pptx) are zip archives of XML. Their text
// is extracted as it streams: a paragraph of a document or slide becomes a
// line, a spreadsheet row becomes a CSV line (row N on line N, so the first
// row's names are column hints).

// officeKind tells an office document by its extension or its parts.
func officeKind(zr *zip.Reader, format string) string {
	switch strings.ToLower(path.Ext(format)) {
	case ".docx", ".docm", ".dotx":
		return "docx"
	case ".xlsx", ".xlsm", ".xltx":
		return "xlsx"
	case ".pptx", ".pptm", ".potx":
		return "pptx"
	}
	for _, f := range zr.File {
		switch f.Name {
		case "word/document.xml":
			return "docx"
		case "xl/workbook.xml":
			return "xlsx"
		case "ppt/presentation.xml":
			return "pptx"
		}
	}
	return ""
}

var (
	docxPart = regexp.MustCompile(`^word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml$`)
	pptxPart = regexp.MustCompile(`^ppt/(slides/slide|notesSlides/notesSlide)\d+\.xml$`)
	xlsxPart = regexp.MustCompile(`^xl/worksheets/sheet\d+\.xml$`)
)

func (s *Scanner) scanOffice(ctx context.Context, in input, zr *zip.Reader, kind string, b *budget) {
	var shared []string
	if kind == "xlsx" {
		for _, f := range zr.File {
			if f.Name == "xl/sharedStrings.xml" {
				var err error
				shared, err = s.readSharedStrings(f, b)
				if err != nil {
					s.skip(in.name+"/"+f.Name, err.Error())
					return
				}
			}
		}
	}
	files := append([]*zip.File(nil), zr.File...)
	sort.SliceStable(files, func(i, j int) bool { return naturalLess(files[i].Name, files[j].Name) })
	for _, f := range files {
		if ctx.Err() != nil {
			return
		}
		var extract func(io.Reader, *bufio.Writer) error
		ext := ""
		switch {
		case kind == "docx" && docxPart.MatchString(f.Name), kind == "pptx" && pptxPart.MatchString(f.Name):
			extract = paragraphs
		case kind == "xlsx" && xlsxPart.MatchString(f.Name):
			extract = func(r io.Reader, w *bufio.Writer) error { return sheetRows(r, w, shared) }
			ext = ".csv"
		default:
			continue
		}
		name := in.name + "/" + f.Name
		if reason := s.entryTooBig(f, b); reason != "" {
			s.skip(name, reason)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			s.skip(name, "zip: "+errString(err))
			continue
		}
		s.scanExtracted(ctx, name, ext, &limitReader{r: rc, b: b}, extract)
		rc.Close()
	}
}

// scanExtracted runs extract in a goroutine that writes text into a pipe the
// scanner reads, so nothing is held whole in memory or written to disk.
func (s *Scanner) scanExtracted(ctx context.Context, name, ext string, r io.Reader, extract func(io.Reader, *bufio.Writer) error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := bufio.NewWriterSize(pw, 64<<10)
		err := extract(r, w)
		if err == nil {
			err = w.Flush()
		}
		pw.CloseWithError(err)
	}()
	s.scanText(ctx, name, ext, pr, nil)
	pr.Close()
	<-done
}

// xmlError hides an XML error's text (which may quote content) behind its line.
func xmlError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("malformed XML at line %d", se.Line)
	}
	if errors.Is(err, errExpanded) || errors.Is(err, errRatio) || errors.Is(err, io.ErrClosedPipe) {
		return err
	}
	return errors.New("malformed XML")
}

// paragraphs writes the text of a WordprocessingML or DrawingML part: the
// content of <t> elements, a tab for <tab/>, a new line for each paragraph
// end and <br/>.
func paragraphs(r io.Reader, w *bufio.Writer) error {
	dec := xml.NewDecoder(r)
	inText := 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "t":
				inText++
			case "tab":
				w.WriteByte('\t')
			case "br", "cr":
				w.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = max(inText-1, 0)
			case "p":
				if err := w.WriteByte('\n'); err != nil {
					return err
				}
			}
		case xml.CharData:
			if inText > 0 {
				if _, err := w.Write(t); err != nil {
					return err
				}
			}
		}
	}
}

// readSharedStrings loads a workbook's shared strings (cells refer to them
// by index), bounded by the expansion budget.
func (s *Scanner) readSharedStrings(f *zip.File, b *budget) ([]string, error) {
	if reason := s.entryTooBig(f, b); reason != "" {
		return nil, errors.New(reason)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip: %s", errString(err))
	}
	defer rc.Close()
	dec := xml.NewDecoder(&limitReader{r: rc, b: b})
	var out []string
	var cur strings.Builder
	inT := false
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				cur.Reset()
			case "t":
				inT = true
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				out = append(out, cur.String())
			case "t":
				inT = false
			}
		case xml.CharData:
			if inT {
				cur.Write(t)
			}
		}
	}
}

// maxSheetGap bounds the blank lines written for skipped rows.
const maxSheetGap = 1 << 20

// sheetRows writes a worksheet as CSV: row N on line N, cell values in
// their columns (shared strings resolved, inline strings and values as is).
func sheetRows(r io.Reader, w *bufio.Writer, shared []string) error {
	dec := xml.NewDecoder(r)
	lastRow, col := 0, 0
	var cellType string
	cellCol := -1
	var val []byte
	inV, inT := false, false
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				rn := lastRow + 1
				if v := attr(t, "r"); v != "" {
					if n, err := strconv.Atoi(v); err == nil && n > lastRow && n-lastRow <= maxSheetGap {
						rn = n
					}
				}
				for ; lastRow < rn-1; lastRow++ {
					w.WriteByte('\n')
				}
				col = 0
			case "c":
				cellType = attr(t, "t")
				cellCol = columnIndex(attr(t, "r"))
				val = val[:0]
			case "v":
				inV = true
			case "t":
				inT = true
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "row":
				lastRow++
				if err := w.WriteByte('\n'); err != nil {
					return err
				}
			case "c":
				// Field c of a line follows exactly c commas; col fields
				// (col-1 commas) are written so far.
				if cellCol < col || cellCol > col+16384 {
					cellCol = col
				}
				written := max(col-1, 0)
				for ; written < cellCol; written++ {
					w.WriteByte(',')
				}
				col = cellCol
				v := val
				if cellType == "s" {
					if i, err := strconv.Atoi(string(val)); err == nil && i >= 0 && i < len(shared) {
						v = []byte(shared[i])
					}
				}
				writeCSVField(w, v)
				col++
			case "v":
				inV = false
			case "t":
				inT = false
			}
		case xml.CharData:
			if inV || inT {
				val = append(val, t...)
			}
		}
	}
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// columnIndex turns "B7" into 1; -1 when there is no column.
func columnIndex(ref string) int {
	n := 0
	k := 0
	for k < len(ref) && ref[k] >= 'A' && ref[k] <= 'Z' && k < 3 {
		n = n*26 + int(ref[k]-'A'+1)
		k++
	}
	return n - 1
}

// writeCSVField writes v as one CSV field on one line: new lines become
// spaces, and the field is quoted when it holds a comma or a quote.
func writeCSVField(w *bufio.Writer, v []byte) {
	quote := false
	for _, c := range v {
		if c == ',' || c == '"' {
			quote = true
			break
		}
	}
	if quote {
		w.WriteByte('"')
	}
	for _, c := range v {
		switch c {
		case '\n', '\r':
			w.WriteByte(' ')
		case '"':
			w.WriteString(`""`)
		default:
			w.WriteByte(c)
		}
	}
	if quote {
		w.WriteByte('"')
	}
}

// naturalLess orders "sheet2.xml" before "sheet10.xml".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := leadingDigits(a), leadingDigits(b)
		if da > 0 && db > 0 {
			na, _ := strconv.Atoi(a[:min(da, 9)])
			nb, _ := strconv.Atoi(b[:min(db, 9)])
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func leadingDigits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
