package keyring

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxKeyFile bounds what LoadOrCreate reads: a key file is about 66 bytes.
const maxKeyFile = 4096

// LoadOrCreate returns the keyring of the master key file at path, creating
// the file with a new random key (mode 0600, parent directory 0700 if it is
// missing) when there is none; created reports which happened.
//
// It refuses a file that is not a regular file, that group or others may
// read or write, or whose content is malformed; the error names the path and
// the problem, never the key. Creation is atomic and never replaces a key
// file another process created at the same moment: the key is written and
// synced to a temporary file that is then linked into place, so every
// process ends up with the same key.
func LoadOrCreate(path string) (kr *Keyring, created bool, err error) {
	kr, err = load(path)
	if err == nil {
		return kr, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	kr, err = create(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process won the race; use its key.
		kr, err = load(path)
		return kr, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return kr, true, nil
}

func load(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: open master key file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("keyring: stat master key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keyring: master key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits; the ACLs of the data dir apply.
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("keyring: master key file %s has mode %04o, which lets group or others access it; run chmod 600 %s (and consider the key exposed)", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("keyring: read master key file %s: %w", path, err)
	}
	defer clear(data)
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("keyring: master key file %s is malformed: larger than %d bytes", path, maxKeyFile)
	}
	key, err := parseText(string(data))
	if err != nil {
		return nil, fmt.Errorf("keyring: master key file %s is malformed: %w", path, err)
	}
	defer clear(key)
	return FromBytes(key)
}

// create writes a new key file. It returns an error wrapping fs.ErrExist
// when a file appeared at path in the meantime.
func create(path string) (*Keyring, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: create directory for master key %s: %w", path, err)
	}
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("keyring: generate master key: %w", err)
	}
	kr, err := FromBytes(key)
	if err != nil {
		return nil, err
	}

	tmp, err := os.CreateTemp(dir, ".master.key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("keyring: create master key %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after the link, only the temporary name goes
	_, err = tmp.WriteString(formatText(key))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: write master key %s: %w", path, err)
	}
	// Link, unlike rename, fails when path exists: two instances starting on
	// an empty data dir must not each keep a different key.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("keyring: create master key %s: %w", path, err)
		}
		// Some filesystems have no hard links; fall back to a plain rename
		// after a last check, accepting the small race.
		if _, serr := os.Lstat(path); serr == nil {
			return nil, fmt.Errorf("keyring: create master key %s: %w", path, fs.ErrExist)
		}
		if rerr := os.Rename(tmpName, path); rerr != nil {
			return nil, fmt.Errorf("keyring: create master key %s: link: %v; rename: %w", path, err, rerr)
		}
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("keyring: create master key %s: %w", path, err)
	}
	return kr, nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
