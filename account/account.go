// Package account holds organisations, users, their roles in each
// organisation, sessions, API tokens and second factors.
package account

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Sealer encrypts small secrets at rest (the keyring implements it).
// associatedData binds a sealed value to its row.
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(sealed, associatedData []byte) ([]byte, error)
}

// Org is a client company using this Attest.
type Org struct {
	ID          attest.OrgID `json:"id"`
	Name        string       `json:"name"`
	RequireTOTP bool         `json:"require_totp"`
	Scope       []string     `json:"scope"` // in-scope category ids; always holds "security"
	CreatedAt   time.Time    `json:"created_at"`
}

// User is a person who can log in.
type User struct {
	ID                 string    `json:"id"`
	Email              string    `json:"email"`
	Name               string    `json:"name"`
	MustChangePassword bool      `json:"must_change_password"`
	TOTPEnabled        bool      `json:"totp_enabled"`
	CreatedAt          time.Time `json:"created_at"`
	passwordHash       string
	totpSecret         []byte
	failedLogins       int
	lockedUntil        sql.NullTime
}

// Member is a user with their role in one org.
type Member struct {
	User
	Role attest.Role `json:"role"`
}

// NormalizeEmail validates an address and returns it lower-cased.
func NormalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s, "@") || len(s) > 254 {
		return "", attest.Invalid(field, "must be a plain email address such as ana@example.com")
	}
	return strings.ToLower(s), nil
}

// ValidateOrgName checks an organisation name.
func ValidateOrgName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 120 {
		return "", attest.Invalid("org", "must be 1 to 120 characters")
	}
	return name, nil
}

// CreateOrg creates an org with Security in scope.
func CreateOrg(ctx context.Context, tx *store.Tx, name string) (Org, error) {
	name, err := ValidateOrgName(name)
	if err != nil {
		return Org{}, err
	}
	o := Org{ID: attest.OrgID(attest.NewID("org")), Name: name, Scope: []string{"security"}, CreatedAt: tx.Now()}
	scope, _ := json.Marshal(o.Scope)
	if _, err := tx.ExecContext(ctx, "INSERT INTO orgs (id, name, require_totp, scope, created_at) VALUES ($1, $2, $3, $4, $5)",
		o.ID, o.Name, false, string(scope), o.CreatedAt); err != nil {
		if errors.Is(err, attest.ErrConflict) {
			return Org{}, attest.Invalid("org", fmt.Sprintf("an organisation named %q already exists", name))
		}
		return Org{}, fmt.Errorf("create org %q: %w", name, err)
	}
	return o, tx.RecordIn(ctx, o.ID, "org.create", "org", string(o.ID), nil, o)
}

const orgColumns = "id, name, require_totp, scope, created_at"

func scanOrg(row interface{ Scan(...any) error }) (Org, error) {
	var o Org
	var scope string
	if err := row.Scan(&o.ID, &o.Name, &o.RequireTOTP, &scope, &o.CreatedAt); err != nil {
		return Org{}, err
	}
	if err := json.Unmarshal([]byte(scope), &o.Scope); err != nil {
		return Org{}, fmt.Errorf("org %s: bad scope %q: %w", o.ID, scope, err)
	}
	return o, nil
}

// GetOrg loads one org.
func GetOrg(ctx context.Context, q store.Querier, id attest.OrgID) (Org, error) {
	o, err := scanOrg(q.QueryRowContext(ctx, "SELECT "+orgColumns+" FROM orgs WHERE id = $1", id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Org{}, attest.NotFound("organisation")
		}
		return Org{}, fmt.Errorf("load org %s: %w", id, err)
	}
	return o, nil
}

// OrgByName loads an org by its unique name (the CLI addresses orgs so).
func OrgByName(ctx context.Context, q store.Querier, name string) (Org, error) {
	o, err := scanOrg(q.QueryRowContext(ctx, "SELECT "+orgColumns+" FROM orgs WHERE name = $1", strings.TrimSpace(name)))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return Org{}, attest.NotFound(fmt.Sprintf("organisation %q", name))
		}
		return Org{}, fmt.Errorf("load org %q: %w", name, err)
	}
	return o, nil
}

// CountOrgs tells first-run set-up whether anything exists yet.
func CountOrgs(ctx context.Context, q store.Querier) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM orgs").Scan(&n)
	return n, err
}

