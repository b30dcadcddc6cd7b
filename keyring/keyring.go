// Package keyring holds Attest's master key and everything derived from it:
// sealing of small secrets stored in the database (TOTP secrets, integration
// credentials) and wrapping of the per-file data keys that encrypt evidence
// blobs (envelope encryption).
//
// The master key is never used directly. Each purpose gets its own subkey,
// derived with HKDF-SHA256 and a purpose label, so a value sealed for one
// purpose can never be opened as another.
//
// # Master key text
//
// The key file (DATA/master.key) and the ATTEST_MASTER_KEY environment
// variable hold the same text: a version line followed by the 32-byte key in
// standard base64.
//
//	attest-master-key v1
//	q0cY2d8m0V7c4zQ0J7h4b1yH0a3kXw1mS5w8x0J2b8E=
//
// Parse also accepts the base64 line alone, which is easier to put in an
// environment variable. Generate returns a fresh key in this form.
//
// # Sealed values
//
// Seal and NewDataKey produce
//
//	version (1 byte, 0x01) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and tag
//
// The key id is derived from the master key (HKDF, label "attest/v1/key-id"),
// so a value sealed under another master key is reported as such instead of
// as tampering, and a future keyring can hold several keys and pick one by id
// when the master key is rotated. The 5-byte prefix is part of the GCM
// associated data, so it cannot be altered either.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size in bytes of the master key and of every data key.
const KeySize = 32

// header is the first line of the master key text.
const header = "attest-master-key v1"

// sealVersion is the first byte of every sealed value.
const sealVersion = 0x01

const (
	keyIDSize   = 4
	nonceSize   = 12
	prefixSize  = 1 + keyIDSize
	sealedExtra = prefixSize + nonceSize + 16 // prefix, nonce and GCM tag
)

// HKDF labels, one per purpose. Changing one makes every value sealed for
// that purpose unreadable.
const (
	labelKeyID = "attest/v1/key-id"
	labelSeal  = "attest/v1/seal"
	labelWrap  = "attest/v1/data-key-wrap"
)

// dataKeyAD is the associated data of a wrapped data key: it keeps a sealed
// database value from being accepted as a data key even if the two subkeys
// were ever merged.
var dataKeyAD = []byte("attest data key")

var (
	// ErrUnknownKey reports a value sealed under a master key this keyring
	// does not hold (another installation's key, or a rotated-out key).
	ErrUnknownKey = errors.New("keyring: sealed with an unknown master key")
	// ErrDecrypt reports a sealed value that fails authentication: it was
	// altered, truncated, or opened with the wrong associated data.
	ErrDecrypt = errors.New("keyring: sealed value failed authentication")
	// ErrMalformed reports a sealed value too short or of an unknown version.
	ErrMalformed = errors.New("keyring: sealed value is malformed")
)

// Keyring seals secrets and wraps data keys with subkeys of one master key.
// It is safe for concurrent use. It holds only derived subkeys, not the
// master key itself, and never prints them.
type Keyring struct {
	keyID [keyIDSize]byte
	seal  cipher.AEAD
	wrap  cipher.AEAD
}

// FromBytes returns the keyring of a 32-byte master key. The key is not
// retained; callers may wipe it afterwards.
func FromBytes(master []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("keyring: master key is %d bytes, want %d", len(master), KeySize)
	}
	kr := &Keyring{}
	id, err := hkdf.Key(sha256.New, master, nil, labelKeyID, keyIDSize)
	if err != nil {
		return nil, fmt.Errorf("keyring: derive key id: %w", err)
	}
	copy(kr.keyID[:], id)
	if kr.seal, err = subkeyAEAD(master, labelSeal); err != nil {
		return nil, err
	}
	if kr.wrap, err = subkeyAEAD(master, labelWrap); err != nil {
		return nil, err
	}
	return kr, nil
}

func subkeyAEAD(master []byte, label string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, master, nil, label, KeySize)
	if err != nil {
		return nil, fmt.Errorf("keyring: derive subkey %q: %w", label, err)
	}
	defer clear(k)
	return newGCM(k)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keyring: aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyring: gcm: %w", err)
	}
	return aead, nil
}

// Parse reads master key text: the key file's content, or the base64 line
// alone (for ATTEST_MASTER_KEY). Errors never echo the text, which is secret.
func Parse(text string) (*Keyring, error) {
	key, err := parseText(text)
	if err != nil {
		return nil, fmt.Errorf("keyring: parse master key: %w", err)
	}
	defer clear(key)
	return FromBytes(key)
}

