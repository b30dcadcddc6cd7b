package blob

// Encrypted blob format, version 1. Every backend stores exactly these bytes.
//
//	header
//	  magic        6 bytes   "ATBLOB"
//	  version      1 byte    0x01
//	  chunk size   4 bytes   big-endian plaintext bytes per chunk (65536 when written here)
//	  nonce prefix 7 bytes   random
//	  wrapped len  2 bytes   big-endian length of the wrapped data key
//	  wrapped key  n bytes   keyring.NewDataKey output (65 bytes today)
//	chunks, back to back
//	  AES-256-GCM(data key, nonce, plaintext, ad): len(plaintext) + 16 bytes
//	  nonce = nonce prefix (7) | chunk counter, big-endian uint32 (4) | last flag (1: 0x00, or 0x01 on the last chunk)
//	  ad    = the header bytes | the blob key
//
// Every chunk but the last carries exactly chunk-size plaintext bytes; the
// last carries 0 to chunk-size bytes, so an empty blob is one empty last
// chunk. This is the STREAM construction (Hoang, Reyhanitabar, Rogaway,
// Vizár 2015): the counter in the nonce catches reordered, dropped or
// duplicated chunks; the last flag catches truncation at a chunk boundary and
// appended chunks; the per-blob data key catches chunks swapped in from
// another blob; the header in the associated data catches an edited chunk
// size or nonce prefix; and the blob key in the associated data catches a
// whole file moved to another key.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/attest-hq/attest/keyring"
)

const (
	magic          = "ATBLOB"
	formatVersion  = 0x01
	chunkSize      = 64 << 10
	tagSize        = 16
	noncePrefixLen = 7
	fixedHeaderLen = len(magic) + 1 + 4 + noncePrefixLen + 2

	// Bounds on what a header may claim, so a damaged header cannot make
	// the reader allocate without limit.
	minChunkSize  = 1 << 10
	maxChunkSize  = 4 << 20
	maxWrappedLen = 1 << 10
)

// encrypt reads at most max+1 bytes of src and writes the encrypted blob
// named name to dst, returning the plaintext size and SHA-256.
func encrypt(ctx context.Context, dst io.Writer, src io.Reader, max int64, name string, kr *keyring.Keyring) (int64, []byte, error) {
	dataKey, wrapped, err := kr.NewDataKey()
	if err != nil {
		return 0, nil, err
	}
	aead, err := newAEAD(dataKey)
	clear(dataKey)
	if err != nil {
		return 0, nil, err
	}

	header := make([]byte, fixedHeaderLen, fixedHeaderLen+len(wrapped))
	copy(header, magic)
	header[len(magic)] = formatVersion
	binary.BigEndian.PutUint32(header[len(magic)+1:], chunkSize)
	prefix := header[len(magic)+5 : len(magic)+5+noncePrefixLen]
	if _, err := rand.Read(prefix); err != nil {
		return 0, nil, fmt.Errorf("nonce prefix: %w", err)
	}
	binary.BigEndian.PutUint16(header[fixedHeaderLen-2:], uint16(len(wrapped)))
	header = append(header, wrapped...)
	if _, err := dst.Write(header); err != nil {
		return 0, nil, fmt.Errorf("write header: %w", err)
	}

	limit := max + 1
	if max == math.MaxInt64 {
		limit = max
	}
	src = io.LimitReader(src, limit)
	s := stream{aead: aead, ad: append(header, name...)}
	copy(s.prefix[:], prefix)
	sum := sha256.New()
	var size int64

	// in holds one chunk plus one byte of look-ahead: a chunk is the last
	// one exactly when the byte after it does not exist.
	in := make([]byte, chunkSize+1)
	out := make([]byte, 0, chunkSize+tagSize)
	have := 0
	for {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		n, err := io.ReadFull(src, in[have:])
		n += have
		last := false
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			last = true
		default:
			return 0, nil, fmt.Errorf("read upload: %w", err)
		}
		plain := in[:min(n, chunkSize)]
		size += int64(len(plain))
		if size > max {
			return 0, nil, tooLarge(max)
		}
		sum.Write(plain)
		out, err = s.seal(out[:0], plain, last)
		if err != nil {
			return 0, nil, err
		}
		if _, err := dst.Write(out); err != nil {
			return 0, nil, fmt.Errorf("write chunk: %w", err)
		}
		if last {
			return size, sum.Sum(nil), nil
		}
		in[0] = in[chunkSize]
		have = 1
	}
}

// stream seals and opens the chunks of one blob in order.
type stream struct {
	aead    cipher.AEAD
	prefix  [noncePrefixLen]byte
	ad      []byte
	counter uint32
	done    bool // the last chunk was processed
}

func (s *stream) nonce(last bool) ([12]byte, error) {
	var n [12]byte
	if s.done {
		return n, errors.New("chunk after the last chunk")
	}
	copy(n[:], s.prefix[:])
	binary.BigEndian.PutUint32(n[noncePrefixLen:], s.counter)
	if last {
		n[11] = 1
	}
	if s.counter == math.MaxUint32 && !last {
		return n, errors.New("blob has too many chunks")
	}
	return n, nil
}

