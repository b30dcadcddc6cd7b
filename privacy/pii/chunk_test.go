package pii

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

// The read chunk size is a tuning knob and must never change what a scan
// reports: the same inputs scanned with small and odd chunk sizes give the
// same findings (type, path, line, column, confidence, redacted form) as
// with the default.

var chunkSizes = []int{64, 257, 4096, 128 << 10}

// chunkInputs are files whose findings sit everywhere relative to chunk
// boundaries: plain text, CSV with header hints, JSON lines with key hints,
// long lines, and (for every chunk size tried) values and keywords placed
// just before, across and just after each boundary.
func chunkInputs(t *testing.T) map[string][]byte {
	r := rand.New(rand.NewPCG(11, 6))
	in := map[string][]byte{}

	var plain strings.Builder
	for plain.Len() < 600<<10 {
		if r.IntN(3) == 0 {
			plain.WriteString(positive(r, AllTypes[r.IntN(len(AllTypes))]).text)
		} else {
			plain.WriteString(lookAlike(r).text)
		}
		plain.WriteString(pick(r, "\n", " ", ", ", "\r\n", "; é "))
	}
	in["plain.txt"] = []byte(plain.String())

	// CSV whose values only count with their column's name.
	var csv strings.Builder
	csv.WriteString("id,ssn,sin,date_of_birth,passport,phone,notes\n")
	for i := 0; csv.Len() < 600<<10; i++ {
		ssn := fmt.Sprintf("%03d%02d%04d", 1+r.IntN(665), 1+r.IntN(99), 1+r.IntN(9999))
		sin := luhnComplete(r, fmt.Sprint(pick(r, 1, 2, 3, 4, 5, 6, 7, 9)), 9)
		y, m, d := dob(r)
		npa, nxx, line := nanp(r)
		fmt.Fprintf(&csv, "%d,%s,%s,%d-%02d-%02d,%s,%s%s%s,\"%s\"\n", i, ssn, sin, y, m, d,
			"5"+digitsN(r, 8), npa, nxx, line, strings.Repeat("note ", r.IntN(40)))
	}
	in["records.csv"] = []byte(csv.String())

	// JSON lines whose values only count with their key's name, including
	// lines far longer than the small chunks.
	var jsonl strings.Builder
	for jsonl.Len() < 600<<10 {
		sin := luhnComplete(r, fmt.Sprint(pick(r, 1, 2, 3, 4, 5, 6, 7, 9)), 9)
		y, m, d := dob(r)
		pad := strings.Repeat("x", pick(r, 0, 10, 300, 5000))
		fmt.Fprintf(&jsonl, `{"id":%d,"pad":"%s","sin":"%s","birth_date":"%d-%02d-%02d","ssn":%s,"tags":["a","b"],"passport":"%s"}`+"\n",
			r.IntN(1e6), pad, group(sin, []int{3, 3, 3}, pick(r, " ", "-", "")), y, m, d,
			fmt.Sprintf("%03d%02d%04d", 1+r.IntN(665), 1+r.IntN(99), 1+r.IntN(9999)), "C"+digitsN(r, 8))
		// A value repeated under keys that do not name it, after a note
		// whose phrase ("social insurance") names it.
		p := positive(r, pick(r, CASIN, USSSN, DateOfBirth, Phone))
		fmt.Fprintf(&jsonl, `{"id":%d,"ssn":"%s","note":"%s","passport":"%s","dob":"%s"}`+"\n", r.IntN(1e6), p.value, p.text, p.value, p.value)
	}
	in["users.jsonl"] = []byte(jsonl.String())

	// One line of 1 MB with values along it.
	var long strings.Builder
	for long.Len() < 1<<20 {
		long.WriteString(pick(r, "lorem ipsum dolor sit amet ", "SSN 536-22-1234 ", "sin 046 454 286 ", "ip 203.0.113.9 ", "jane@corp.io "))
	}
	in["long.txt"] = []byte(long.String())

	// Values and keywords across boundaries. The first chunk ends keepBehind+c
	// bytes in and every later one c bytes further (bytes.Reader and files
	// fill the buffer), so items are padded to start at each offset around
	// those ends.
	items := []string{
		"SSN 536-22-1234",
		"sin 046 454 286",
		"DOB: 1985-03-02",
		"passport no. C03005988",
		"DL# D1234567",
		"card 4111-1111-1111-1111",
		"IBAN GB82 WEST 1234 5698 7654 32",
		"jane.roe@corp.example.org",
		"NI number AB 12 34 56 C",
		"call (415) 555-2671",
		"2001:db8:85a3::8a2e:370:7334",
	}
	for _, c := range chunkSizes {
		var b strings.Builder
		boundary := keepBehind + c
		for _, item := range items {
			for d := -len(item) - windowBefore; d <= 8; d++ {
				for b.Len() >= boundary {
					boundary += c
				}
				start := boundary + d
				if start < b.Len() {
					continue
				}
				b.WriteString(strings.Repeat(pick(r, " ", "."), start-b.Len()))
				b.WriteString(item)
				b.WriteString(pick(r, " ", "\n"))
				if b.Len() > 4<<20 {
					break
				}
			}
		}
		in[fmt.Sprintf("edges-%d.txt", c)] = []byte(b.String())

		// The same for JSON keys: the key's name or its value at the boundary.
		var j strings.Builder
		boundary = keepBehind + c
		for d := -40; d <= 8; d++ {
			for j.Len() >= boundary {
				boundary += c
			}
			start := boundary + d
			if start < j.Len()+12 {
				continue
			}
			fmt.Fprintf(&j, `{"pad":"%s","sin":"046 454 286"}`+"\n", strings.Repeat("y", start-j.Len()-12))
		}
		in[fmt.Sprintf("edges-%d.jsonl", c)] = []byte(j.String())
	}
	return in
}

