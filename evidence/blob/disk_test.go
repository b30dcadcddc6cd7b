package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/attest-hq/attest"
	"github.com/attest-hq/attest/keyring"
)

const headerLen = fixedHeaderLen + keyring.WrappedKeySize
const sealedChunk = chunkSize + tagSize

func testKeyring(t testing.TB, fill byte) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.FromBytes(bytes.Repeat([]byte{fill}, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newTestDisk(t testing.TB) (*Disk, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	d, err := NewDisk(dir, testKeyring(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	return d, dir
}

func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	rand.NewChaCha8(s).Read(b)
	return b
}

func put(t testing.TB, s Store, data []byte) Info {
	t.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(data), err)
	}
	return info
}

// readAll opens key and reads it to the end.
func readAll(s Store, key string) ([]byte, error) {
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return data, err
}

// files lists every regular file below dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	d, dir := newTestDisk(t)
	sizes := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"one byte", 1},
		{"chunk-1", chunkSize - 1},
		{"chunk", chunkSize},
		{"chunk+1", chunkSize + 1},
		{"two chunks", 2 * chunkSize},
		{"three chunks and a bit", 3*chunkSize + 17},
		{"5 MiB and a bit", 5<<20 + 3},
	}
	for i, tt := range sizes {
		t.Run(tt.name, func(t *testing.T) {
			data := randomBytes(tt.size, uint64(i))
			info := put(t, d, data)
			sum := sha256.Sum256(data)
			if info.Size != int64(tt.size) || info.SHA256 != hex.EncodeToString(sum[:]) || !validKey(info.Key) {
				t.Fatalf("Info = %+v, want size %d sha256 %x and a valid key", info, tt.size, sum)
			}

			got, err := readAll(d, info.Key)
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read back %d bytes that differ from the %d written", len(got), len(data))
			}
			if tt.size <= 3*chunkSize+17 {
				rc, err := d.Open(context.Background(), info.Key)
				if err != nil {
					t.Fatal(err)
				}
				if err := iotest.TestReader(rc, data); err != nil {
					t.Fatal(err)
				}
				rc.Close()
			}

			path := d.path(info.Key)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			chunks := tt.size/chunkSize + 1
			if tt.size > 0 && tt.size%chunkSize == 0 {
				chunks--
			}
			if want := int64(headerLen + tt.size + chunks*tagSize); fi.Size() != want {
				t.Errorf("stored file is %d bytes, want %d (%d chunks)", fi.Size(), want, chunks)
			}
			if runtime.GOOS != "windows" {
				if perm := fi.Mode().Perm(); perm != 0o600 {
					t.Errorf("blob mode %04o, want 0600", perm)
				}
				for p := filepath.Dir(path); p != filepath.Dir(dir); p = filepath.Dir(p) {
					di, _ := os.Stat(p)
					if perm := di.Mode().Perm(); perm != 0o700 {
						t.Errorf("directory %s mode %04o, want 0700", p, perm)
					}
				}
			}
		})
	}
}

func TestPutFromFragmentedReader(t *testing.T) {
	d, _ := newTestDisk(t)
	for _, size := range []int{0, 1, chunkSize, 2*chunkSize + 5} {
		data := randomBytes(size, 99)
		for name, r := range map[string]io.Reader{
			"one byte": iotest.OneByteReader(bytes.NewReader(data)),
			"half":     iotest.HalfReader(bytes.NewReader(data)),
			"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
		} {
			info, err := d.Put(context.Background(), r, int64(size))
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", name, size, err)
			}
			if got, err := readAll(d, info.Key); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s, %d bytes: read back %d bytes, %v", name, size, len(got), err)
			}
		}
	}
}