func (s *stream) advance(last bool) {
	s.counter++
	s.done = last
}

func (s *stream) seal(dst, plain []byte, last bool) ([]byte, error) {
	n, err := s.nonce(last)
	if err != nil {
		return nil, err
	}
	s.advance(last)
	return s.aead.Seal(dst, n[:], plain, s.ad), nil
}

func (s *stream) open(dst, sealed []byte, last bool) ([]byte, error) {
	n, err := s.nonce(last)
	if err != nil {
		return nil, err
	}
	out, err := s.aead.Open(dst, n[:], sealed, s.ad)
	if err != nil {
		return nil, fmt.Errorf("chunk %d: %w", s.counter, ErrCorrupt)
	}
	s.advance(last)
	return out, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return cipher.NewGCM(block)
}

// decrypter is the reader Open returns.
type decrypter struct {
	ctx    context.Context
	src    io.Reader
	s      stream
	chunk  int
	in     []byte // one sealed chunk plus one byte of look-ahead
	have   int    // bytes of in already read (the look-ahead byte)
	out    []byte // plaintext of the current chunk
	pos    int    // bytes of out already returned
	err    error  // sticky
	closer io.Closer
}

// newDecrypter reads and checks the header of the blob named name.
func newDecrypter(ctx context.Context, src io.Reader, name string, kr *keyring.Keyring) (*decrypter, error) {
	fixed := make([]byte, fixedHeaderLen)
	if _, err := io.ReadFull(src, fixed); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("short header: %w", ErrCorrupt)
		}
		return nil, fmt.Errorf("read header: %w", err)
	}
	if !bytes.Equal(fixed[:len(magic)], []byte(magic)) {
		return nil, fmt.Errorf("not a blob (bad magic): %w", ErrCorrupt)
	}
	if v := fixed[len(magic)]; v != formatVersion {
		return nil, fmt.Errorf("unknown format version %d: %w", v, ErrCorrupt)
	}
	chunk := int(binary.BigEndian.Uint32(fixed[len(magic)+1:]))
	if chunk < minChunkSize || chunk > maxChunkSize {
		return nil, fmt.Errorf("chunk size %d out of range: %w", chunk, ErrCorrupt)
	}
	wlen := int(binary.BigEndian.Uint16(fixed[fixedHeaderLen-2:]))
	if wlen > maxWrappedLen {
		return nil, fmt.Errorf("wrapped key length %d out of range: %w", wlen, ErrCorrupt)
	}
	header := make([]byte, fixedHeaderLen+wlen, fixedHeaderLen+wlen+len(name))
	copy(header, fixed)
	if _, err := io.ReadFull(src, header[fixedHeaderLen:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("short header: %w", ErrCorrupt)
		}
		return nil, fmt.Errorf("read header: %w", err)
	}
	dataKey, err := kr.UnwrapDataKey(header[fixedHeaderLen:])
	if err != nil {
		if errors.Is(err, keyring.ErrUnknownKey) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	aead, err := newAEAD(dataKey)
	clear(dataKey)
	if err != nil {
		return nil, err
	}
	d := &decrypter{
		ctx:   ctx,
		src:   src,
		s:     stream{aead: aead, ad: append(header, name...)},
		chunk: chunk,
		in:    make([]byte, chunk+tagSize+1),
		out:   make([]byte, 0, chunk),
	}
	copy(d.s.prefix[:], fixed[len(magic)+5:])
	return d, nil
}

func (d *decrypter) Read(p []byte) (int, error) {
	for d.pos == len(d.out) {
		if d.err != nil {
			return 0, d.err
		}
		if d.s.done {
			return 0, io.EOF
		}
		d.err = d.next()
	}
	n := copy(p, d.out[d.pos:])
	d.pos += n
	return n, nil
}

// next reads, authenticates and decrypts the following chunk into d.out.
func (d *decrypter) next() error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	n, err := io.ReadFull(d.src, d.in[d.have:])
	n += d.have
	last := false
	switch {
	case err == nil:
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		last = true
	default:
		return fmt.Errorf("read blob: %w", err)
	}
	sealed := d.in[:min(n, d.chunk+tagSize)]
	if len(sealed) < tagSize {
		return fmt.Errorf("truncated after chunk %d: %w", d.s.counter, ErrCorrupt)
	}
	d.out, err = d.s.open(d.out[:0], sealed, last)
	d.pos = 0
	if err != nil {
		d.out = d.out[:0]
		return err
	}
	if !last {
		d.in[0] = d.in[d.chunk+tagSize]
		d.have = 1
	}
	return nil
}

func (d *decrypter) Close() error {
	d.err = errors.New("blob: read after close")
	d.out, d.pos = nil, 0
	if d.closer != nil {
		return d.closer.Close()
	}
	return nil
}
