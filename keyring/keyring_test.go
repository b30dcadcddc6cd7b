package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func testKeyring(t testing.TB, fill byte) *Keyring {
	t.Helper()
	kr, err := FromBytes(bytes.Repeat([]byte{fill}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestLoadOrCreateCreatesThenLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")
	kr1, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreate: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", perm)
		}
		di, _ := os.Stat(filepath.Dir(path))
		if perm := di.Mode().Perm(); perm != 0o700 {
			t.Errorf("created data dir mode = %04o, want 0700", perm)
		}
	}
	text, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(text), header+"\n") {
		t.Errorf("key file does not start with the version line: %q", text)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("data dir holds %d entries, want only master.key (temp file left?)", len(entries))
	}

	kr2, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate: created=%v err=%v", created, err)
	}
	if kr1.KeyID() != kr2.KeyID() {
		t.Fatalf("reloaded key id %s, want %s", kr2.KeyID(), kr1.KeyID())
	}
	sealed, err := kr1.Seal([]byte("secret"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := kr2.Open(sealed, []byte("ad")); err != nil || string(pt) != "secret" {
		t.Fatalf("open with reloaded key: %q, %v", pt, err)
	}
	// The file and the environment form are interchangeable.
	kr3, err := Parse(string(text))
	if err != nil || kr3.KeyID() != kr1.KeyID() {
		t.Fatalf("Parse(file text): %v, id %v", err, kr3)
	}
}

func TestLoadOrCreateConcurrentStartsAgreeOnOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kr, _, err := LoadOrCreate(path)
			errs[i] = err
			if err == nil {
				ids[i] = kr.KeyID()
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("instance %d got key %s, instance 0 got %s", i, ids[i], ids[0])
		}
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	good, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b64 := strings.Split(good, "\n")[1]
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string // part of the error
	}{
		{"world readable", good, 0o644, "mode 0644"},
		{"group readable", good, 0o640, "mode 0640"},
		{"group writable", good, 0o620, "mode 0620"},
		{"empty", "", 0o600, "malformed: empty"},
		{"garbage", "hello\nworld\n", 0o600, "malformed"},
		{"wrong version", "attest-master-key v9\n" + b64 + "\n", 0o600, "unsupported version"},
		{"header without key", header + "\n", 0o600, "malformed"},
		{"extra line", good + "more\n", 0o600, "exactly one base64 line"},
		{"not base64", header + "\n!!!!\n", 0o600, "not valid standard base64"},
		{"short key", header + "\n" + short + "\n", 0o600, "16 bytes, want 32"},
		{"too big", strings.Repeat("A", maxKeyFile+10), 0o600, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.mode != 0o600 {
				t.Skip("no Unix permission bits on Windows")
			}
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // beat the umask
				t.Fatal(err)
			}
			_, _, err := LoadOrCreate(path)
			if err == nil {
				t.Fatal("LoadOrCreate accepted the file")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q should name %s and say %q", err, path, tt.want)
			}
			if strings.Contains(err.Error(), b64) {
				t.Errorf("error leaks the key: %q", err)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tt.content {
				t.Error("LoadOrCreate modified a file it refused")
			}
		})
	}
}

func TestLoadRefusesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v, want not a regular file", err)
	}
}

