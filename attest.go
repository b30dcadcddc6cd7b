// Package attest holds the small vocabulary every other package shares:
// identifiers, organisations, actors, roles and the kinds of error that the
// web layer maps to HTTP status codes in one place.
package attest

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
)

// OrgID identifies an organisation. Every domain row carries one.
type OrgID string

// NewID returns a random, URL-safe identifier with a short type prefix
// ("ctl_…", "evd_…") so that an id read in a log says what it names.
func NewID(prefix string) string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return prefix + "_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Role is what a user may do inside one organisation.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner   Role = "owner"
	RoleAdmin   Role = "admin"
	RoleMember  Role = "member"
	RoleAuditor Role = "auditor"
	RoleViewer  Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleMember, RoleAuditor, RoleViewer}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", Invalid("role", "must be one of owner, admin, member, auditor, viewer")
}

// Actor is who performs a change: a user (through a session or an API
// token) or the system itself (migrations, the scheduler, the CLI).
type Actor struct {
	UserID string // empty for the system
	Email  string // shown in the audit log; "system" for the system
	OrgID  OrgID  // the organisation the actor works in
	Role   Role
	Via    string // "session", "token", "cli", "system"
}

// System is the actor used for work nobody triggered by hand.
func System(org OrgID) Actor {
	return Actor{Email: "system", OrgID: org, Role: RoleOwner, Via: "system"}
}

// Name returns the human label recorded in the audit log.
func (a Actor) Name() string {
	if a.Email != "" {
		return a.Email
	}
	return "system"
}

// ErrorKind classifies an error so that one table maps it to a status code.
type ErrorKind int

// The error kinds.
const (
	KindInternal ErrorKind = iota
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindTooLarge
	KindRateLimited
)

// Error is a domain error that is safe to show to the user: Message never
// carries internal detail, and Field names the offending input, if any.
type Error struct {
	Kind    ErrorKind
	Field   string
	Message string
	Err     error // wrapped cause; never shown to users
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid reports bad input in field.
func Invalid(field, reason string) error {
	return &Error{Kind: KindInvalid, Field: field, Message: reason}
}

// NotFound reports that what (e.g. "control ctl_x") does not exist in the
// caller's organisation. Rows of other organisations answer the same way.
func NotFound(what string) error {
	return &Error{Kind: KindNotFound, Message: what + " not found"}
}

// Conflict reports that the change clashes with the current state.
func Conflict(reason string) error {
	return &Error{Kind: KindConflict, Message: reason}
}

// Forbidden reports that the actor's role does not allow the action.
func Forbidden(reason string) error {
	return &Error{Kind: KindForbidden, Message: reason}
}

// Unauthenticated reports missing or bad credentials.
func Unauthenticated(reason string) error {
	return &Error{Kind: KindUnauthenticated, Message: reason}
}

// ErrNotFound is the sentinel the store returns for a missing row; domain
// packages turn it into NotFound with the name of what was looked for.
var ErrNotFound = errors.New("not found")

// ErrConflict is the sentinel the store returns for a unique-key violation.
var ErrConflict = errors.New("conflict")

// KindOf returns the kind of err, KindInternal when it carries none.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, ErrNotFound) {
		return KindNotFound
	}
	if errors.Is(err, ErrConflict) {
		return KindConflict
	}
	return KindInternal
}
