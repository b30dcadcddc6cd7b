package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/onboard"
	"github.com/attest-hq/attest/store"
)

// maxFormBody caps the url-encoded forms of pages anyone can reach.
const maxFormBody = 64 << 10

// --- first-run set-up ---

type setupPage struct {
	Org    string
	Email  string
	Errors formErrors
}

// orgsExist reports whether set-up has been done; set-up is only open
// while it has not.
func (s *Server) orgsExist(ctx context.Context) (bool, error) {
	n, err := account.CountOrgs(ctx, s.db.Q())
	if err != nil {
		return false, fmt.Errorf("count organisations: %w", err)
	}
	return n > 0, nil
}

func (s *Server) setupForm(w http.ResponseWriter, r *http.Request, c *call) error {
	done, err := s.orgsExist(r.Context())
	if err != nil {
		return err
	}
	if done {
		return redirect(w, r, "/login")
	}
	return s.show(w, r, nil, http.StatusOK, "setup.html", "Set up Attest", "", setupPage{})
}

func (s *Server) setupSubmit(w http.ResponseWriter, r *http.Request, c *call) error {
	done, err := s.orgsExist(r.Context())
	if err != nil {
		return err
	}
	if done {
		return attest.NotFound("set-up (Attest is already set up)")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	in := setupPage{Org: r.PostFormValue("org"), Email: r.PostFormValue("email")}
	secret, sess, err := s.createFirstOrg(r.Context(), in.Org, in.Email, r.PostFormValue("password"), r.PostFormValue("password2"))
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		in.Errors = errs
		return s.show(w, r, nil, status, "setup.html", "Set up Attest", "", in)
	}
	s.setSessionCookie(w, secret, sess.ExpiresAt)
	return redirect(w, r, "/account/totp?setup=1")
}

// createFirstOrg creates the organisation, its owner with the password
// they chose, and the control library, in one transaction, and logs the
// owner in.
func (s *Server) createFirstOrg(ctx context.Context, orgName, email, password, confirm string) (string, account.Session, error) {
	name, err := account.ValidateOrgName(orgName)
	if err != nil {
		return "", account.Session{}, err
	}
	if email, err = account.NormalizeEmail("email", email); err != nil {
		return "", account.Session{}, err
	}
	if err := account.ValidatePassword("password", password); err != nil {
		return "", account.Session{}, err
	}
	if password != confirm {
		return "", account.Session{}, attest.Invalid("password2", "does not match the password")
	}
	// Hash before the transaction: argon2 is deliberately slow and the
	// write lock need not wait for it.
	hash, err := account.HashPassword(password)
	if err != nil {
		return "", account.Session{}, fmt.Errorf("hash password: %w", err)
	}
	var secret string
	var sess account.Session
	err = s.db.InTx(ctx, attest.Actor{Email: email, Via: "setup"}, func(tx *store.Tx) error {
		// Checked again inside the transaction, under a lock held across
		// instances: two set-ups racing must not both win.
		if err := tx.Lock(ctx, "first-run-setup"); err != nil {
			return fmt.Errorf("lock set-up: %w", err)
		}
		n, err := account.CountOrgs(ctx, tx)
		if err != nil {
			return fmt.Errorf("count organisations: %w", err)
		}
		if n > 0 {
			return attest.Conflict("Attest is already set up; log in instead")
		}
		made, err := onboard.NewOrg(ctx, tx, name, email)
		if err != nil {
			return err
		}
		if err := account.SetPasswordHash(ctx, tx, made.Owner.ID, hash); err != nil {
			return err
		}
		secret, sess, err = account.CreateSession(ctx, tx, made.Owner.ID, made.Org.ID, false)
		return err
	})
	return secret, sess, err
}

// --- login ---

