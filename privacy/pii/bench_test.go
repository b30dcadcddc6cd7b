package pii

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchText is mixed log lines, prose and records with personal data in
// about one line in 40, like bench/pii generates.
func benchText(size int) []byte {
	r := rand.New(rand.NewPCG(7, 9))
	var b bytes.Buffer
	words := strings.Fields("the of and to in is that for it as was with be by on system request user service account report policy access")
	hex := func(n int) string {
		const h = "0123456789abcdef"
		s := make([]byte, n)
		for i := range s {
			s[i] = h[r.IntN(16)]
		}
		return string(s)
	}
	for b.Len() < size {
		ts := fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02d.%03dZ", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000))
		switch r.IntN(4) {
		case 0:
			fmt.Fprintf(&b, "%s 10.%d.%d.%d GET /api/v1/users %d %d req=%s-%s-%s\n", ts, r.IntN(256), r.IntN(256), r.IntN(256), 200, r.IntN(100000), hex(8), hex(4), hex(12))
		case 1:
			fmt.Fprintf(&b, "%s level=info msg=\"%s %s %s\" commit=%s version=1.%d.%d duration=%dms\n", ts, words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))], hex(40), r.IntN(20), r.IntN(50), r.IntN(5000))
		case 2:
			for k := range 18 {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(words[r.IntN(len(words))])
			}
			b.WriteString(".\n")
		default:
			fmt.Fprintf(&b, "%d,%s,order %d,%d.%02d,%s\n", r.IntN(1e6), words[r.IntN(len(words))], r.IntN(1e8), r.IntN(1000), r.IntN(100), ts[:10])
		}
		if r.IntN(40) == 0 {
			fmt.Fprintf(&b, "contact jane%d@corp.io ssn 536-22-%04d card 4111 1111 1111 1111\n", r.IntN(100), 1000+r.IntN(8999))
		}
	}
	return b.Bytes()
}

func BenchmarkScanStream(b *testing.B) {
	text := benchText(8 << 20)
	d := &detector{types: allTypeSet, minConf: 0.5, maxYear: 2025}
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		n := 0
		d.scanStream(context.Background(), bytes.NewReader(text), nil, 0, func(located) { n++ })
	}
}

func BenchmarkScanProse(b *testing.B) {
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog while the system reports its status\n"), 100000)
	d := &detector{types: allTypeSet, minConf: 0.5, maxYear: 2025}
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for range b.N {
		d.scanStream(context.Background(), bytes.NewReader(text), nil, 0, func(located) {})
	}
}

func BenchmarkDetectors(b *testing.B) {
	d := &detector{types: allTypeSet, minConf: 0.5, maxYear: 2025}
	for _, s := range []string{"SSN 536-22-1234", "card 4111 1111 1111 1111", "jane.roe@corp.example.org",
		"IBAN GB82 WEST 1234 5698 7654 32", "at 2024-01-15T10:23:45.123Z", "id 123e4567-e89b-12d3-a456-426614174000"} {
		buf := []byte(s)
		b.Run(s, func(b *testing.B) {
			for range b.N {
				d.scan(buf, 0, len(buf), 0, nil, func(match) {})
			}
		})
	}
}