func TestParse(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b64 := base64.StdEncoding.EncodeToString(key)
	want := testKeyring(t, 7).KeyID()
	for _, text := range []string{
		header + "\n" + b64 + "\n",
		header + "\r\n" + b64 + "\r\n",
		header + "\n" + b64,
		b64,
		"  " + b64 + " \n",
	} {
		kr, err := Parse(text)
		if err != nil {
			t.Errorf("Parse(%q): %v", text, err)
			continue
		}
		if kr.KeyID() != want {
			t.Errorf("Parse(%q) key id %s, want %s", text, kr.KeyID(), want)
		}
	}
	for _, text := range []string{"", "\n", b64[:10], b64 + "\n" + b64, "x" + b64} {
		if _, err := Parse(text); err == nil {
			t.Errorf("Parse(%q) accepted malformed text", text)
		} else if strings.Contains(err.Error(), b64[:10]) {
			t.Errorf("Parse error leaks key text: %v", err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	kr := testKeyring(t, 1)
	other := testKeyring(t, 2)
	ad := []byte("user:usr_1:totp")
	secret := []byte("JBSWY3DPEHPK3PXP")
	sealed, err := kr.Seal(secret, ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := kr.Seal(secret, ad)
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one value are equal: nonce not random")
	}
	if pt, err := kr.Open(sealed, ad); err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if empty, err := kr.Seal(nil, nil); err != nil {
		t.Fatal(err)
	} else if pt, err := kr.Open(empty, nil); err != nil || len(pt) != 0 {
		t.Fatalf("Open(empty) = %q, %v", pt, err)
	}

	flipped := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		kr     *Keyring
		sealed []byte
		ad     []byte
		want   error
	}{
		{"wrong associated data", kr, sealed, []byte("user:usr_2:totp"), ErrDecrypt},
		{"missing associated data", kr, sealed, nil, ErrDecrypt},
		{"other master key", other, sealed, ad, ErrUnknownKey},
		{"flipped nonce byte", kr, flipped(prefixSize), ad, ErrDecrypt},
		{"flipped ciphertext byte", kr, flipped(prefixSize + nonceSize), ad, ErrDecrypt},
		{"flipped tag byte", kr, flipped(len(sealed) - 1), ad, ErrDecrypt},
		{"flipped key id", kr, flipped(1), ad, ErrUnknownKey},
		{"unknown version", kr, flipped(0), ad, ErrMalformed},
		{"truncated", kr, sealed[:len(sealed)-1], ad, ErrDecrypt},
		{"too short", kr, sealed[:sealedExtra-1], ad, ErrMalformed},
		{"empty", kr, nil, ad, ErrMalformed},
		{"wrapped data key is not a sealed value", kr, mustWrap(t, kr), nil, ErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.kr.Open(tt.sealed, tt.ad)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %q, %v; want %v", pt, err, tt.want)
			}
			if pt != nil {
				t.Fatal("Open returned plaintext along with an error")
			}
		})
	}
}

func mustWrap(t *testing.T, kr *Keyring) []byte {
	_, wrapped, err := kr.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	return wrapped
}

func TestDataKeys(t *testing.T) {
	kr := testKeyring(t, 1)
	key, wrapped, err := kr.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize || len(wrapped) != WrappedKeySize {
		t.Fatalf("key %d bytes, wrapped %d bytes; want %d and %d", len(key), len(wrapped), KeySize, WrappedKeySize)
	}
	if bytes.Contains(wrapped, key) {
		t.Fatal("wrapped key contains the key")
	}
	got, err := kr.UnwrapDataKey(wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("UnwrapDataKey = %x, %v; want %x", got, err, key)
	}
	key2, _, _ := kr.NewDataKey()
	if bytes.Equal(key, key2) {
		t.Fatal("two data keys are equal")
	}
	if _, err := testKeyring(t, 2).UnwrapDataKey(wrapped); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unwrap with other master key: %v, want ErrUnknownKey", err)
	}
	// A secret sealed for the database cannot pass as a data key, even with
	// the wrapping's own associated data.
	sealed, _ := kr.Seal(key, dataKeyAD)
	if _, err := kr.UnwrapDataKey(sealed); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("unwrap of a Seal output: %v, want ErrDecrypt", err)
	}
}

func TestKeyringNeverPrintsKeys(t *testing.T) {
	kr := testKeyring(t, 1)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, kr)
		if out != "keyring("+kr.KeyID()+")" {
			t.Errorf("Sprintf(%q) = %q", format, out)
		}
	}
}

func TestFromBytesRejectsWrongLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := FromBytes(make([]byte, n)); err == nil {
			t.Errorf("FromBytes accepted a %d-byte key", n)
		}
	}
}
