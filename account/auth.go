package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	attest "github.com/attest-hq/attest"
	"github.com/attest-hq/attest/store"
)

// Lockout policy: after MaxFailedLogins wrong passwords in a row the
// account refuses logins for LockoutFor, whatever the password. Per-IP rate
// limiting sits in front of this in the web layer.
const (
	MaxFailedLogins = 5
	LockoutFor      = 15 * time.Minute
	SessionTTL      = 12 * time.Hour
)

// errBadLogin is deliberately the same for an unknown email and a wrong
// password, so the login form does not reveal who has an account.
var errBadLogin = attest.Unauthenticated("email or password is wrong")

// ErrLocked is returned while an account is locked out.
var ErrLocked = &attest.Error{Kind: attest.KindRateLimited, Message: "too many failed logins; try again in 15 minutes"}

// CheckLogin verifies email and password, counting failures and locking
// the account after too many. It runs in its own transaction so that a
// failure is recorded even though the login is refused.
func CheckLogin(ctx context.Context, db *store.DB, email, password string) (User, error) {
	var user User
	var outcome error
	err := db.InTx(ctx, attest.Actor{Email: email, Via: "login"}, func(tx *store.Tx) error {
		u, err := UserByEmail(ctx, tx, email)
		if attest.KindOf(err) == attest.KindNotFound {
			// Spend the same time as a real check so timing does not
			// reveal which addresses exist.
			CheckPassword(dummyHash, password)
			outcome = errBadLogin
			return nil
		}
		if err != nil {
			return err
		}
		now := tx.Now()
		if u.lockedUntil.Valid && u.lockedUntil.Time.After(now) {
			outcome = ErrLocked
			return nil
		}
		ok, err := CheckPassword(u.passwordHash, password)
		if err != nil {
			return fmt.Errorf("check password of %s: %w", u.Email, err)
		}
		if !ok {
			failed := u.failedLogins + 1
			var locked any
			if failed >= MaxFailedLogins {
				locked, failed = now.Add(LockoutFor), 0
				outcome = ErrLocked
			} else {
				outcome = errBadLogin
			}
			if _, err := tx.ExecContext(ctx, "UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3", failed, locked, u.ID); err != nil {
				return fmt.Errorf("count failed login: %w", err)
			}
			if locked != nil {
				return recordInUserOrgs(ctx, tx, u.ID, "user.locked", map[string]any{"until": locked})
			}
			return nil
		}
		if u.failedLogins != 0 || u.lockedUntil.Valid {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1", u.ID); err != nil {
				return fmt.Errorf("reset failed logins: %w", err)
			}
		}
		user = u
		return nil
	})
	if err != nil {
		return User{}, err
	}
	if outcome != nil {
		return User{}, outcome
	}
	return user, nil
}

var dummyHash, _ = HashPassword("not a real password, only spends time")