// OrgIDs lists every org, for background work that visits each in turn.
func OrgIDs(ctx context.Context, q store.Querier) ([]attest.OrgID, error) {
	rows, err := q.QueryContext(ctx, "SELECT id FROM orgs ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list orgs: %w", err)
	}
	defer rows.Close()
	var out []attest.OrgID
	for rows.Next() {
		var id attest.OrgID
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list orgs: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// UpdateOrgSettings changes scope and the TOTP requirement.
func UpdateOrgSettings(ctx context.Context, tx *store.Tx, org attest.OrgID, scope []string, requireTOTP bool) (Org, error) {
	before, err := GetOrg(ctx, tx, org)
	if err != nil {
		return Org{}, err
	}
	clean := []string{"security"}
	seen := map[string]bool{"security": true}
	valid := map[string]bool{"availability": true, "processing_integrity": true, "confidentiality": true, "privacy": true}
	for _, s := range scope {
		if seen[s] {
			continue
		}
		if !valid[s] {
			return Org{}, attest.Invalid("scope", fmt.Sprintf("unknown category %q; use availability, processing_integrity, confidentiality or privacy", s))
		}
		seen[s] = true
		clean = append(clean, s)
	}
	after := before
	after.Scope, after.RequireTOTP = clean, requireTOTP
	b, _ := json.Marshal(clean)
	if _, err := tx.ExecContext(ctx, "UPDATE orgs SET scope = $1, require_totp = $2 WHERE id = $3", string(b), requireTOTP, org); err != nil {
		return Org{}, fmt.Errorf("update org %s: %w", org, err)
	}
	return after, tx.Record(ctx, "org.update", "org", string(org), before, after)
}

const userColumns = "id, email, name, password_hash, must_change_password, totp_secret, totp_enabled, failed_logins, locked_until, created_at"

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.passwordHash, &u.MustChangePassword, &u.totpSecret,
		&u.TOTPEnabled, &u.failedLogins, &u.lockedUntil, &u.CreatedAt)
	return u, err
}

// UserByEmail loads a user by address.
func UserByEmail(ctx context.Context, q store.Querier, email string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE email = $1", strings.ToLower(strings.TrimSpace(email))))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return User{}, attest.NotFound(fmt.Sprintf("user %s", email))
		}
		return User{}, fmt.Errorf("load user %s: %w", email, err)
	}
	return u, nil
}

// GetUser loads a user by id.
func GetUser(ctx context.Context, q store.Querier, id string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", id))
	if err := store.ScanOne(err); err != nil {
		if errors.Is(err, attest.ErrNotFound) {
			return User{}, attest.NotFound("user")
		}
		return User{}, fmt.Errorf("load user %s: %w", id, err)
	}
	return u, nil
}

