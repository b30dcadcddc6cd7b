package pii

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// input is one stream to scan: a file, stdin, or an entry inside an archive.
type input struct {
	name   string      // reported path
	format string      // name whose extension says the format (".csv" ...)
	r      io.Reader   //
	ra     io.ReaderAt // when the whole input can be read at random (a file)
	size   int64       // when known, else -1
	depth  int         // archive nesting
}

// budget limits how much one top-level file may expand to.
type budget struct{ left int64 }

var (
	errExpanded = errors.New("expansion limit reached (possible zip bomb); stopped")
	errRatio    = errors.New("expansion ratio limit reached (possible zip bomb); stopped")
)

func (s *Scanner) scanFile(ctx context.Context, p string) {
	f, err := os.Open(p)
	if err != nil {
		s.skip(p, describeFSError(err))
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		s.skip(p, describeFSError(err))
		return
	}
	b := &budget{s.cfg.MaxExpanded}
	s.scanInput(ctx, input{name: p, format: p, r: f, ra: f, size: info.Size()}, b)
}

func (s *Scanner) scanStdin(ctx context.Context) {
	if s.cfg.Stdin == nil {
		s.skip("-", "no standard input")
		return
	}
	b := &budget{s.cfg.MaxExpanded}
	s.scanInput(ctx, input{name: "-", format: "-", r: s.cfg.Stdin, size: -1}, b)
}

// sniffLen is how much of a stream decides its kind.
const sniffLen = 8192

func (s *Scanner) scanInput(ctx context.Context, in input, b *budget) {
	br := bufio.NewReaderSize(in.r, 64<<10)
	head, err := br.Peek(sniffLen)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) && len(head) == 0 {
		s.skip(in.name, "read: "+errString(err))
		return
	}
	ext := strings.ToLower(path.Ext(in.format))
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		s.scanGzip(ctx, in, br, b)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		s.scanZip(ctx, in, br, b)
	case isTar(head):
		s.scanTar(ctx, in, br, b)
	case bytes.HasPrefix(head, []byte("%PDF-")):
		s.scanPDF(ctx, in, br, b)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		s.scanText(ctx, in.name, ext, transform.NewReader(br, dec), head)
	case isBinary(head):
		s.binary.Add(1)
	default:
		s.scanText(ctx, in.name, ext, br, head)
	}
}

// isBinary reports a NUL byte, or mostly control bytes, in the first bytes.
func isBinary(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	ctrl := 0
	for _, c := range head {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != '\b' && c != 0x1b {
			ctrl++
		}
	}
	return ctrl*10 > len(head)
}

func isTar(head []byte) bool {
	return len(head) >= 262 && (bytes.Equal(head[257:262], []byte("ustar")))
}

// scanText scans a text stream with the structure its format gives.
func (s *Scanner) scanText(ctx context.Context, name, ext string, r io.Reader, head []byte) {
	var st structure
	switch ext {
	case ".csv":
		st = newCSVTracker(',')
	case ".tsv", ".tab":
		st = newCSVTracker('\t')
	case ".json", ".jsonl", ".ndjson", ".geojson":
		st = newJSONTracker()
	default:
		if t := bytes.TrimLeft(head, " \t\r\n\ufeff"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			st = newJSONTracker()
		}
	}
	s.files.Add(1)
	cr := &countingReader{r: r, s: s}
	batch := findingBatch{s: s}
	_, err := s.det.scanStream(ctx, cr, st, s.cfg.ChunkSize, func(l located) {
		batch.add(Finding{Type: l.typ, Path: name, Line: l.line, Col: l.col, Confidence: l.conf, Redacted: l.redacted})
	})
	batch.flush()
	if err != nil && ctx.Err() == nil {
		s.skip(name, "stopped: "+errString(err))
	}
}

// countingReader adds bytes read to the scan's total as they arrive.
type countingReader struct {
	r io.Reader
	s *Scanner
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.s.bytes.Add(int64(n))
	if c.s.cfg.OnProgressBytes != nil {
		c.s.cfg.OnProgressBytes(int64(n))
	}
	return n, err
}

// limitReader stops an expanding stream at the budget and at the ratio of
// bytes out to bytes in.
type limitReader struct {
	r     io.Reader
	in    *byteCounter // compressed bytes consumed; nil when unknown
	out   int64
	b     *budget
	ratio int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.out += int64(n)
	l.b.left -= int64(n)
	if l.b.left < 0 {
		return n, errExpanded
	}
	if l.in != nil && l.out > 1<<20 && l.out > (l.in.n+1)*l.ratio {
		return n, errRatio
	}
	return n, err
}

