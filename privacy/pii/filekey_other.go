//go:build !unix

package pii

import "os"

// fileKey identifies a file across links; without inodes, loops are bounded
// by the depth limit instead.
type fileKey struct{ name string }

func keyOf(os.FileInfo) (fileKey, bool) { return fileKey{}, false }
