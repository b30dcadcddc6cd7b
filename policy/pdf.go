package policy

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-pdf/fpdf"
	gast "github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
)

// PDF layout, in millimetres on A4.
const (
	pdfMargin = 20.0
	pdfLine   = 5.5 // body line height
	pdfBody   = 10.5
)

// WritePDF writes the export as a PDF: a cover page listing the policies,
// then each policy on its own pages, headed by its version, approver and
// dates. The core PDF fonts cover Windows-1252; other characters print as
// a question mark.
func WritePDF(w io.Writer, ex Export) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(true, pdfMargin)
	pdf.SetTitle(ex.Company+" policies", true)
	pdf.SetCreator("Attest", true)
	pdf.AliasNbPages("{nb}")
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	r := &pdfRenderer{pdf: pdf, tr: tr}
	pdf.SetFooterFunc(func() {
		pdf.SetY(-14)
		pdf.SetFont("Helvetica", "", 8)
		pdf.SetTextColor(110, 110, 110)
		pdf.CellFormat(0, 5, tr(fmt.Sprintf("%s · %s · page %d of {nb}", ex.Company, r.footer, pdf.PageNo())), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})

	r.footer = "policies"
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 22)
	pdf.MultiCell(0, 10, tr(ex.Company), "", "L", false)
	pdf.SetFont("Helvetica", "", 16)
	pdf.MultiCell(0, 8, tr("Policies"), "", "L", false)
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "", 10)
	pdf.MultiCell(0, 5, tr(fmt.Sprintf("Exported %s. %d polic%s, each with its version, approver, dates and the SHA-256 of its text.",
		ex.Generated.UTC().Format("2006-01-02 15:04 UTC"), len(ex.Documents), map[bool]string{true: "y", false: "ies"}[len(ex.Documents) == 1])), "", "L", false)
	pdf.Ln(6)
	for i, d := range ex.Documents {
		pdf.SetFont("Helvetica", "", 11)
		pdf.MultiCell(0, 6.5, tr(fmt.Sprintf("%d. %s (version %d)", i+1, d.Version.Title, d.Version.Number)), "", "L", false)
	}
	for _, d := range ex.Documents {
		pdf.AddPage() // prints the previous page's footer first
		r.footer = d.Version.Title + " v" + fmt.Sprint(d.Version.Number)
		pdf.Bookmark(tr(d.Version.Title), 0, -1)
		r.facts(d.Facts())
		doc, src := parseMarkdown(d.Version.Content)
		r.src = src
		r.blocks(doc, 0)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("render policy PDF: %w", err)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("write policy PDF: %w", err)
	}
	return nil
}

type pdfRenderer struct {
	pdf    *fpdf.Fpdf
	tr     func(string) string
	src    []byte
	footer string
}

// facts prints the grey box of version, approver and dates.
func (r *pdfRenderer) facts(facts [][2]string) {
	p := r.pdf
	p.SetFillColor(240, 241, 244)
	p.SetFont("Helvetica", "", 8.5)
	for _, f := range facts {
		p.SetFont("Helvetica", "B", 8.5)
		p.CellFormat(30, 5, r.tr(f[0]), "", 0, "L", true, 0, "")
		p.SetFont("Helvetica", "", 8.5)
		p.MultiCell(0, 5, r.tr(f[1]), "", "L", true)
	}
	p.Ln(4)
}

// blocks renders the block children of n, indented by indent millimetres.
func (r *pdfRenderer) blocks(n gast.Node, indent float64) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		r.block(c, indent)
	}
}

func (r *pdfRenderer) block(n gast.Node, indent float64) {
	p := r.pdf
	p.SetLeftMargin(pdfMargin + indent)
	p.SetX(pdfMargin + indent)
	switch b := n.(type) {
	case *gast.Heading:
		sizes := map[int]float64{1: 17, 2: 13.5, 3: 11.5}
		size, ok := sizes[b.Level]
		if !ok {
			size = pdfBody
		}
		p.Ln(2)
		_, h := p.GetPageSize()
		if p.GetY() > h-pdfMargin-25 { // keep a heading with what follows
			p.AddPage()
		}
		p.SetFont("Helvetica", "B", size)
		p.MultiCell(0, size*0.5, r.tr(plainText(b, r.src)), "", "L", false)
		p.Ln(1.5)
	case *gast.Paragraph, *gast.TextBlock:
		r.inline(n, "")
		p.Ln(pdfLine)
		if _, tight := n.(*gast.TextBlock); !tight {
			p.Ln(1.5)
		}
	case *gast.List:
		num := b.Start
		for item := b.FirstChild(); item != nil; item = item.NextSibling() {
			marker := "\x95"
			if b.IsOrdered() {
				marker = fmt.Sprintf("%d.", num)
				num++
			}
			p.SetFont("Helvetica", "", pdfBody)
			p.SetX(pdfMargin + indent)
			p.CellFormat(6, pdfLine, marker, "", 0, "L", false, 0, "")
			p.SetLeftMargin(pdfMargin + indent + 6)
			first := true
			for c := item.FirstChild(); c != nil; c = c.NextSibling() {
				if !first {
					p.SetX(pdfMargin + indent + 6)
				}
				first = false
				if _, ok := c.(*gast.List); ok {
					r.block(c, indent+6)
					continue
				}
				r.block(c, indent+6)
				p.SetLeftMargin(pdfMargin + indent + 6)
			}
			p.SetLeftMargin(pdfMargin + indent)
		}
		p.Ln(1.5)
	case *gast.Blockquote:
		r.blocks(b, indent+6)
	case *gast.FencedCodeBlock, *gast.CodeBlock:
		var lines []string
		segs := n.Lines()
		for i := 0; i < segs.Len(); i++ {
			s := segs.At(i)
			lines = append(lines, strings.TrimRight(string(s.Value(r.src)), "\n"))
		}
		p.SetFont("Courier", "", 9)
		p.SetFillColor(245, 245, 245)
		p.MultiCell(0, 4.5, r.tr(strings.Join(lines, "\n")), "", "L", true)
		p.Ln(2)
	case *gast.ThematicBreak:
		w, _ := p.GetPageSize()
		y := p.GetY() + 2
		p.Line(pdfMargin+indent, y, w-pdfMargin, y)
		p.Ln(5)
	case *east.Table:
		r.table(b)
	case *gast.HTMLBlock:
		// Raw HTML is not rendered, as on the web page.
	default:
		r.blocks(n, indent)
	}
	p.SetLeftMargin(pdfMargin + indent)
}