// byteCounter counts the bytes read through it (and keeps ReadByte, which
// gzip wants).
type byteCounter struct {
	r *bufio.Reader
	n int64
}

func (c *byteCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *byteCounter) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (s *Scanner) scanGzip(ctx context.Context, in input, br *bufio.Reader, b *budget) {
	if in.depth >= s.cfg.MaxDepth {
		s.skip(in.name, fmt.Sprintf("archive nested deeper than %d levels; not scanned", s.cfg.MaxDepth))
		return
	}
	bc := &byteCounter{r: br}
	zr, err := gzip.NewReader(bc)
	if err != nil {
		s.skip(in.name, "gzip: "+errString(err))
		return
	}
	defer zr.Close()
	format := in.format
	low := strings.ToLower(format)
	switch {
	case strings.HasSuffix(low, ".tgz"):
		format = format[:len(format)-4] + ".tar"
	case strings.HasSuffix(low, ".gz"):
		format = format[:len(format)-3]
	}
	lr := &limitReader{r: zr, in: bc, b: b, ratio: s.cfg.MaxRatio}
	s.scanInput(ctx, input{name: in.name, format: format, r: lr, size: -1, depth: in.depth + 1}, b)
}

func (s *Scanner) scanTar(ctx context.Context, in input, br *bufio.Reader, b *budget) {
	if in.depth >= s.cfg.MaxDepth {
		s.skip(in.name, fmt.Sprintf("archive nested deeper than %d levels; not scanned", s.cfg.MaxDepth))
		return
	}
	tr := tar.NewReader(br)
	for ctx.Err() == nil {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			s.skip(in.name, "tar: "+errString(err))
			return
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := in.name + "/" + strings.TrimPrefix(h.Name, "./")
		s.scanInput(ctx, input{name: name, format: h.Name, r: tr, size: h.Size, depth: in.depth + 1}, b)
	}
}

// scanZip scans a zip archive's entries, or an office document's text.
func (s *Scanner) scanZip(ctx context.Context, in input, br *bufio.Reader, b *budget) {
	if in.depth >= s.cfg.MaxDepth {
		s.skip(in.name, fmt.Sprintf("archive nested deeper than %d levels; not scanned", s.cfg.MaxDepth))
		return
	}
	ra, size := in.ra, in.size
	if ra == nil || size < 0 {
		// A zip needs random access: an entry of another archive or stdin is
		// read into memory (never to a temporary file), up to a cap.
		data, err := io.ReadAll(io.LimitReader(br, s.cfg.MaxInMemory+1))
		if err != nil {
			s.skip(in.name, "read: "+errString(err))
			return
		}
		if int64(len(data)) > s.cfg.MaxInMemory {
			s.skip(in.name, fmt.Sprintf("zip inside another archive or on stdin is larger than %d bytes; not scanned", s.cfg.MaxInMemory))
			return
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		s.skip(in.name, "zip: "+errString(err))
		return
	}
	if kind := officeKind(zr, in.format); kind != "" {
		s.scanOffice(ctx, in, zr, kind, b)
		return
	}
	for _, f := range zr.File {
		if ctx.Err() != nil {
			return
		}
		if f.FileInfo().IsDir() {
			continue
		}
		name := in.name + "/" + f.Name
		if reason := s.entryTooBig(f, b); reason != "" {
			s.skip(name, reason)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			s.skip(name, "zip: "+errString(err))
			continue
		}
		lr := &limitReader{r: rc, b: b}
		s.scanInput(ctx, input{name: name, format: f.Name, r: lr, size: -1, depth: in.depth + 1}, b)
		rc.Close()
	}
}

// entryTooBig checks an entry's declared sizes against the caps; archive/zip
// refuses to expand an entry past its declared size, so the check holds.
func (s *Scanner) entryTooBig(f *zip.File, b *budget) string {
	if int64(f.UncompressedSize64) > b.left || f.UncompressedSize64 > 1<<62 {
		return "expansion limit reached (possible zip bomb); not scanned"
	}
	if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64/max(f.CompressedSize64, 1) > uint64(s.cfg.MaxRatio) {
		return fmt.Sprintf("compression ratio above %d (possible zip bomb); not scanned", s.cfg.MaxRatio)
	}
	return ""
}
