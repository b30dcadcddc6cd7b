package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// newSecret returns a high-entropy secret with a prefix naming its kind
// ("att_" tokens, "ses_" sessions) so a leaked one is easy to recognise.
func newSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// hashSecret is what the database keeps. 256-bit random secrets need no
// slow hash: SHA-256 is enough to make a stolen table useless.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