// inline writes the inline children of n as flowing text, switching font
// for emphasis and code.
func (r *pdfRenderer) inline(n gast.Node, style string) {
	p := r.pdf
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch t := c.(type) {
		case *gast.Text:
			r.setFont(style)
			p.Write(pdfLine, r.tr(string(t.Value(r.src))))
			if t.HardLineBreak() {
				p.Ln(pdfLine)
			} else if t.SoftLineBreak() {
				p.Write(pdfLine, " ")
			}
		case *gast.String:
			r.setFont(style)
			p.Write(pdfLine, r.tr(string(t.Value)))
		case *gast.Emphasis:
			add := "I"
			if t.Level >= 2 {
				add = "B"
			}
			r.inline(t, style+add)
		case *gast.CodeSpan:
			p.SetFont("Courier", "", pdfBody-0.5)
			p.Write(pdfLine, r.tr(plainText(t, r.src)))
		case *gast.Link:
			r.inline(t, style+"U")
		case *gast.AutoLink:
			r.setFont(style + "U")
			p.Write(pdfLine, r.tr(string(t.Label(r.src))))
		case *gast.RawHTML:
			// dropped, as on the web page
		default:
			r.inline(c, style)
		}
	}
}

func (r *pdfRenderer) setFont(style string) {
	s := ""
	for _, f := range "BIU" {
		if strings.ContainsRune(style, f) {
			s += string(f)
		}
	}
	r.pdf.SetFont("Helvetica", s, pdfBody)
}

// table draws a Markdown table with equal columns, wrapping cell text.
func (r *pdfRenderer) table(t *east.Table) {
	p := r.pdf
	left, _, right, _ := p.GetMargins()
	pw, ph := p.GetPageSize()
	var rows [][]string
	var header []bool
	for row := t.FirstChild(); row != nil; row = row.NextSibling() {
		var cells []string
		for c := row.FirstChild(); c != nil; c = c.NextSibling() {
			cells = append(cells, plainText(c, r.src))
		}
		rows = append(rows, cells)
		header = append(header, row.Kind() == east.KindTableHeader)
	}
	cols := 0
	for _, row := range rows {
		cols = max(cols, len(row))
	}
	if cols == 0 {
		return
	}
	colW := (pw - left - right) / float64(cols)
	const lh = 4.6
	for i, row := range rows {
		style := ""
		if header[i] {
			style = "B"
		}
		p.SetFont("Helvetica", style, 9)
		var split [][]string
		lines := 1
		for j := 0; j < cols; j++ {
			cell := ""
			if j < len(row) {
				cell = row[j]
			}
			s := p.SplitText(r.runes(cell), colW-3)
			split = append(split, s)
			lines = max(lines, len(s))
		}
		h := float64(lines)*lh + 2
		if p.GetY()+h > ph-pdfMargin {
			p.AddPage()
		}
		y := p.GetY()
		for j, s := range split {
			x := left + float64(j)*colW
			if header[i] {
				p.SetFillColor(230, 232, 236)
				p.Rect(x, y, colW, h, "FD")
			} else {
				p.Rect(x, y, colW, h, "D")
			}
			for k, line := range s {
				p.SetXY(x+1.5, y+1+float64(k)*lh)
				p.CellFormat(colW-3, lh, bytesOf(line), "", 0, "L", false, 0, "")
			}
		}
		p.SetXY(left, y+h)
	}
	p.Ln(3)
}

// runes translates s to Windows-1252 and spells each byte as one rune, the
// form SplitText measures correctly; bytesOf turns a line back.
func (r *pdfRenderer) runes(s string) string {
	b := r.tr(s)
	rs := make([]rune, len(b))
	for i := 0; i < len(b); i++ {
		rs[i] = rune(b[i])
	}
	return string(rs)
}

func bytesOf(s string) string {
	rs := []rune(s)
	b := make([]byte, len(rs))
	for i, c := range rs {
		b[i] = byte(c)
	}
	return string(b)
}
