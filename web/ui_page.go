package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/onboard"
	"github.com/attest-hq/attest/store"
)

// newPage fills the base of a page from the caller's session. A session
// still owing its second factor counts as logged out here: it shows no
// navigation and no name.
func (s *Server) newPage(r *http.Request, c *call, title, section string, data any) (Page, error) {
	p := Page{Title: title, Section: section, Data: data, Flash: flashes[r.URL.Query().Get("done")]}
	if c == nil || c.Session == nil || c.Session.MFAPending {
		return p, nil
	}
	p.User, p.Role, p.CSRF = c.Session.User.Email, c.Session.Role, c.Session.CSRFToken
	o, err := account.GetOrg(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return p, err
	}
	p.OrgName = o.Name
	orgs, err := account.OrgsOf(r.Context(), s.db.Q(), c.Actor.UserID)
	if err != nil {
		return p, err
	}
	if len(orgs) > 1 {
		p.Orgs = orgs
	}
	return p, nil
}

// switchOrg moves the session to another org of the user.
func (s *Server) switchOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	org := attest.OrgID(r.PostFormValue("org"))
	err := s.db.InTx(r.Context(), c.Actor, func(tx *store.Tx) error {
		return account.SwitchOrg(r.Context(), tx, c.sessionSecret, c.Actor.UserID, org)
	})
	if err != nil {
		return err
	}
	return redirect(w, r, "/")
}

// show renders a page for the caller.
func (s *Server) show(w http.ResponseWriter, r *http.Request, c *call, status int, tmpl, title, section string, data any) error {
	p, err := s.newPage(r, c, title, section, data)
	if err != nil {
		return err
	}
	return s.render(w, status, tmpl, p)
}

// flashes are the confirmations a redirect may ask for with ?done=KEY.
// Only these fixed texts can appear, so a crafted link cannot put words
// in the product's mouth.
var flashes = map[string]string{
	"saved":    "Saved.",
	"assigned": "Owners assigned.",
	"evidence": "Evidence added.",
	"role":     "Role changed.",
	"removed":  "Removed: their sessions and API tokens in this organisation have ended.",
	"totp":     "Your authenticator is set up; you will need a code from it at every login.",
	"password": "Your password is changed.",
	"settings": "Settings saved.",
	"logout":   "You are logged out.",
}

// redirect answers a form post with a 303 to a page.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// formErrors maps a form field (or "form" for the whole form) to what is
// wrong with it.
type formErrors map[string]string

// formError turns an error the person can fix by changing their input into
// messages for the form; ok is false for anything else, which the handler
// returns so that it becomes an error page.
func formError(err error) (errs formErrors, status int, ok bool) {
	var e *attest.Error
	if !errors.As(err, &e) {
		return nil, 0, false
	}
	switch e.Kind {
	case attest.KindInvalid, attest.KindUnauthenticated, attest.KindRateLimited, attest.KindConflict, attest.KindTooLarge:
	default:
		return nil, 0, false
	}
	field := e.Field
	if field == "" {
		field = "form"
	}
	return formErrors{field: e.Message}, statusOf[e.Kind], true
}

// pendingStep is where a logged-in person must go before anything else: a
// new password when theirs was a one-time password, then an authenticator
// when their organisation requires one. "" when nothing is owed.
func (s *Server) pendingStep(ctx context.Context, c *call) (string, error) {
	if c.Session == nil {
		return "", nil
	}
	if c.Session.User.MustChangePassword {
		return "/account/password", nil
	}
	if !c.Session.User.TOTPEnabled {
		o, err := account.GetOrg(ctx, s.db.Q(), c.Actor.OrgID)
		if err != nil {
			return "", err
		}
		if o.RequireTOTP {
			return "/account/totp", nil
		}
	}
	return "", nil
}

// gated wraps a page so that a pending step comes first. The pages of the
// steps themselves are reachable while their own step is pending.
func (s *Server) gated(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		step, err := s.pendingStep(r.Context(), c)
		if err != nil {
			return err
		}
		if step != "" && r.URL.Path != step && !strings.HasPrefix(r.URL.Path, step+"/") {
			return redirect(w, r, step)
		}
		return h(w, r, c)
	}
}

// safeNext returns a local path to continue to after logging in, "/" for
// anything that could lead off-site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// clientIP is the address rate limits count against. Attest does not trust
// X-Forwarded-For: behind a proxy all clients share its limit, which errs
// on the safe side.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// errTooManyAttempts answers a login form over the per-address limit.
var errTooManyAttempts = &attest.Error{Kind: attest.KindRateLimited, Message: "too many attempts from your address; wait a minute and try again"}

// createOrg adds an organisation owned by the caller and moves the
// session there.
func (s *Server) createOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	err := s.db.InTx(r.Context(), c.Actor, func(tx *store.Tx) error {
		made, err := onboard.NewOrg(r.Context(), tx, r.PostFormValue("name"), c.Actor.Email)
		if err != nil {
			return err
		}
		return account.SwitchOrg(r.Context(), tx, c.sessionSecret, c.Actor.UserID, made.Org.ID)
	})
	if err != nil {
		return err
	}
	return redirect(w, r, "/settings?done=settings")
}