type loginPage struct {
	Email  string
	Next   string
	Errors formErrors
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, c *call) error {
	next := safeNext(r.URL.Query().Get("next"))
	if c.Session != nil {
		if c.Session.MFAPending {
			return redirect(w, r, "/login/totp?next="+url.QueryEscape(next))
		}
		return redirect(w, r, next)
	}
	done, err := s.orgsExist(r.Context())
	if err != nil {
		return err
	}
	if !done {
		return redirect(w, r, "/setup")
	}
	return s.show(w, r, c, http.StatusOK, "login.html", "Log in", "", loginPage{Next: next})
}

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	in := loginPage{Email: r.PostFormValue("email"), Next: safeNext(r.PostFormValue("next"))}
	fail := func(err error) error {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		in.Errors = errs
		return s.show(w, r, nil, status, "login.html", "Log in", "", in)
	}
	if !s.limiter.allow(clientIP(r), time.Now()) {
		return fail(errTooManyAttempts)
	}
	u, err := account.CheckLogin(r.Context(), s.db, in.Email, r.PostFormValue("password"))
	if err != nil {
		return fail(err)
	}
	org, role, err := account.FirstOrg(r.Context(), s.db.Q(), u.ID)
	if err != nil {
		return err
	}
	// A new session at every login: an identifier planted before login
	// is worth nothing after it.
	actor := attest.Actor{UserID: u.ID, Email: u.Email, OrgID: org, Role: role, Via: "session"}
	var secret string
	var sess account.Session
	err = s.db.InTx(r.Context(), actor, func(tx *store.Tx) error {
		if c.sessionSecret != "" {
			if err := account.EndSession(r.Context(), tx, c.sessionSecret); err != nil {
				return fmt.Errorf("end previous session: %w", err)
			}
		}
		secret, sess, err = account.CreateSession(r.Context(), tx, u.ID, org, u.TOTPEnabled)
		return err
	})
	if err != nil {
		return err
	}
	s.setSessionCookie(w, secret, sess.ExpiresAt)
	if sess.MFAPending {
		return redirect(w, r, "/login/totp?next="+url.QueryEscape(in.Next))
	}
	return redirect(w, r, in.Next)
}

type totpLoginPage struct {
	Next   string
	CSRF   string
	Errors formErrors
}

// mfaSession returns the caller's session when it still owes its second
// factor; otherwise it redirects where they belong and returns nil.
func mfaSession(w http.ResponseWriter, r *http.Request, c *call, next string) *account.Session {
	switch {
	case c.Session == nil:
		redirect(w, r, "/login?next="+url.QueryEscape(next))
		return nil
	case !c.Session.MFAPending:
		redirect(w, r, next)
		return nil
	}
	return c.Session
}

func (s *Server) totpLoginForm(w http.ResponseWriter, r *http.Request, c *call) error {
	next := safeNext(r.URL.Query().Get("next"))
	sess := mfaSession(w, r, c, next)
	if sess == nil {
		return nil
	}
	return s.show(w, r, c, http.StatusOK, "login_totp.html", "Authenticator code", "", totpLoginPage{Next: next, CSRF: sess.CSRFToken})
}

func (s *Server) totpLoginSubmit(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	next := safeNext(r.PostFormValue("next"))
	sess := mfaSession(w, r, c, next)
	if sess == nil {
		return nil
	}
	if err := checkCSRF(r, sess.CSRFToken); err != nil {
		return err
	}
	in := totpLoginPage{Next: next, CSRF: sess.CSRFToken}
	fail := func(err error) error {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		in.Errors = errs
		return s.show(w, r, c, status, "login_totp.html", "Authenticator code", "", in)
	}
	if !s.limiter.allow(clientIP(r), time.Now()) {
		return fail(errTooManyAttempts)
	}
	if err := account.VerifyTOTP(s.sealer, sess.User, r.PostFormValue("code"), s.db.Now()); err != nil {
		return fail(err)
	}
	var secret string
	err := s.db.InTx(r.Context(), actorOf(sess), func(tx *store.Tx) error {
		var err error
		secret, err = account.CompleteMFA(r.Context(), tx, c.sessionSecret)
		return err
	})
	if err != nil {
		return err
	}
	s.setSessionCookie(w, secret, sess.ExpiresAt)
	return redirect(w, r, next)
}

// logout ends the caller's session, a half-finished login included. It is
// public so that it works in either state; the CSRF token is checked here
// since requireSession does not run for public routes.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.Session != nil {
		if err := checkCSRF(r, c.Session.CSRFToken); err != nil {
			return err
		}
		err := s.db.InTx(r.Context(), actorOf(c.Session), func(tx *store.Tx) error {
			return account.EndSession(r.Context(), tx, c.sessionSecret)
		})
		if err != nil {
			return err
		}
	}
	s.clearSessionCookie(w)
	return redirect(w, r, "/login?done=logout")
}

