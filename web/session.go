package web

import (
	"context"
	"crypto/subtle"
	"mime"
	"net/http"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/store"
)

// SessionCookie is the name of the session cookie. The __Host- prefix (when
// Secure) pins it to this host and path, so a sibling subdomain cannot set it.
func (s *Server) sessionCookieName() string {
	if s.secure {
		return "__Host-attest_session"
	}
	return "attest_session"
}

// setSessionCookie stores secret in a Secure (when served over TLS),
// HttpOnly, SameSite=Lax cookie that lives as long as the session.
func (s *Server) setSessionCookie(w http.ResponseWriter, secret string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(), Value: secret, Path: "/", Expires: expires,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// loadSession resolves the cookie, if any, to a live session.
func (s *Server) loadSession(r *http.Request) (*account.Session, string, error) {
	ck, err := r.Cookie(s.sessionCookieName())
	if err != nil || ck.Value == "" {
		return nil, "", errNoSession
	}
	sess, err := account.LookupSession(r.Context(), s.db.Q(), ck.Value, s.db.Now())
	if err != nil {
		return nil, "", err
	}
	return &sess, ck.Value, nil
}

func (s *Server) optionalSession(r *http.Request, c *call) {
	if sess, secret, err := s.loadSession(r); err == nil {
		c.Session, c.sessionSecret = sess, secret
		c.Actor = actorOf(sess)
	}
}

func actorOf(sess *account.Session) attest.Actor {
	return attest.Actor{UserID: sess.UserID, Email: sess.User.Email, OrgID: sess.OrgID, Role: sess.Role, Via: "session"}
}

// requireSession authenticates a UI request, demands a completed second
// factor, and checks the CSRF token on unsafe methods. The token is a
// second line of defence behind Go's cross-origin protection, which relies
// on browsers sending Sec-Fetch-Site or Origin.
func (s *Server) requireSession(w http.ResponseWriter, r *http.Request, c *call) error {
	sess, secret, err := s.loadSession(r)
	if err != nil {
		return attest.Unauthenticated("log in to continue")
	}
	if sess.MFAPending {
		return attest.Unauthenticated("finish logging in with your authenticator code")
	}
	c.Session, c.sessionSecret, c.Actor = sess, secret, actorOf(sess)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := checkCSRF(r, sess.CSRFToken); err != nil {
			return err
		}
	}
	return nil
}

func checkCSRF(r *http.Request, want string) error {
	got := r.Header.Get("X-CSRF-Token")
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); got == "" && ct == "multipart/form-data" {
		// Reading the token from a multipart body would buffer the whole
		// upload before the handler can cap and stream it, so upload forms
		// carry the token in their action URL instead.
		got = r.URL.Query().Get("csrf")
	} else if got == "" {
		got = r.PostFormValue("csrf")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return attest.Forbidden("the form expired or came from another site; reload the page and try again")
	}
	return nil
}

// inTx runs fn as the caller.
func (s *Server) inTx(ctx context.Context, c *call, fn func(tx *store.Tx) error) error {
	return s.db.InTx(ctx, c.Actor, fn)
}