func TestChunkSizeDoesNotChangeFindings(t *testing.T) {
	dir := t.TempDir()
	in := chunkInputs(t)
	for name, data := range in {
		write(t, filepath.Join(dir, name), data)
	}
	want, _, _ := scanTargets(t, Config{Workers: 1}, dir)
	if len(want) < 1000 {
		t.Fatalf("only %d findings with the default chunk", len(want))
	}
	counts := map[string]int{}
	for _, f := range want {
		counts[filepath.Base(f.Path)]++
	}
	for name := range in {
		if counts[name] == 0 {
			t.Errorf("%s: nothing found with the default chunk", name)
		}
	}
	for _, c := range chunkSizes {
		got, _, _ := scanTargets(t, Config{Workers: 1, ChunkSize: c}, dir)
		if diff := findingDiff(want, got); diff != "" {
			t.Errorf("chunk %d: %d findings, want %d:\n%s", c, len(got), len(want), diff)
		}
	}
}

// findingDiff lists (up to 20) findings only in a or only in b.
func findingDiff(a, b []Finding) string {
	key := func(f Finding) string {
		return fmt.Sprintf("%s:%d:%d %s %.2f %s", filepath.Base(f.Path), f.Line, f.Col, f.Type, f.Confidence, f.Redacted)
	}
	count := map[string]int{}
	for _, f := range a {
		count[key(f)]++
	}
	for _, f := range b {
		count[key(f)]--
	}
	var out []string
	for k, n := range count {
		switch {
		case n > 0:
			out = append(out, "missing "+k)
		case n < 0:
			out = append(out, "extra   "+k)
		}
	}
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... %d more", len(out)-20))
	}
	return strings.Join(out, "\n")
}

// TestContextIndependentOfEarlierWindows is the root of the chunk-size
// property: the context of a candidate is the same whether the word cache
// read earlier windows of the buffer or starts with this one (a new chunk
// starts the cache afresh).
func TestContextIndependentOfEarlierWindows(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	words := []string{"social", "insurance", "security", "number", "date", "of", "birth", "ssn", "sin", "order",
		"national", "tax", "id", "taxpayer", "the", "x", "12", "3a", "passport", "d", "o", "b"}
	seps := []string{" ", "  ", ", ", "\n", ".", " - ", "\":\"", "\t", ""}
	for n := 0; n < 3000; n++ {
		var sb strings.Builder
		var cands [][2]int
		for k := 40 + r.IntN(80); k >= 0; k-- {
			if r.IntN(6) == 0 {
				s := sb.Len()
				sb.WriteString("046 454 286")
				cands = append(cands, [2]int{s, sb.Len()})
			} else {
				sb.WriteString(words[r.IntN(len(words))])
			}
			sb.WriteString(seps[r.IntN(len(seps))])
		}
		buf := []byte(sb.String())
		var shared wordCache
		shared.reset()
		for _, c := range cands {
			got := shared.around(buf, c[0], c[1])
			var fresh wordCache
			fresh.reset()
			if want := fresh.around(buf, c[0], c[1]); got != want {
				t.Fatalf("%q at %d: after earlier windows %+v, alone %+v", buf, c[0], got, want)
			}
		}
	}
}