// recordInUserOrgs writes an account event into the chain of every org the
// user belongs to, since each org's auditor should see it.
func recordInUserOrgs(ctx context.Context, tx *store.Tx, userID, action string, after any) error {
	rows, err := tx.QueryContext(ctx, "SELECT org_id FROM memberships WHERE user_id = $1", userID)
	if err != nil {
		return err
	}
	var orgs []attest.OrgID
	for rows.Next() {
		var o attest.OrgID
		if err := rows.Scan(&o); err != nil {
			rows.Close()
			return err
		}
		orgs = append(orgs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range orgs {
		if err := tx.RecordIn(ctx, o, action, "user", userID, nil, after); err != nil {
			return err
		}
	}
	return nil
}

// BeginTOTP creates a new TOTP secret for the user, sealed at rest and not
// yet enabled, and returns the otpauth:// URL to show as a QR code/text.
func BeginTOTP(ctx context.Context, tx *store.Tx, sealer Sealer, u User, issuer string) (*otp.Key, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.Email})
	if err != nil {
		return nil, fmt.Errorf("generate TOTP secret: %w", err)
	}
	sealed, err := sealer.Seal([]byte(key.Secret()), totpAD(u.ID))
	if err != nil {
		return nil, fmt.Errorf("seal TOTP secret: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_secret = $1, totp_enabled = $2 WHERE id = $3", sealed, false, u.ID); err != nil {
		return nil, fmt.Errorf("store TOTP secret: %w", err)
	}
	return key, tx.Record(ctx, "user.totp_begin", "user", u.ID, nil, nil)
}

// ConfirmTOTP enables the second factor once the user proves their
// authenticator produces valid codes.
func ConfirmTOTP(ctx context.Context, tx *store.Tx, sealer Sealer, userID, code string) error {
	u, err := GetUser(ctx, tx, userID)
	if err != nil {
		return err
	}
	if err := verifyTOTP(sealer, u, code, tx.Now()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE users SET totp_enabled = $1 WHERE id = $2", true, u.ID); err != nil {
		return fmt.Errorf("enable TOTP: %w", err)
	}
	return tx.Record(ctx, "user.totp_enable", "user", u.ID, map[string]bool{"totp": false}, map[string]bool{"totp": true})
}

// VerifyTOTP checks a code against the user's enabled second factor.
func VerifyTOTP(sealer Sealer, u User, code string, now time.Time) error {
	if !u.TOTPEnabled {
		return attest.Invalid("code", "no authenticator is enrolled")
	}
	return verifyTOTP(sealer, u, code, now)
}

func verifyTOTP(sealer Sealer, u User, code string, now time.Time) error {
	if len(u.totpSecret) == 0 {
		return attest.Invalid("code", "no authenticator is enrolled")
	}
	secret, err := sealer.Open(u.totpSecret, totpAD(u.ID))
	if err != nil {
		return fmt.Errorf("open TOTP secret of %s: %w", u.Email, err)
	}
	ok, err := totp.ValidateCustom(code, string(secret), now, totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil || !ok {
		return attest.Invalid("code", "the code is wrong or expired; use the current 6-digit code")
	}
	return nil
}

func totpAD(userID string) []byte { return []byte("user:" + userID + ":totp") }

// Session is a logged-in browser.
type Session struct {
	UserID     string
	OrgID      attest.OrgID
	Role       attest.Role
	CSRFToken  string
	MFAPending bool // password checked, second factor still owed
	ExpiresAt  time.Time
	User       User
}

// CreateSession starts a session and returns its secret for the cookie.
// Only the secret's hash is stored.
func CreateSession(ctx context.Context, tx *store.Tx, userID string, org attest.OrgID, mfaPending bool) (string, Session, error) {
	secret := newSecret("ses_")
	s := Session{UserID: userID, OrgID: org, CSRFToken: newSecret(""), MFAPending: mfaPending, ExpiresAt: tx.Now().Add(SessionTTL)}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, org_id, csrf_token, mfa_pending, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, hashSecret(secret), userID, org, s.CSRFToken, mfaPending, tx.Now(), s.ExpiresAt); err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return secret, s, nil
}

// LookupSession resolves a cookie secret to a live session with the
// user's current role; a session whose membership was removed is dead.
func LookupSession(ctx context.Context, q store.Querier, secret string, now time.Time) (Session, error) {
	var s Session
	err := store.ScanOne(q.QueryRowContext(ctx, `SELECT s.user_id, s.org_id, s.csrf_token, s.mfa_pending, s.expires_at, m.role
		FROM sessions s JOIN memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id WHERE s.id_hash = $1`,
		hashSecret(secret)).Scan(&s.UserID, &s.OrgID, &s.CSRFToken, &s.MFAPending, &s.ExpiresAt, &s.Role))
	if errors.Is(err, attest.ErrNotFound) {
		return Session{}, attest.Unauthenticated("session expired; log in again")
	}
	if err != nil {
		return Session{}, fmt.Errorf("load session: %w", err)
	}
	if !s.ExpiresAt.After(now) {
		return Session{}, attest.Unauthenticated("session expired; log in again")
	}
	u, err := GetUser(ctx, q, s.UserID)
	if err != nil {
		return Session{}, err
	}
	s.User = u
	return s, nil
}

// EndSession deletes a session (logout).
func EndSession(ctx context.Context, tx *store.Tx, secret string) error {
	_, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id_hash = $1", hashSecret(secret))
	return err
}

// CompleteMFA marks a session's second factor as done. The session secret
// is rotated so a cookie captured before the second factor is worthless.
func CompleteMFA(ctx context.Context, tx *store.Tx, oldSecret string) (string, error) {
	secret := newSecret("ses_")
	res, err := tx.ExecContext(ctx, "UPDATE sessions SET id_hash = $1, mfa_pending = $2 WHERE id_hash = $3", hashSecret(secret), false, hashSecret(oldSecret))
	if err != nil {
		return "", fmt.Errorf("complete second factor: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", attest.Unauthenticated("session expired; log in again")
	}
	return secret, nil
}

// Token is an API token's metadata; the secret is shown once at creation.
type Token struct {
	ID        string       `json:"id"`
	OrgID     attest.OrgID `json:"-"`
	UserID    string       `json:"user_id"`
	Name      string       `json:"name"`
	CreatedAt time.Time    `json:"created_at"`
}

// CreateToken issues an API token for a member of org.
func CreateToken(ctx context.Context, tx *store.Tx, org attest.OrgID, userID, name string) (string, Token, error) {
	if _, err := Membership(ctx, tx, org, userID); err != nil {
		return "", Token{}, err
	}
	secret := newSecret("att_")
	t := Token{ID: attest.NewID("tok"), OrgID: org, UserID: userID, Name: name, CreatedAt: tx.Now()}
	if _, err := tx.ExecContext(ctx, "INSERT INTO api_tokens (id, org_id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		t.ID, org, userID, name, hashSecret(secret), t.CreatedAt); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	return secret, t, tx.RecordIn(ctx, org, "token.create", "token", t.ID, nil, t)
}

// LookupToken resolves a bearer token to the actor it acts for, with the
// user's current role in the token's org.
func LookupToken(ctx context.Context, q store.Querier, secret string) (attest.Actor, error) {
	var a attest.Actor
	var id string
	var lastUsed sql.NullTime
	err := store.ScanOne(q.QueryRowContext(ctx, `SELECT t.id, t.last_used_at, t.user_id, t.org_id, u.email, m.role FROM api_tokens t
		JOIN users u ON u.id = t.user_id
		JOIN memberships m ON m.org_id = t.org_id AND m.user_id = t.user_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, hashSecret(secret)).Scan(&id, &lastUsed, &a.UserID, &a.OrgID, &a.Email, &a.Role))
	if errors.Is(err, attest.ErrNotFound) {
		return attest.Actor{}, attest.Unauthenticated("the API token is unknown or revoked")
	}
	if err != nil {
		return attest.Actor{}, fmt.Errorf("look up token: %w", err)
	}
	a.Via = "token"
	// Stamp the last use at most once a minute: it tells an admin which
	// tokens are dead, and is telemetry rather than a change to audit.
	now := time.Now().UTC()
	if !lastUsed.Valid || now.Sub(lastUsed.Time) > time.Minute {
		if _, err := q.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", now.Truncate(time.Microsecond), id); err != nil {
			return attest.Actor{}, fmt.Errorf("stamp token use: %w", err)
		}
	}
	return a, nil
}

// TokenInfo is a token as its owner sees it later: never the secret.
type TokenInfo struct {
	Token
	Email      string     `json:"email"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Tokens lists the org's API tokens, of one user when userID is set.
func Tokens(ctx context.Context, q store.Querier, org attest.OrgID, userID string) ([]TokenInfo, error) {
	query := `SELECT t.id, t.user_id, t.name, t.created_at, u.email, t.last_used_at, t.revoked_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.org_id = $1`
	args := []any{org}
	if userID != "" {
		query += " AND t.user_id = $2"
		args = append(args, userID)
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY t.created_at DESC, t.id", args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []TokenInfo
	for rows.Next() {
		var t TokenInfo
		var used, revoked sql.NullTime
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &t.Email, &used, &revoked); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if used.Valid {
			t.LastUsedAt = &used.Time
		}
		if revoked.Valid {
			t.RevokedAt = &revoked.Time
		}
		t.OrgID = org
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken ends a token of the org. When userID is set, only that
// user's token can be revoked (members revoke their own; admins any).
func RevokeToken(ctx context.Context, tx *store.Tx, org attest.OrgID, userID, tokenID string) error {
	query := "UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL"
	args := []any{tx.Now(), org, tokenID}
	if userID != "" {
		query += " AND user_id = $4"
		args = append(args, userID)
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", tokenID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return attest.NotFound("token " + tokenID)
	}
	return tx.Record(ctx, "token.revoke", "token", tokenID, nil, map[string]any{"revoked": true})
}

// OrgChoice is one org a user belongs to, for the org switcher.
type OrgChoice struct {
	ID   attest.OrgID `json:"id"`
	Name string       `json:"name"`
	Role attest.Role  `json:"role"`
}

// OrgsOf lists the orgs a user belongs to, by name.
func OrgsOf(ctx context.Context, q store.Querier, userID string) ([]OrgChoice, error) {
	rows, err := q.QueryContext(ctx, `SELECT o.id, o.name, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id
		WHERE m.user_id = $1 ORDER BY o.name`, userID)
	if err != nil {
		return nil, fmt.Errorf("list orgs of %s: %w", userID, err)
	}
	out, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (OrgChoice, error) {
		var o OrgChoice
		err := r.Scan(&o.ID, &o.Name, &o.Role)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("list orgs of %s: %w", userID, err)
	}
	return out, nil
}

// SwitchOrg moves a session to another org of its user — a consultant
// working for several client companies. Not being a member there is
// NotFound, as for any org one cannot see.
func SwitchOrg(ctx context.Context, tx *store.Tx, secret, userID string, org attest.OrgID) error {
	if _, err := Membership(ctx, tx, org, userID); err != nil {
		return attest.NotFound("organisation")
	}
	res, err := tx.ExecContext(ctx, "UPDATE sessions SET org_id = $1 WHERE id_hash = $2 AND user_id = $3", org, hashSecret(secret), userID)
	if err != nil {
		return fmt.Errorf("switch org: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return attest.Unauthenticated("session expired; log in again")
	}
	return tx.RecordIn(ctx, org, "session.switch_org", "user", userID, nil, map[string]any{"org": org})
}
