package blob

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	attest "github.com/attest-hq/attest"
)

func TestStage(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("transaction failed")
	cases := []struct {
		name     string
		body     string
		max      int64
		commit   error
		wantErr  error
		wantKind attest.ErrorKind
		kept     bool
	}{
		{"committed", "hello", 100, nil, nil, 0, true},
		{"commit fails", "hello", 100, boom, boom, 0, false},
		{"too large", strings.Repeat("x", 101), 100, nil, nil, attest.KindTooLarge, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, dir := newTestDisk(t)
			var got Info
			err := Stage(ctx, d, strings.NewReader(c.body), c.max, func(info Info) error {
				got = info
				return c.commit
			})
			switch {
			case c.wantErr != nil && !errors.Is(err, c.wantErr):
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			case c.wantKind != 0 && (attest.KindOf(err) != c.wantKind || err.(*attest.Error).Field != "file"):
				t.Fatalf("err = %v, want kind %v on field file", err, c.wantKind)
			case c.wantErr == nil && c.wantKind == 0 && err != nil:
				t.Fatal(err)
			}
			rc, oerr := d.Open(ctx, got.Key)
			if c.kept {
				if oerr != nil {
					t.Fatalf("committed blob is gone: %v", oerr)
				}
				b, _ := io.ReadAll(rc)
				rc.Close()
				if string(b) != c.body {
					t.Fatalf("read back %q", b)
				}
				return
			}
			if oerr == nil {
				rc.Close()
				t.Fatal("blob left behind after a failed write")
			}
			if n := len(files(t, dir)); n != 0 {
				t.Fatalf("%d files left behind", n)
			}
		})
	}
}
