package policy

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/yuin/goldmark"
	gast "github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/store"
)

// markdown renders CommonMark with tables. Raw HTML in the source is
// dropped and dangerous link targets (javascript: and the like) are
// removed, because goldmark's unsafe mode is left off.
var markdown = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

// RenderHTML turns a policy's Markdown into HTML that is safe to embed in
// a page.
func RenderHTML(content string) (template.HTML, error) {
	var b bytes.Buffer
	if err := markdown.Convert([]byte(content), &b); err != nil {
		return "", fmt.Errorf("render policy: %w", err)
	}
	return template.HTML(b.String()), nil
}

func parseMarkdown(content string) (gast.Node, []byte) {
	src := []byte(content)
	return markdown.Parser().Parse(text.NewReader(src)), src
}

// Document is one version of a policy ready to export.
type Document struct {
	PolicyID string
	Version  Version
	Owner    string
	// ReviewDue is the policy's next review date (zero if never published).
	ReviewDue time.Time
}

// Export is a set of documents with what the cover page says.
type Export struct {
	Company   string
	Generated time.Time
	Documents []Document
}

// PublishedSet gathers the current published version of every policy of
// org, ordered by title: the set a company hands to its auditor.
func PublishedSet(ctx context.Context, q store.Querier, org attest.OrgID, now time.Time) (Export, error) {
	o, err := account.GetOrg(ctx, q, org)
	if err != nil {
		return Export{}, err
	}
	ps, err := List(ctx, q, org, Filter{}, now)
	if err != nil {
		return Export{}, err
	}
	ex := Export{Company: o.Name, Generated: now}
	for _, p := range ps {
		if p.Published == nil {
			continue
		}
		v, err := VersionByNumber(ctx, q, org, p.ID, p.Published.Number)
		if err != nil {
			return Export{}, err
		}
		ex.Documents = append(ex.Documents, Document{PolicyID: p.ID, Version: v, Owner: p.Owner, ReviewDue: p.ReviewDue})
	}
	return ex, nil
}

// OneVersion gathers one version of one policy (the published one when
// number is 0) for export.
func OneVersion(ctx context.Context, q store.Querier, org attest.OrgID, policyID string, number int, now time.Time) (Export, error) {
	o, err := account.GetOrg(ctx, q, org)
	if err != nil {
		return Export{}, err
	}
	p, err := Get(ctx, q, org, policyID, now)
	if err != nil {
		return Export{}, err
	}
	if number == 0 {
		if p.Published == nil {
			return Export{}, attest.Conflict("this policy has no published version yet; name a version to export a draft")
		}
		number = p.Published.Number
	}
	v, err := VersionByNumber(ctx, q, org, policyID, number)
	if err != nil {
		return Export{}, err
	}
	return Export{Company: o.Name, Generated: now, Documents: []Document{{PolicyID: p.ID, Version: v, Owner: p.Owner, ReviewDue: p.ReviewDue}}}, nil
}

// Facts are the lines printed above each exported policy.
func (d Document) Facts() [][2]string {
	v := d.Version
	stamp := func(t *time.Time) string {
		if t == nil {
			return "not yet"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	status := string(v.Status)
	if v.Status == StatusPublished && !v.Current {
		status = "superseded"
	}
	approver := v.Approver
	if approver == "" {
		approver = "not yet approved"
	} else if v.SelfApproved {
		approver += " (approved by its author)"
	}
	facts := [][2]string{
		{"Version", fmt.Sprintf("%d (%s)", v.Number, status)},
		{"Owner", orDash(d.Owner)},
		{"Approved by", approver},
		{"Approved", stamp(v.ApprovedAt)},
		{"Published", stamp(v.PublishedAt)},
	}
	if !d.ReviewDue.IsZero() {
		facts = append(facts, [2]string{"Next review", d.ReviewDue.Format("2006-01-02")})
	}
	return append(facts, [2]string{"SHA-256", v.ContentHash})
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

var exportPage = template.Must(template.New("export").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{.Company}} policies</title>
<style>
body{font-family:Georgia,serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2330;line-height:1.5}
h1,h2,h3{font-family:system-ui,sans-serif}
.cover{border-bottom:2px solid #1d2330;margin-bottom:2rem}
table.facts{font-family:system-ui,sans-serif;font-size:.85rem;border-collapse:collapse;margin:1rem 0;background:#f3f4f6}
table.facts th{text-align:left;padding:.2rem .8rem;font-weight:600}
table.facts td{padding:.2rem .8rem;word-break:break-all}
article{page-break-before:always;border-top:1px solid #ccc;padding-top:1rem}
article table{border-collapse:collapse}article td,article th{border:1px solid #bbb;padding:.3rem .5rem}
</style></head><body>
<section class="cover"><h1>{{.Company}}: policies</h1>
<p>{{len .Docs}} polic{{if eq (len .Docs) 1}}y{{else}}ies{{end}}, exported {{.Generated}}.</p>
<ol>{{range .Docs}}<li><a href="#{{.ID}}">{{.Title}}</a>, version {{.Number}}</li>{{end}}</ol></section>
{{range .Docs}}<article id="{{.ID}}">
<table class="facts">{{range .Facts}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</table>
{{.Body}}
</article>
{{end}}</body></html>
`))

// WriteHTML writes the export as one self-contained HTML document.
func WriteHTML(w io.Writer, ex Export) error {
	type doc struct {
		ID, Title string
		Number    int
		Facts     [][2]string
		Body      template.HTML
	}
	data := struct {
		Company, Generated string
		Docs               []doc
	}{Company: ex.Company, Generated: ex.Generated.UTC().Format("2006-01-02 15:04 UTC")}
	for _, d := range ex.Documents {
		body, err := RenderHTML(d.Version.Content)
		if err != nil {
			return err
		}
		data.Docs = append(data.Docs, doc{ID: d.PolicyID + "-v" + fmt.Sprint(d.Version.Number), Title: d.Version.Title,
			Number: d.Version.Number, Facts: d.Facts(), Body: body})
	}
	var b bytes.Buffer
	if err := exportPage.Execute(&b, data); err != nil {
		return fmt.Errorf("render policy export: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// plainText collects the text of an inline subtree.
func plainText(n gast.Node, src []byte) string {
	var b bytes.Buffer
	gast.Walk(n, func(c gast.Node, entering bool) (gast.WalkStatus, error) {
		if !entering {
			return gast.WalkContinue, nil
		}
		switch t := c.(type) {
		case *gast.Text:
			b.Write(t.Value(src))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *gast.String:
			b.Write(t.Value)
		}
		return gast.WalkContinue, nil
	})
	return b.String()
}
