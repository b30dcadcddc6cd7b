package web_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/control"
	"github.com/attest-hq/attest/evidence"
	"github.com/attest-hq/attest/evidence/blob"
	"github.com/attest-hq/attest/internal/testutil"
	"github.com/attest-hq/attest/keyring"
	"github.com/attest-hq/attest/store"
	"github.com/attest-hq/attest/web"
)

// world is a running server with two orgs: "acme" has one user per role
// (each with an API token and a browser session), "other" has an owner.
type world struct {
	t        *testing.T
	db       *store.DB
	srv      *web.Server
	url      string
	org      attest.OrgID
	tokens   map[attest.Role]string
	sessions map[attest.Role]session
	users    map[attest.Role]attest.Actor
	control  string // a control id of acme
	evidence string // an evidence id of acme
	other    attest.Actor
	otherTok string
	otherCtl string
}

type session struct{ secret, csrf string }

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
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
	srv, err := web.New(web.Config{DB: db, Sealer: kr, Blobs: blobs, MaxUpload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	w := &world{t: t, db: db, srv: srv, url: hs.URL, tokens: map[attest.Role]string{},
		sessions: map[attest.Role]session{}, users: map[attest.Role]attest.Actor{}}

	owner := testutil.Org(t, db, "acme", "owner@acme.example")
	w.org = owner.OrgID
	w.users[attest.RoleOwner] = owner
	for _, r := range attest.Roles[1:] {
		w.users[r] = testutil.Member(t, db, w.org, string(r)+"@acme.example", r)
	}
	must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
		_, err := control.SeedLibrary(ctx, tx, w.org)
		return err
	}))
	for r, u := range w.users {
		// Fixture users have chosen their password, so pages are not
		// gated behind the first-login password change.
		must(t, db.InTx(ctx, u, func(tx *store.Tx) error {
			return account.SetPassword(ctx, tx, u.UserID, "correct horse battery staple")
		}))
		w.tokens[r] = token(t, db, u)
		must(t, db.InTx(ctx, u, func(tx *store.Tx) error {
			secret, s, err := account.CreateSession(ctx, tx, u.UserID, w.org, false)
			w.sessions[r] = session{secret: secret, csrf: s.CSRFToken}
			return err
		}))
	}
	cs, err := control.List(ctx, db.Q(), w.org, control.Filter{})
	if err != nil || len(cs) == 0 {
		t.Fatalf("seeded controls: %d, %v", len(cs), err)
	}
	w.control = cs[0].ID
	must(t, db.InTx(ctx, owner, func(tx *store.Tx) error {
		it, err := evidence.AddNote(ctx, tx, w.org, w.control, evidence.Meta{Title: "Seed note", Note: "MFA is enforced in the IdP."})
		w.evidence = it.ID
		return err
	}))

	w.other = testutil.Org(t, db, "other", "owner@other.example")
	w.otherTok = token(t, db, w.other)
	must(t, db.InTx(ctx, w.other, func(tx *store.Tx) error {
		c, err := control.Create(ctx, tx, w.other.OrgID, control.Control{Code: "OTH-1", Title: "Other org's control", Criteria: []string{"CC6.1"}})
		w.otherCtl = c.ID
		return err
	}))
	return w
}

func token(t *testing.T, db *store.DB, u attest.Actor) string {
	t.Helper()
	var secret string
	must(t, db.InTx(context.Background(), u, func(tx *store.Tx) error {
		var err error
		secret, _, err = account.CreateToken(context.Background(), tx, u.OrgID, u.UserID, "test")
		return err
	}))
	return secret
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// api sends a request with a bearer token (none when tok is "").
func (w *world) api(method, path, tok, body string) (*http.Response, []byte) {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.url+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return w.do(req)
}

func (w *world) do(req *http.Request) (*http.Response, []byte) {
	w.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp, b
}

// browser returns a client with role's session cookie.
func (w *world) browser(role attest.Role) *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := http.NewRequest("GET", w.url, nil)
	jar.SetCookies(u.URL, []*http.Cookie{{Name: "attest_session", Value: w.sessions[role].secret, Path: "/"}})
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}
