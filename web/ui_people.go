package web

import (
	"net/http"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/account"
	"github.com/attest-hq/attest/auditlog"
	"github.com/attest-hq/attest/store"
)

// --- audit log ---

type auditPage struct {
	Entries []auditlog.Entry
	Next    string // cursor of the next (older) page, "" on the last
	First   bool   // this is the newest page
}

func (s *Server) auditLogPage(w http.ResponseWriter, r *http.Request, c *call) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	entries, next, err := auditlog.List(r.Context(), s.db.Q(), c.Actor.OrgID, f)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "auditlog.html", "Audit log", "auditlog",
		auditPage{Entries: entries, Next: next, First: f.Before == 0})
}

// --- members ---

type membersPage struct {
	Members []account.Member
	// Roles are those the caller may hand out: only an owner makes owners.
	Roles       []attest.Role
	Self        string // the caller's user id: nobody changes their own role here
	Email       string // the add form, kept after an error
	Role        attest.Role
	NewMember   string // email of the member just added
	OneTimePass string // their one-time password, shown this once
	Errors      formErrors
}

func (s *Server) membersPageFor(r *http.Request, c *call) (membersPage, error) {
	ms, err := account.Members(r.Context(), s.db.Q(), c.Actor.OrgID)
	if err != nil {
		return membersPage{}, err
	}
	p := membersPage{Members: ms, Self: c.Actor.UserID, Role: attest.RoleMember}
	for _, role := range attest.Roles {
		if onlyOwnersMakeOwners(c, role) == nil {
			p.Roles = append(p.Roles, role)
		}
	}
	return p, nil
}

func (s *Server) membersList(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.membersPageFor(r, c)
	if err != nil {
		return err
	}
	return s.show(w, r, c, http.StatusOK, "members.html", "People", "members", p)
}

// memberAdd adds a member and shows their one-time password on the page
// that answers the form, once; it is stored only as a hash.
func (s *Server) memberAdd(w http.ResponseWriter, r *http.Request, c *call) error {
	email, role := r.PostFormValue("email"), attest.Role(r.PostFormValue("role"))
	if err := onlyOwnersMakeOwners(c, role); err != nil {
		return err
	}
	var m account.Member
	var password string
	err := s.inTx(r.Context(), c, func(tx *store.Tx) error {
		var err error
		m, password, err = account.AddMember(r.Context(), tx, c.Actor.OrgID, email, role)
		return err
	})
	p, perr := s.membersPageFor(r, c)
	if perr != nil {
		return perr
	}
	status := http.StatusOK
	if err != nil {
		errs, st, ok := formError(err)
		if !ok {
			return err
		}
		p.Email, p.Role, p.Errors, status = email, role, errs, st
	} else {
		p.NewMember, p.OneTimePass = m.Email, password
	}
	// The page carries a password: keep it out of caches.
	w.Header().Set("Cache-Control", "no-store")
	return s.show(w, r, c, status, "members.html", "People", "members", p)
}

func (s *Server) memberRole(w http.ResponseWriter, r *http.Request, c *call) error {
	_, err := s.changeRole(r.Context(), c, r.PathValue("id"), attest.Role(r.PostFormValue("role")))
	if err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.membersPageFor(r, c)
		if perr != nil {
			return perr
		}
		p.Errors = errs
		return s.show(w, r, c, status, "members.html", "People", "members", p)
	}
	return redirect(w, r, "/members?done=role")
}

func (s *Server) memberRemove(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.removeMember(r.Context(), c, r.PathValue("id")); err != nil {
		errs, status, ok := formError(err)
		if !ok {
			return err
		}
		p, perr := s.membersPageFor(r, c)
		if perr != nil {
			return perr
		}
		p.Errors = errs
		return s.show(w, r, c, status, "members.html", "People", "members", p)
	}
	return redirect(w, r, "/members?done=removed")
}
