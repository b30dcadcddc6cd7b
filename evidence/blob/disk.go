package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/attest-hq/attest"
	"github.com/attest-hq/attest/keyring"
)

// tempPrefix names uploads in progress, in the root of the store so that
// the final rename stays on one filesystem.
const tempPrefix = ".tmp-"

// staleTemp is how long an untouched temporary file may live before NewDisk
// removes it as the leftover of a crash. Uploads in progress write at least
// once per chunk, so their modification time stays recent.
const staleTemp = time.Hour

// Disk is the local-disk Store. Blob files live at
// DIR/<key[0:2]>/<key[2:4]>/<key>, mode 0600 in directories of mode 0700.
// Several processes may share one directory.
type Disk struct {
	dir string
	kr  *keyring.Keyring
}

var _ Store = (*Disk)(nil)

// NewDisk returns the store rooted at dir, creating it (mode 0700) if
// needed, and removes temporary files that crashed uploads left behind.
func NewDisk(dir string, kr *keyring.Keyring) (*Disk, error) {
	if kr == nil {
		return nil, errors.New("blob: new disk store: nil keyring")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create store directory %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: read store directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // another instance cleaned it up
		}
		if err != nil {
			return nil, fmt.Errorf("blob: stat temporary file %s: %w", e.Name(), err)
		}
		if time.Since(info.ModTime()) < staleTemp {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("blob: remove stale temporary file %s: %w", e.Name(), err)
		}
	}
	return &Disk{dir: dir, kr: kr}, nil
}

// Put implements Store. The blob is written to a temporary file, synced,
// and renamed into place, so a crash never leaves a partial blob under a key.
func (d *Disk) Put(ctx context.Context, r io.Reader, max int64) (Info, error) {
	if max < 0 {
		return Info{}, fmt.Errorf("put blob: negative size limit %d", max)
	}
	key, err := newKey()
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	tmp, err := os.CreateTemp(d.dir, tempPrefix+"*") // mode 0600
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	final := d.path(key)
	placed, ok := false, false
	defer func() {
		if ok {
			return
		}
		tmp.Close() // may already be closed; the first error was reported
		os.Remove(tmp.Name())
		if placed {
			os.Remove(final)
		}
	}()

	size, sum, err := encrypt(ctx, tmp, r, max, key, d.kr)
	if err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, fmt.Errorf("put blob: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, fmt.Errorf("put blob: close: %w", err)
	}
	if err := d.makeDirs(filepath.Dir(final)); err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	placed = true
	if err := syncDir(filepath.Dir(final)); err != nil {
		return Info{}, fmt.Errorf("put blob: %w", err)
	}
	ok = true
	return Info{Key: key, Size: size, SHA256: hex.EncodeToString(sum)}, nil
}

// Open implements Store.
func (d *Disk) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("open blob %q: invalid key: %w", key, attest.ErrNotFound)
	}
	f, err := os.Open(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", key, attest.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	dec, err := newDecrypter(ctx, f, key, d.kr)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	dec.closer = f
	return dec, nil
}

// Delete implements Store.
func (d *Disk) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return fmt.Errorf("delete blob %q: invalid key", key)
	}
	if err := os.Remove(d.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

func (d *Disk) path(key string) string {
	return filepath.Join(d.dir, key[0:2], key[2:4], key)
}

// makeDirs creates the fan-out directories below the root, syncing the
// parent of each one it creates so the new entry survives a crash.
func (d *Disk) makeDirs(dir string) error {
	rel, err := filepath.Rel(d.dir, dir)
	if err != nil {
		return err
	}
	cur := d.dir
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		parent := cur
		cur = filepath.Join(cur, part)
		err := os.Mkdir(cur, 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := syncDir(parent); err != nil {
			return err
		}
	}
	return nil
}

// newKey returns 128 random bits as lowercase hex.
func newKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("blob key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validKey accepts only what newKey produces, so a key can never name a
// path outside the store.
func validKey(key string) bool {
	if len(key) != 32 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
