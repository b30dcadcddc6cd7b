package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	attest "github.com/attest-hq/attest"
)

// argon2id parameters: OWASP's baseline (19 MiB, 2 passes, 1 lane). They
// are stored with each hash, so raising them later re-hashes at login.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	minPassword  = 12
	maxPassword  = 256
)

// HashPassword returns a PHC-style argon2id string.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

var errBadHash = errors.New("stored password hash is malformed")

// CheckPassword reports whether password matches the stored hash, in
// constant time.
func CheckPassword(stored, password string) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// ValidatePassword enforces length only: NIST 800-63B advises against
// composition rules, and long passphrases beat clever short ones.
func ValidatePassword(field, pw string) error {
	switch {
	case len(pw) < minPassword:
		return attest.Invalid(field, fmt.Sprintf("must be at least %d characters", minPassword))
	case len(pw) > maxPassword:
		return attest.Invalid(field, fmt.Sprintf("must be at most %d characters", maxPassword))
	}
	return nil
}

// OneTimePassword returns a random password for a new account, shown once.
func OneTimePassword() string {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