// --- own account ---

type passwordPage struct {
	Forced bool // the current password is a one-time password
	Errors formErrors
}

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.show(w, r, c, http.StatusOK, "password.html", "Change your password", "",
		passwordPage{Forced: c.Session.User.MustChangePassword})
}

func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request, c *call) error {
	in := passwordPage{Forced: c.Session.User.MustChangePassword}
	fail := func(err error) error {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		in.Errors = errs
		return s.show(w, r, c, status, "password.html", "Change your password", "", in)
	}
	current, pw, confirm := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("password2")
	if err := account.ValidatePassword("password", pw); err != nil {
		return fail(err)
	}
	if pw != confirm {
		return fail(attest.Invalid("password2", "does not match the new password"))
	}
	if pw == current {
		return fail(attest.Invalid("password", "must differ from the current password"))
	}
	if !s.limiter.allow(clientIP(r), time.Now()) {
		return fail(errTooManyAttempts)
	}
	// The current password proves it is the person and not someone at
	// their unlocked screen; failures count toward the lockout.
	if _, err := account.CheckLogin(r.Context(), s.db, c.Actor.Email, current); err != nil {
		if attest.KindOf(err) == attest.KindUnauthenticated {
			err = attest.Invalid("current", "is not your current password")
		}
		return fail(err)
	}
	// SetPassword ends every session of the user; this browser gets a
	// fresh one, already past its second factor.
	var secret string
	var sess account.Session
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		if err := account.SetPassword(r.Context(), tx, c.Actor.UserID, pw); err != nil {
			return err
		}
		var err error
		secret, sess, err = account.CreateSession(r.Context(), tx, c.Actor.UserID, c.Actor.OrgID, false)
		return err
	})
	if err != nil {
		return fail(err)
	}
	s.setSessionCookie(w, secret, sess.ExpiresAt)
	return redirect(w, r, "/?done=password")
}

type totpPage struct {
	Enabled    bool
	Required   bool // the organisation requires a second factor
	FromSetup  bool
	Confirming bool         // a secret was generated and awaits a code
	Secret     string       // shown once, right after it is generated
	URL        string       // the otpauth:// URL
	QR         template.URL // data: URL of a PNG QR code
	Errors     formErrors
}

func (s *Server) totpPageFor(r *http.Request, c *call) (totpPage, error) {
	o, err := account.GetOrg(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return totpPage{}, err
	}
	return totpPage{Enabled: c.Session.User.TOTPEnabled, Required: o.RequireTOTP, FromSetup: r.URL.Query().Get("setup") == "1"}, nil
}

func (s *Server) totpForm(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.totpPageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "totp.html", "Authenticator", "", p)
}

func (s *Server) totpBegin(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.totpPageFor(r, c)
	if err != nil {
		return err
	}
	if p.Enabled {
		// Starting over would switch the current factor off until the
		// new one is confirmed.
		return attest.Conflict("your authenticator is already set up")
	}
	var qr []byte
	err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
		key, err := account.BeginTOTP(r.Context(), tx, s.sealer, c.Session.User, s.issuer)
		if err != nil {
			return err
		}
		img, err := key.Image(220, 220)
		if err != nil {
			return fmt.Errorf("draw TOTP QR code: %w", err)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			return fmt.Errorf("encode TOTP QR code: %w", err)
		}
		qr = b.Bytes()
		p.Secret, p.URL = key.Secret(), key.URL()
		return nil
	})
	if err != nil {
		return err
	}
	p.Confirming = true
	p.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(qr))
	return s.show(w, r, c, http.StatusOK, "totp.html", "Authenticator", "", p)
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.totpPageFor(r, c)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p.Confirming, p.Errors = true, errs
		return s.show(w, r, c, status, "totp.html", "Authenticator", "", p)
	}
	if p.Enabled {
		return redirect(w, r, "/account/totp")
	}
	if !s.limiter.allow(clientIP(r), time.Now()) {
		return fail(errTooManyAttempts)
	}
	err = s.inTx(r.Context(), c, func(tx *store.Tx) error {
		return account.ConfirmTOTP(r.Context(), tx, s.sealer, c.Actor.UserID, r.PostFormValue("code"))
	})
	if err != nil {
		return fail(err)
	}
	return redirect(w, r, "/?done=totp")
}
