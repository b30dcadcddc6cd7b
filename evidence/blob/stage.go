package blob

import (
	"context"
	"errors"
	"fmt"
	"io"

	attest "github.com/attest-hq/attest"
)

// Stage streams r into a new blob (at most max bytes) and then calls
// commit with what was stored — typically the database transaction that
// records it. When commit fails the blob is deleted again, so a failed
// write leaves no file behind. Over the cap it returns a TooLarge error on
// the field "file".
func Stage(ctx context.Context, s Store, r io.Reader, max int64, commit func(Info) error) error {
	info, err := s.Put(ctx, r, max)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return &attest.Error{Kind: attest.KindTooLarge, Field: "file", Message: fmt.Sprintf("files are limited to %s", mib(max)), Err: err}
		}
		return fmt.Errorf("store file: %w", err)
	}
	if err := commit(info); err != nil {
		if derr := s.Delete(context.WithoutCancel(ctx), info.Key); derr != nil {
			return fmt.Errorf("%w (and removing the stored file failed: %v)", err, derr)
		}
		return err
	}
	return nil
}

func mib(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