// AddMember gives email the role in the actor's org, creating the user
// with a one-time password when the address is new. The password is
// returned only for a new user; an existing user keeps theirs.
func AddMember(ctx context.Context, tx *store.Tx, org attest.OrgID, email string, role attest.Role) (Member, string, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return Member{}, "", err
	}
	if _, err := attest.ParseRole(string(role)); err != nil {
		return Member{}, "", err
	}
	u, err := UserByEmail(ctx, tx, email)
	var password string
	switch {
	case attest.KindOf(err) == attest.KindNotFound:
		password = OneTimePassword()
		hash, err := HashPassword(password)
		if err != nil {
			return Member{}, "", err
		}
		u = User{ID: attest.NewID("usr"), Email: email, MustChangePassword: true, CreatedAt: tx.Now(), passwordHash: hash}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash, must_change_password, created_at)
			VALUES ($1, $2, '', $3, $4, $5)`, u.ID, u.Email, hash, true, u.CreatedAt); err != nil {
			return Member{}, "", fmt.Errorf("create user %s: %w", email, err)
		}
		if err := tx.RecordIn(ctx, org, "user.create", "user", u.ID, nil, u); err != nil {
			return Member{}, "", err
		}
	case err != nil:
		return Member{}, "", err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
		org, u.ID, role, tx.Now()); err != nil {
		if errors.Is(err, attest.ErrConflict) {
			return Member{}, "", attest.Invalid("email", email+" is already a member of this organisation")
		}
		return Member{}, "", fmt.Errorf("add %s to org: %w", email, err)
	}
	m := Member{User: u, Role: role}
	return m, password, tx.RecordIn(ctx, org, "member.add", "user", u.ID, nil, map[string]any{"email": email, "role": role})
}

// Members lists the users of an org.
func Members(ctx context.Context, q store.Querier, org attest.OrgID) ([]Member, error) {
	rows, err := q.QueryContext(ctx, "SELECT u.id, u.email, u.name, u.password_hash, u.must_change_password, u.totp_secret, u.totp_enabled, u.failed_logins, u.locked_until, u.created_at, m.role FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.org_id = $1 ORDER BY u.email", org)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.Email, &m.Name, &m.passwordHash, &m.MustChangePassword, &m.totpSecret,
			&m.TOTPEnabled, &m.failedLogins, &m.lockedUntil, &m.CreatedAt, &m.Role); err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Membership returns the role of user in org, NotFound when none.
func Membership(ctx context.Context, q store.Querier, org attest.OrgID, userID string) (attest.Role, error) {
	var role attest.Role
	err := store.ScanOne(q.QueryRowContext(ctx, "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2", org, userID).Scan(&role))
	if errors.Is(err, attest.ErrNotFound) {
		return "", attest.NotFound("member")
	}
	return role, err
}

// MemberByID loads one member of org.
func MemberByID(ctx context.Context, q store.Querier, org attest.OrgID, userID string) (Member, error) {
	role, err := Membership(ctx, q, org, userID)
	if err != nil {
		return Member{}, err
	}
	u, err := GetUser(ctx, q, userID)
	if err != nil {
		return Member{}, err
	}
	return Member{User: u, Role: role}, nil
}

// FirstOrg returns the org a user lands in after login: the oldest
// membership.
func FirstOrg(ctx context.Context, q store.Querier, userID string) (attest.OrgID, attest.Role, error) {
	var org attest.OrgID
	var role attest.Role
	err := store.ScanOne(q.QueryRowContext(ctx, "SELECT org_id, role FROM memberships WHERE user_id = $1 ORDER BY created_at, org_id LIMIT 1", userID).Scan(&org, &role))
	if errors.Is(err, attest.ErrNotFound) {
		return "", "", attest.Forbidden("this account belongs to no organisation")
	}
	return org, role, err
}

// SetRole changes a member's role. The last owner cannot be demoted, or
// nobody could administer the org any more.
func SetRole(ctx context.Context, tx *store.Tx, org attest.OrgID, userID string, role attest.Role) (Member, error) {
	if _, err := attest.ParseRole(string(role)); err != nil {
		return Member{}, err
	}
	before, err := MemberByID(ctx, tx, org, userID)
	if err != nil {
		return Member{}, err
	}
	if before.Role == attest.RoleOwner && role != attest.RoleOwner {
		var owners int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'", org).Scan(&owners); err != nil {
			return Member{}, err
		}
		if owners <= 1 {
			return Member{}, attest.Conflict("the last owner cannot be given another role; make someone else owner first")
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3", role, org, userID); err != nil {
		return Member{}, fmt.Errorf("set role: %w", err)
	}
	after := before
	after.Role = role
	return after, tx.Record(ctx, "member.role", "user", userID, map[string]any{"role": before.Role}, map[string]any{"role": role})
}

// RemoveMember takes a user out of an org: their role, their sessions and
// API tokens there end. The last owner cannot be removed. The user account
// stays (it may belong to other orgs), and so does everything they did.
func RemoveMember(ctx context.Context, tx *store.Tx, org attest.OrgID, userID string) error {
	m, err := MemberByID(ctx, tx, org, userID)
	if err != nil {
		return err
	}
	if m.Role == attest.RoleOwner {
		var owners int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'", org).Scan(&owners); err != nil {
			return err
		}
		if owners <= 1 {
			return attest.Conflict("the last owner cannot be removed; make someone else owner first")
		}
	}
	for _, q := range []string{
		"DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
		"DELETE FROM sessions WHERE org_id = $1 AND user_id = $2",
		"UPDATE api_tokens SET revoked_at = $3 WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL",
	} {
		args := []any{org, userID}
		if strings.Contains(q, "$3") {
			args = append(args, tx.Now())
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("remove member %s: %w", m.Email, err)
		}
	}
	return tx.Record(ctx, "member.remove", "user", userID, map[string]any{"email": m.Email, "role": m.Role}, nil)
}

// SetPassword replaces a user's password and clears the one-time flag.
func SetPassword(ctx context.Context, tx *store.Tx, userID, password string) error {
	if err := ValidatePassword("password", password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return SetPasswordHash(ctx, tx, userID, hash)
}

// SetPasswordHash is SetPassword for a hash computed before the
// transaction (argon2 is slow on purpose; the write lock need not wait).
// The change is recorded in every org the user belongs to.
func SetPasswordHash(ctx context.Context, tx *store.Tx, userID, hash string) error {
	if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3", hash, false, userID); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	// Other sessions of this user end: a password change is how people
	// recover from a stolen session.
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1", userID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return recordInUserOrgs(ctx, tx, userID, "user.password", nil)
}

// MemberEmail checks that userID is a member of org, for records that name
// an owner, and returns their email ("" for no owner). A non-member is an
// Invalid error on field.
func MemberEmail(ctx context.Context, q store.Querier, org attest.OrgID, field, userID string) (string, error) {
	if userID == "" {
		return "", nil
	}
	var email string
	err := store.ScanOne(q.QueryRowContext(ctx, `SELECT u.email FROM users u JOIN memberships m ON m.user_id = u.id
		WHERE m.org_id = $1 AND u.id = $2`, org, userID).Scan(&email))
	if errors.Is(err, attest.ErrNotFound) {
		return "", attest.Invalid(field, "must be a member of this organisation")
	}
	return email, err
}
