package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// ui holds the parsed templates: each page is the layout plus its own
// file, parsed once at start.
type ui struct {
	pages map[string]*template.Template
}

func newUI() (*ui, error) {
	u := &ui{pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := n[len("templates/"):]
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFiles, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", n, err)
		}
		u.pages[base] = t
	}
	return u, nil
}

func (u *ui) static() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	return http.FileServerFS(sub)
}

// Page is what every template receives: the base fields plus the page's
// own data in Data.
type Page struct {
	Title   string
	User    string
	Role    attest.Role
	OrgName string
	Orgs    []account.OrgChoice // the user's orgs, when more than one
	CSRF    string
	Flash   string
	Section string // the navigation entry to mark as current
	Data    any
}

// Can reports whether the logged-in user may perform action, so templates
// show a link or a form only to those the route table would let through.
func (p Page) Can(action Action) bool {
	return p.User != "" && Allowed(p.Role, action)
}

// render writes a page through a buffer so a template error becomes an
// error page rather than half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, p Page) error {
	t, ok := s.ui.pages[name]
	if !ok {
		return fmt.Errorf("no template %s", name)
	}
	return renderBuffered(w, status, "text/html; charset=utf-8", func(b *bytes.Buffer) error {
		return t.ExecuteTemplate(b, "layout.html", p)
	})
}

// uiError shows an error to a person: a login redirect when they are not
// logged in, otherwise an error page with the safe message.
func (s *Server) uiError(w http.ResponseWriter, r *http.Request, c *call, err error) {
	if attest.KindOf(err) == attest.KindUnauthenticated && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	p := problemFor(err)
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
	}
	page := Page{Title: p.Title, Data: p}
	if c != nil && c.Session != nil && !c.Session.MFAPending {
		page.User, page.Role, page.CSRF = c.Session.User.Email, c.Session.Role, c.Session.CSRFToken
	}
	if rerr := s.render(w, p.Status, "error.html", page); rerr != nil {
		s.log.Error("render error page", "err", rerr)
		http.Error(w, p.Detail, p.Status)
	}
}
