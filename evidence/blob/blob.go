// Package blob stores evidence files encrypted at rest. The rest of the
// product uses the Store interface only, so an S3-compatible backend can
// replace the local disk without changes elsewhere; both would write the
// same self-contained encrypted format (see format.go).
//
// # Why the wrapped data key lives in the blob header
//
// Each blob is encrypted with its own random data key, wrapped by the master
// key (keyring.NewDataKey). The wrapped key is stored in the blob's header,
// not in the database, so Open needs nothing but the blob key, a blob can be
// checked or re-wrapped on its own, and a database row and a blob can never
// disagree about which data key belongs to which file. The header is
// authenticated with every chunk, and the chunks are bound to the blob key,
// so moving a blob file to another key's path fails to open as well.
//
// # Why blob keys are random rather than content addresses
//
// A key derived from the plaintext hash would tell anyone who can list the
// storage whether a known document is stored, and two evidence items with the
// same bytes would share one blob, so Delete during the rollback of one
// would destroy the other's file. Info.SHA256 still records the content hash
// for the database and for auditors.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/attest-hq/attest"
)

// Store keeps encrypted evidence blobs.
type Store interface {
	// Put streams r into a new blob, encrypting as it goes; it never holds
	// the whole file in memory. It fails with ErrTooLarge (wrapped, of kind
	// attest.KindTooLarge) once more than max bytes were read, and on any
	// error it leaves nothing behind. Any caller that stores evidence may
	// call it; the returned Info goes into the evidence row.
	Put(ctx context.Context, r io.Reader, max int64) (Info, error)

	// Open returns a reader of the decrypted bytes. The reader
	// authenticates every chunk before returning any of its bytes and fails
	// with ErrCorrupt on tampering or truncation; bytes of earlier chunks may
	// already have been delivered, so a caller must treat a read error as
	// the failure of the whole blob. Open fails with an error wrapping
	// attest.ErrNotFound for an unknown or invalid key, ErrCorrupt for a
	// damaged header, and keyring.ErrUnknownKey when the blob was written
	// under another master key. Callers must close the reader.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// Delete removes a blob. It exists only to roll back a Put whose
	// database transaction failed; evidence retention never deletes through
	// it. Deleting a key that is already gone succeeds, so a rollback may
	// run twice.
	Delete(ctx context.Context, key string) error
}

// Info describes a stored blob.
type Info struct {
	Key    string // random, 32 lowercase hex characters
	Size   int64  // plaintext bytes
	SHA256 string // hex SHA-256 of the plaintext
}

var (
	// ErrTooLarge reports an upload over the caller's cap.
	ErrTooLarge = errors.New("blob: too large")
	// ErrCorrupt reports a blob that fails authentication: altered,
	// truncated, extended, reordered, or moved to another key.
	ErrCorrupt = errors.New("blob: corrupt or tampered")
)

// tooLarge wraps ErrTooLarge in an error the web layer maps to 413.
func tooLarge(max int64) error {
	return &attest.Error{Kind: attest.KindTooLarge, Message: fmt.Sprintf("file is larger than the limit of %d bytes", max), Err: ErrTooLarge}
}