func parseText(text string) ([]byte, error) {
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("empty")
	}
	lines := strings.Split(text, "\n")
	first := strings.TrimSpace(lines[0])
	var b64 string
	switch {
	case first == header && len(lines) == 2:
		b64 = lines[1]
	case first == header:
		return nil, errors.New("want exactly one base64 line after \"" + header + "\"")
	case strings.HasPrefix(first, "attest-master-key"):
		return nil, errors.New("unsupported version line (want \"" + header + "\")")
	case len(lines) == 1:
		b64 = lines[0] // the bare base64 form, for the environment
	default:
		return nil, errors.New("first line is not \"" + header + "\"")
	}
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, errors.New("key is not valid standard base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(key), KeySize)
	}
	return key, nil
}

// Generate returns a new random master key as text, in the key-file form.
func Generate() (string, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("keyring: generate master key: %w", err)
	}
	defer clear(key)
	return formatText(key), nil
}

func formatText(key []byte) string {
	return header + "\n" + base64.StdEncoding.EncodeToString(key) + "\n"
}

// KeyID returns the hex id of the master key, safe to log: it identifies the
// key (e.g. to tell two instances apart that were given different keys)
// without revealing anything about it.
func (kr *Keyring) KeyID() string { return hex.EncodeToString(kr.keyID[:]) }

// String describes the keyring without any key material.
func (kr *Keyring) String() string { return "keyring(" + kr.KeyID() + ")" }

// GoString keeps %#v from printing the cipher state.
func (kr *Keyring) GoString() string { return kr.String() }

// Seal encrypts a small secret for storage in the database. associatedData
// names where the value belongs (e.g. "user:<id>:totp"); Open must be given
// the same bytes, so a sealed value copied to another row does not open.
func (kr *Keyring) Seal(plaintext, associatedData []byte) ([]byte, error) {
	return kr.sealWith(kr.seal, plaintext, associatedData)
}

// Open decrypts a value from Seal. It returns ErrDecrypt (wrapped) when the
// value was altered or associatedData differs, ErrUnknownKey when it was
// sealed under another master key, and ErrMalformed when it is not a sealed
// value at all.
func (kr *Keyring) Open(sealed, associatedData []byte) ([]byte, error) {
	return kr.openWith(kr.seal, sealed, associatedData)
}

// NewDataKey returns a fresh random 32-byte data key and the same key
// wrapped by the master key, to be stored next to what the key encrypts.
func (kr *Keyring) NewDataKey() (key, wrapped []byte, err error) {
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, fmt.Errorf("keyring: generate data key: %w", err)
	}
	wrapped, err = kr.sealWith(kr.wrap, key, dataKeyAD)
	if err != nil {
		return nil, nil, err
	}
	return key, wrapped, nil
}

// UnwrapDataKey returns the data key inside wrapped, with the errors of Open.
func (kr *Keyring) UnwrapDataKey(wrapped []byte) ([]byte, error) {
	key, err := kr.openWith(kr.wrap, wrapped, dataKeyAD)
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("unwrap data key: %w", ErrMalformed)
	}
	return key, nil
}

// WrappedKeySize is the length of a wrapped data key.
const WrappedKeySize = KeySize + sealedExtra

func (kr *Keyring) sealWith(aead cipher.AEAD, plaintext, ad []byte) ([]byte, error) {
	out := make([]byte, prefixSize+nonceSize, prefixSize+nonceSize+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	copy(out[1:prefixSize], kr.keyID[:])
	nonce := out[prefixSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyring: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, fullAD(out[:prefixSize], ad)), nil
}

func (kr *Keyring) openWith(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < sealedExtra || sealed[0] != sealVersion {
		return nil, ErrMalformed
	}
	if [keyIDSize]byte(sealed[1:prefixSize]) != kr.keyID {
		return nil, fmt.Errorf("%w (value key id %x, keyring key id %s)", ErrUnknownKey, sealed[1:prefixSize], kr.KeyID())
	}
	nonce := sealed[prefixSize : prefixSize+nonceSize]
	pt, err := aead.Open(nil, nonce, sealed[prefixSize+nonceSize:], fullAD(sealed[:prefixSize], ad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// fullAD binds the version and key id prefix as well as the caller's data.
// The prefix has a fixed length, so the concatenation is unambiguous.
func fullAD(prefix, ad []byte) []byte {
	full := make([]byte, 0, len(prefix)+len(ad))
	return append(append(full, prefix...), ad...)
}