func TestStoredFileHidesPlaintext(t *testing.T) {
	d, _ := newTestDisk(t)
	data := []byte(strings.Repeat("CONFIDENTIAL: quarterly access review of prod-db ", 5000))
	a, b := put(t, d, data), put(t, d, data)
	if a.Key == b.Key {
		t.Fatal("two puts of the same bytes share a key")
	}
	if a.SHA256 != b.SHA256 {
		t.Fatal("same bytes, different SHA256")
	}
	ca, _ := os.ReadFile(d.path(a.Key))
	cb, _ := os.ReadFile(d.path(b.Key))
	for _, stored := range [][]byte{ca, cb} {
		if bytes.Contains(stored, []byte("CONFIDENTIAL")) || bytes.Contains(stored, []byte("prod-db")) {
			t.Fatal("stored file contains plaintext")
		}
	}
	if bytes.Equal(ca[headerLen:headerLen+64], cb[headerLen:headerLen+64]) {
		t.Fatal("two blobs of the same bytes have the same ciphertext")
	}
}

// TestTamperingDetected alters a stored four-chunk blob in every way an
// attacker with write access to the disk could, and expects the read to fail
// with ErrCorrupt without ever returning bytes that were not written.
func TestTamperingDetected(t *testing.T) {
	d, _ := newTestDisk(t)
	data := randomBytes(3*chunkSize+100, 7)
	chunkAt := func(i int) int { return headerLen + i*sealedChunk }
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte {
			if off < 0 {
				off += len(b)
			}
			b[off] ^= 0x01
			return b
		}
	}
	other := put(t, d, randomBytes(3*chunkSize+100, 8))
	otherFile, _ := os.ReadFile(d.path(other.Key))

	tests := []struct {
		name   string
		change func([]byte) []byte
	}{
		{"magic", flip(0)},
		{"version", flip(len(magic))},
		{"chunk size out of range", flip(len(magic) + 2)},
		{"chunk size in range", flip(len(magic) + 3)},
		{"nonce prefix", flip(len(magic) + 5)},
		{"wrapped key length", flip(fixedHeaderLen - 1)},
		{"wrapped key", flip(fixedHeaderLen + 20)},
		{"first chunk", flip(chunkAt(0))},
		{"middle chunk", flip(chunkAt(2) + 500)},
		{"last chunk", flip(chunkAt(3) + 3)},
		{"last tag byte", flip(-1)},
		{"truncate the last chunk", func(b []byte) []byte { return b[:chunkAt(3)] }},
		{"truncate to two chunks", func(b []byte) []byte { return b[:chunkAt(2)] }},
		{"truncate one byte", func(b []byte) []byte { return b[:len(b)-1] }},
		{"truncate into the tag", func(b []byte) []byte { return b[:len(b)-tagSize+1] }},
		{"truncate to the header", func(b []byte) []byte { return b[:headerLen] }},
		{"truncate the header", func(b []byte) []byte { return b[:headerLen-1] }},
		{"empty file", func(b []byte) []byte { return nil }},
		{"append a byte", func(b []byte) []byte { return append(b, 0) }},
		{"repeat the last chunk", func(b []byte) []byte { return append(b, b[chunkAt(3):]...) }},
		{"swap chunks 0 and 1", func(b []byte) []byte {
			c0 := bytes.Clone(b[chunkAt(0):chunkAt(1)])
			copy(b[chunkAt(0):], b[chunkAt(1):chunkAt(2)])
			copy(b[chunkAt(1):], c0)
			return b
		}},
		{"swap chunks 1 and 2", func(b []byte) []byte {
			c1 := bytes.Clone(b[chunkAt(1):chunkAt(2)])
			copy(b[chunkAt(1):], b[chunkAt(2):chunkAt(3)])
			copy(b[chunkAt(2):], c1)
			return b
		}},
		{"drop chunk 1", func(b []byte) []byte { return append(b[:chunkAt(1)], b[chunkAt(2):]...) }},
		{"repeat chunk 0", func(b []byte) []byte { copy(b[chunkAt(1):], b[chunkAt(0):chunkAt(1)]); return b }},
		{"chunk from another blob", func(b []byte) []byte {
			copy(b[chunkAt(1):chunkAt(2)], otherFile[chunkAt(1):chunkAt(2)])
			return b
		}},
		{"header from another blob", func(b []byte) []byte { copy(b, otherFile[:headerLen]); return b }},
		{"another blob's file", func([]byte) []byte { return bytes.Clone(otherFile) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := put(t, d, data)
			path := d.path(info.Key)
			stored, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.change(stored), 0o600); err != nil {
				t.Fatal(err)
			}
			rc, err := d.Open(context.Background(), info.Key)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read of tampered blob: %d bytes, err %v; want ErrCorrupt", len(got), err)
			}
			if !bytes.HasPrefix(data, got) {
				t.Fatal("reader returned bytes that were never written")
			}
		})
	}
}

