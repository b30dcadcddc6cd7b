//go:build unix

package pii

import (
	"os"
	"syscall"
)

// fileKey identifies a file across links.
type fileKey struct{ dev, ino uint64 }

func keyOf(info os.FileInfo) (fileKey, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{uint64(st.Dev), uint64(st.Ino)}, true
}
