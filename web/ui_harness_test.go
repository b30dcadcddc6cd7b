package web

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/store"
)

// uiEnv is a real server over a real database, reached through the real
// mux by HTTP, as a browser would.
type uiEnv struct {
	t   *testing.T
	db  *store.DB
	srv *Server
	ts  *httptest.Server
}

func newUIEnv(t *testing.T, db *store.DB) *uiEnv {
	t.Helper()
	master := make([]byte, keyring.KeySize)
	rand.Read(master)
	kr, err := keyring.FromBytes(master)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewDisk(t.TempDir(), kr)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{DB: db, Sealer: kr, Blobs: blobs, MaxUpload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &uiEnv{t: t, db: db, srv: srv, ts: ts}
}

// seedOrg creates an org with its control library and an owner whose
// password is known, as set-up would.
func (e *uiEnv) seedOrg(name, email, password string) (attest.OrgID, string) {
	e.t.Helper()
	ctx := context.Background()
	var org attest.OrgID
	var userID string
	err := e.db.InTx(ctx, attest.Actor{Email: "system", Via: "test"}, func(tx *store.Tx) error {
		o, err := account.CreateOrg(ctx, tx, name)
		if err != nil {
			return err
		}
		m, _, err := account.AddMember(ctx, tx, o.ID, email, attest.RoleOwner)
		if err != nil {
			return err
		}
		org, userID = o.ID, m.ID
		_, err = control.SeedLibrary(ctx, tx, o.ID)
		return err
	})
	if err != nil {
		e.t.Fatalf("seed org: %v", err)
	}
	e.setPassword(org, userID, password)
	return org, userID
}

// addUser adds a member with role and, when password is not empty, sets it
// so they need not change it. It returns the user id and the one-time
// password AddMember issued.
func (e *uiEnv) addUser(org attest.OrgID, email string, role attest.Role, password string) (string, string) {
	e.t.Helper()
	ctx := context.Background()
	var id, once string
	err := e.db.InTx(ctx, attest.System(org), func(tx *store.Tx) error {
		m, pw, err := account.AddMember(ctx, tx, org, email, role)
		id, once = m.ID, pw
		return err
	})
	if err != nil {
		e.t.Fatalf("add %s: %v", email, err)
	}
	if password != "" {
		e.setPassword(org, id, password)
	}
	return id, once
}

func (e *uiEnv) setPassword(org attest.OrgID, userID, password string) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.db.InTx(ctx, attest.System(org), func(tx *store.Tx) error {
		return account.SetPassword(ctx, tx, userID, password)
	}); err != nil {
		e.t.Fatalf("set password: %v", err)
	}
}

// controlByCode finds a seeded control.
func (e *uiEnv) controlByCode(org attest.OrgID, code string) control.Control {
	e.t.Helper()
	cs, err := control.List(context.Background(), e.db.Q(), org, control.Filter{Query: code})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		if c.Code == code {
			return c
		}
	}
	e.t.Fatalf("no control %s", code)
	return control.Control{}
}

// browser is one cookie jar that does not follow redirects, so tests see
// each hop.
type browser struct {
	e      *uiEnv
	client *http.Client
}

func (e *uiEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is a response with its body read.
type page struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(body), Header: res.Header}
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.ts.URL+path, nil)
	return b.do(req)
}

// post sends a url-encoded form as is (add "csrf" yourself, or use submit).
func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// submit posts a form with the CSRF token of the page at from.
func (b *browser) submit(from, path string, form url.Values) page {
	b.e.t.Helper()
	form.Set("csrf", b.csrf(from))
	return b.post(path, form)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the session's token from a page's form.
func (b *browser) csrf(from string) string {
	b.e.t.Helper()
	p := b.get(from)
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		b.e.t.Fatalf("no csrf field on %s (status %d)", from, p.Status)
	}
	return html.UnescapeString(m[1])
}

// follow gets path and follows redirects, returning the final page and
// its path.
func (b *browser) follow(path string) (page, string) {
	b.e.t.Helper()
	for range 10 {
		p := b.get(path)
		if p.Status != http.StatusSeeOther && p.Status != http.StatusFound {
			return p, path
		}
		path = p.Location
	}
	b.e.t.Fatalf("too many redirects from %s", path)
	return page{}, ""
}

// login posts the login form and expects to be let in (or sent on to the
// second factor).
func (b *browser) login(email, password string) page {
	b.e.t.Helper()
	p := b.post("/login", url.Values{"email": {email}, "password": {password}})
	if p.Status != http.StatusSeeOther {
		b.e.t.Fatalf("login %s: status %d, want 303\n%s", email, p.Status, excerpt(p.Body))
	}
	return p
}

func (b *browser) cookie() string {
	u, _ := url.Parse(b.e.ts.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == b.e.srv.sessionCookieName() {
			return c.Value
		}
	}
	return ""
}

// hasHook reports whether the page has an element with data-test-id id.
func (p page) hasHook(id string) bool {
	return strings.Contains(p.Body, `data-test-id="`+id+`"`)
}

// hook returns the text of the leaf element with data-test-id id,
// entities decoded; "" when there is none.
func (p page) hook(id string) string {
	m := regexp.MustCompile(`data-test-id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(html.UnescapeString(m[1]))
}

func excerpt(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

func (p page) want(t *testing.T, status int, hooks ...string) {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d (Location %q)\n%s", p.Status, status, p.Location, excerpt(p.Body))
	}
	for _, h := range hooks {
		if !p.hasHook(h) {
			t.Fatalf("no data-test-id=%q on the page\n%s", h, excerpt(p.Body))
		}
	}
}