func TestOpenWithAnotherMasterKey(t *testing.T) {
	d, dir := newTestDisk(t)
	info := put(t, d, []byte("evidence"))
	other, err := NewDisk(dir, testKeyring(t, 2))
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(other, info.Key)
	if !errors.Is(err, keyring.ErrUnknownKey) {
		t.Fatalf("open with another master key: %v, want keyring.ErrUnknownKey", err)
	}
	// Another instance sharing the key reads it.
	same, _ := NewDisk(dir, testKeyring(t, 1))
	if got, err := readAll(same, info.Key); err != nil || string(got) != "evidence" {
		t.Fatalf("open from a second instance: %q, %v", got, err)
	}
}

// countingReader counts the bytes Put pulled from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestPutLimit(t *testing.T) {
	tests := []struct {
		name    string
		size    int64
		max     int64
		tooBig  bool
		readMax int64 // at most this many bytes may be read from the upload
	}{
		{"empty under zero cap", 0, 0, false, 0},
		{"one byte over zero cap", 1, 0, true, 1},
		{"exactly the cap", chunkSize, chunkSize, false, chunkSize},
		{"one over a chunk cap", chunkSize + 1, chunkSize, true, chunkSize + 1},
		{"one over a small cap", 11, 10, true, 11},
		{"far over the cap", 64 << 20, 100_000, true, 100_001},
		{"one over a multi-chunk cap", 3*chunkSize + 1, 3 * chunkSize, true, 3*chunkSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, dir := newTestDisk(t)
			r := &countingReader{r: io.LimitReader(zeroReader{}, tt.size)}
			info, err := d.Put(context.Background(), r, tt.max)
			if r.n > tt.readMax {
				t.Errorf("Put read %d bytes of the upload, want at most %d", r.n, tt.readMax)
			}
			if !tt.tooBig {
				if err != nil || info.Size != tt.size {
					t.Fatalf("Put = %+v, %v; want size %d", info, err, tt.size)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || attest.KindOf(err) != attest.KindTooLarge {
				t.Fatalf("Put over the cap: %v (kind %v), want ErrTooLarge of KindTooLarge", err, attest.KindOf(err))
			}
			if info != (Info{}) {
				t.Errorf("Put returned %+v with an error", info)
			}
			if left := files(t, dir); len(left) != 0 {
				t.Fatalf("files left behind: %v", left)
			}
		})
	}
	d, _ := newTestDisk(t)
	if _, err := d.Put(context.Background(), strings.NewReader(""), -1); err == nil {
		t.Fatal("Put accepted a negative cap")
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestPutFailureLeavesNothing(t *testing.T) {
	boom := errors.New("connection reset")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		want error
	}{
		{"reader fails mid-stream", context.Background(),
			io.MultiReader(bytes.NewReader(make([]byte, 2*chunkSize+5)), iotest.ErrReader(boom)), boom},
		{"reader fails at once", context.Background(), iotest.ErrReader(boom), boom},
		{"context canceled", canceled, bytes.NewReader(make([]byte, 100)), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, dir := newTestDisk(t)
			_, err := d.Put(tt.ctx, tt.r, 1<<30)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Put: %v, want %v", err, tt.want)
			}
			if left := files(t, dir); len(left) != 0 {
				t.Fatalf("files left behind: %v", left)
			}
		})
	}
}

func TestOpenAndDeleteByKey(t *testing.T) {
	d, _ := newTestDisk(t)
	ctx := context.Background()
	info := put(t, d, []byte("x"))
	for _, key := range []string{
		"", "../../../etc/passwd", strings.ToUpper(info.Key), info.Key + "0", info.Key[:31],
		"0123456789abcdef0123456789abcdef", // well formed, never written
	} {
		if _, err := d.Open(ctx, key); !errors.Is(err, attest.ErrNotFound) {
			t.Errorf("Open(%q): %v, want attest.ErrNotFound", key, err)
		}
	}
	if err := d.Delete(ctx, "../x"); err == nil {
		t.Error("Delete accepted an invalid key")
	}
	if err := d.Delete(ctx, info.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, info.Key); !errors.Is(err, attest.ErrNotFound) {
		t.Errorf("Open after Delete: %v, want attest.ErrNotFound", err)
	}
	if err := d.Delete(ctx, info.Key); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
}

func TestReaderAfterCloseAndCancel(t *testing.T) {
	d, _ := newTestDisk(t)
	info := put(t, d, randomBytes(3*chunkSize, 3))
	rc, err := d.Open(context.Background(), info.Key)
	if err != nil {
		t.Fatal(err)
	}
	rc.Read(make([]byte, 10))
	rc.Close()
	if n, err := rc.Read(make([]byte, 10)); n != 0 || err == nil || err == io.EOF {
		t.Fatalf("Read after Close = %d, %v; want an error", n, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	rc, err = d.Open(ctx, info.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rc.Read(make([]byte, 10))
	cancel()
	if _, err := io.ReadAll(rc); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
}

// TestPutStreams checks that memory use does not grow with the upload.
func TestPutStreams(t *testing.T) {
	d, _ := newTestDisk(t)
	const size = 32 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	info, err := d.Put(context.Background(), io.LimitReader(zeroReader{}, size), size)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size {
		t.Fatalf("size %d", info.Size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("Put of %d MiB allocated %d KiB; it should stream", size>>20, alloc>>10)
	}

	rc, err := d.Open(context.Background(), info.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := io.CopyBuffer(io.Discard, rc, make([]byte, 32<<10))
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("reading %d MiB allocated %d KiB; it should stream", size>>20, alloc>>10)
	}
}

func TestConcurrentPuts(t *testing.T) {
	d, _ := newTestDisk(t)
	var wg sync.WaitGroup
	infos := make([]Info, 8)
	errs := make([]error, 8)
	for i := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			infos[i], errs[i] = d.Put(context.Background(), bytes.NewReader(randomBytes(chunkSize+i, uint64(i))), 1<<20)
		}()
	}
	wg.Wait()
	for i, info := range infos {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		got, err := readAll(d, info.Key)
		if err != nil || !bytes.Equal(got, randomBytes(chunkSize+i, uint64(i))) {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
}

func TestNewDiskRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, tempPrefix+"stale")
	fresh := filepath.Join(dir, tempPrefix+"fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDisk(dir, testKeyring(t, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file (an upload in progress) removed: %v", err)
	}
}

func BenchmarkPut(b *testing.B) {
	d, _ := newTestDisk(b)
	data := randomBytes(8<<20, 1)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		info, err := d.Put(context.Background(), bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		d.Delete(context.Background(), info.Key)
		b.StartTimer()
	}
}

func BenchmarkOpen(b *testing.B) {
	d, _ := newTestDisk(b)
	data := randomBytes(8<<20, 1)
	info := put(b, d, data)
	b.SetBytes(int64(len(data)))
	buf := make([]byte, 32<<10)
	for b.Loop() {
		rc, err := d.Open(context.Background(), info.Key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
