// Command pii benchmarks `attest scan pii` against ripgrep: it writes about
// 500 MB of log lines, prose and CSV records with some personal data to a
// temporary directory, scans it with the validating scanner and with rg
// running equivalent plain regular expressions, and prints MB/s for both and
// their ratio. Both tools read the same files from the page cache and use
// all cores; each runs three times, alternating, and the best run counts.
//
//	go run ./pii [-mb 500] [-files 16] [-keep] [-cli=false] [-pgo-off=false] [-runs 3]
//	go run ./pii -dir /tmp/attest-pii-bench-NNN [-scanner-only -cpuprofile /tmp/pii.prof]
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/attest-hq/attest/privacy/pii"
)

// rgPatterns are the plain regular expressions ripgrep runs: the shapes the
// scanner looks for, without validation or context.
var rgPatterns = []string{
	`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`,                          // email
	`\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b`,                                          // us_ssn, us_itin
	`\b[0-9]{3}[ -][0-9]{3}[ -][0-9]{3}\b`,                                    // ca_sin
	`\b(?:[0-9]{4}[ -]?){3}[0-9]{1,4}\b`,                                      // credit_card
	`\(?\b[2-9][0-9]{2}\)?[-. ][2-9][0-9]{2}[-. ][0-9]{4}\b`,                  // phone (NANP)
	`\+[1-9][0-9 .-]{7,17}[0-9]`,                                              // phone (E.164)
	`\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b`,                      // ip_address v4
	`\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b`,                          // ip_address v6
	`\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b`,          // iban
	`\b[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b`,                       // uk_nino
	`\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b|\b[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}\b`,       // date_of_birth
	`(?i:passport|licen[cs]e|dl#|ssn|dob)[^0-9\n]{0,20}[A-Z]{0,2}[0-9]{6,13}`, // passport, DL, keyed numbers
}

func main() {
	mb := flag.Int("mb", 500, "megabytes of text to generate")
	files := flag.Int("files", 16, "number of files")
	keep := flag.Bool("keep", false, "keep the generated directory")
	reuse := flag.String("dir", "", "scan this directory (made by an earlier -keep run) instead of generating data")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the scanner's runs to this file")
	scanOnly := flag.Bool("scanner-only", false, "run only the scanner (for profiling)")
	cli := flag.Bool("cli", true, "also build cmd/attest and time `attest scan pii --format jsonl DIR` against rg printing its matches, both as processes")
	pgoOff := flag.Bool("pgo-off", true, "with -cli, also build cmd/attest with -pgo=off and time it alternately with the default (profile-guided) build")
	runs := flag.Int("runs", 3, "runs of each tool, alternating")
	extra := flag.String("attest", "", "with -cli, also time these prebuilt attest binaries (experiments; comma-separated) alternately with the others")
	flag.Parse()
	if _, err := exec.LookPath("rg"); err != nil {
		fmt.Fprintln(os.Stderr, "bench/pii: ripgrep (rg) is not installed: apt-get install ripgrep")
		os.Exit(1)
	}
	var dir string
	var size int64
	if *reuse != "" {
		dir = *reuse
		size = dirSize(dir)
		fmt.Printf("data: %s, %.0f MB, %d cores\n", dir, float64(size)/1e6, runtime.GOMAXPROCS(0))
	} else {
		var err error
		dir, err = os.MkdirTemp("", "attest-pii-bench-")
		if err != nil {
			fatal(err)
		}
		if !*keep {
			defer os.RemoveAll(dir)
		}
		t0 := time.Now()
		var planted int
		size, planted, err = generate(dir, int64(*mb)<<20, *files)
		if err != nil {
			fatal(err)
		}
		fmt.Printf("data: %d files, %.0f MB (%d personal values planted) in %s, %s, %d cores\n",
			*files, float64(size)/1e6, planted, time.Since(t0).Round(time.Millisecond), dir, runtime.GOMAXPROCS(0))
	}
	warm(dir)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *scanOnly {
		var best, bestCPU time.Duration
		var found int64
		for range 3 {
			d, cpu, n, err := runScanner(dir)
			if err != nil {
				fatal(err)
			}
			best, bestCPU, found = minDur(best, d), minDur(bestCPU, cpu), n
		}
		mbs := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
		fmt.Printf("attest scan pii: %7.1f MB/s wall (%s), %7.1f MB per CPU-second; %d validated findings\n",
			mbs(best), best.Round(time.Millisecond), mbs(bestCPU), found)
		return
	}

	// Runs alternate so a busy machine weighs on both alike; the best wall
	// time of each counts, and CPU time (user+system, all threads) is shown
	// too, which a shared machine disturbs less.
	var scanBest, scanCPU, rgBest, rgCPU time.Duration
	var found, lines int64
	for range *runs {
		d, cpu, n, err := runScanner(dir)
		if err != nil {
			fatal(err)
		}
		if scanBest == 0 || d < scanBest {
			scanBest = d
		}
		if scanCPU == 0 || cpu < scanCPU {
			scanCPU = cpu
		}
		found = n
		d, cpu, n, err = runRipgrep(dir)
		if err != nil {
			fatal(err)
		}
		if rgBest == 0 || d < rgBest {
			rgBest = d
		}
		if rgCPU == 0 || cpu < rgCPU {
			rgCPU = cpu
		}
		lines = n
	}
	mbs := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	fmt.Printf("attest scan pii: %7.1f MB/s wall (%s), %7.1f MB per CPU-second; %d validated findings\n",
		mbs(scanBest), scanBest.Round(time.Millisecond), mbs(scanCPU), found)
	fmt.Printf("ripgrep:         %7.1f MB/s wall (%s), %7.1f MB per CPU-second; %d matching lines, %d plain regexes, no validation\n",
		mbs(rgBest), rgBest.Round(time.Millisecond), mbs(rgCPU), lines, len(rgPatterns))
	fmt.Printf("ratio scanner/ripgrep: %.2fx wall, %.2fx CPU (target >= 0.5x)\n", mbs(scanBest)/mbs(rgBest), mbs(scanCPU)/mbs(rgCPU))
	if *cli {
		benchCLI(dir, size, *pgoOff, *extra, *runs)
	}
}

// benchCLI measures what users run: the attest binary built from this
// repository (go build picks up cmd/attest/default.pgo, as a release build
// does) scanning with `attest scan pii --format jsonl DIR`, against rg
// printing every match with its file, line and column; both are processes
// whose stdout is read and thrown away (a pipe, not /dev/null: rg stops at
// the first match when its output is /dev/null). Wall time and the child's
// CPU time (user+system) are measured per run; the best of each counts.
func benchCLI(dir string, size int64, pgoOff bool, extra string, runs int) {
	tmp, err := os.MkdirTemp("", "attest-pii-cli-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	root, err := repoRoot()
	if err != nil {
		fatal(err)
	}
	type tool struct {
		name      string
		args      []string
		wall, cpu time.Duration
		cpus      []time.Duration
		lines     int64
	}
	build := func(out string, flags ...string) string {
		bin := filepath.Join(tmp, out)
		cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, "./cmd/attest")...)
		cmd.Dir, cmd.Stderr = root, os.Stderr
		if err := cmd.Run(); err != nil {
			fatal(fmt.Errorf("go build ./cmd/attest: %w", err))
		}
		return bin
	}
	tools := []*tool{{name: "attest (default.pgo)", args: []string{build("attest"), "scan", "pii", "--format", "jsonl", dir}}}
	if pgoOff {
		tools = append(tools, &tool{name: "attest (-pgo=off)", args: []string{build("attest-nopgo", "-pgo=off"), "scan", "pii", "--format", "jsonl", dir}})
	}
	for _, bin := range strings.Split(extra, ",") {
		if bin != "" {
			tools = append(tools, &tool{name: "attest (" + filepath.Base(bin) + ")", args: []string{bin, "scan", "pii", "--format", "jsonl", dir}})
		}
	}
	rg := []string{"rg", "--no-config", "--no-unicode", "--only-matching", "--with-filename", "--line-number", "--column", "-j", fmt.Sprint(runtime.GOMAXPROCS(0))}
	for _, p := range rgPatterns {
		rg = append(rg, "-e", p)
	}
	tools = append(tools, &tool{name: "rg -o (prints matches)", args: append(rg, dir)})
	for range runs {
		for _, t := range tools {
			wall, cpu, n, err := runProcess(t.args)
			if err != nil {
				fatal(fmt.Errorf("%s: %w", t.name, err))
			}
			t.wall, t.cpu, t.lines = minDur(t.wall, wall), minDur(t.cpu, cpu), n
			t.cpus = append(t.cpus, cpu)
			fmt.Printf("  run %-24s %6.0f ms wall %6.0f ms CPU\n", t.name, float64(wall.Milliseconds()), float64(cpu.Milliseconds()))
		}
	}
	mbs := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	median := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	fmt.Println("processes (best of each; median CPU too, as a shared machine disturbs single runs):")
	r := tools[len(tools)-1]
	for _, t := range tools {
		fmt.Printf("%-24s %7.1f MB/s wall, %7.1f MB per CPU-second (median %7.1f); %d output lines\n", t.name+":", mbs(t.wall), mbs(t.cpu), mbs(median(t.cpus)), t.lines)
	}
	for _, t := range tools[:len(tools)-1] {
		fmt.Printf("ratio %s / rg: %.2fx wall, %.2fx CPU (median CPU %.2fx) (target >= 0.5x)\n", t.name,
			mbs(t.wall)/mbs(r.wall), mbs(t.cpu)/mbs(r.cpu), mbs(median(t.cpus))/mbs(median(r.cpus)))
	}
}

// runProcess runs args[0] with args[1:], counts and discards its standard
// output, and returns its wall time and CPU time (user+system).
func runProcess(args []string) (time.Duration, time.Duration, int64, error) {
	cmd := exec.Command(args[0], args[1:]...)
	lc := &lineCounter{}
	cmd.Stdout = lc
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), lc.n, nil
}

// lineCounter is io.Discard that counts newlines.
type lineCounter struct{ n int64 }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// repoRoot finds the attest module (the directory above bench/ holding
// cmd/attest).
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "cmd", "attest", "main.go")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("cmd/attest not found above %s: run from the repository's bench directory", wd)
		}
	}
}

func minDur(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench/pii:", err)
	os.Exit(1)
}

// warm reads every file once so both tools start from the page cache.
func warm(dir string) {
	entries, _ := os.ReadDir(dir)
	buf := make([]byte, 1<<20)
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for {
			if _, err := f.Read(buf); err != nil {
				break
			}
		}
		f.Close()
	}
}

func runScanner(dir string) (time.Duration, time.Duration, int64, error) {
	var n int64
	sc, err := pii.New(pii.Config{OnFinding: func(pii.Finding) { n++ }})
	if err != nil {
		return 0, 0, 0, err
	}
	runtime.GC()
	c0, start := selfCPU(), time.Now()
	if _, err := sc.Scan(context.Background(), []string{dir}); err != nil {
		return 0, 0, 0, err
	}
	return time.Since(start), selfCPU() - c0, n, nil
}

func runRipgrep(dir string) (time.Duration, time.Duration, int64, error) {
	args := []string{"--no-config", "--no-unicode", "--count", "--no-filename", "-j", fmt.Sprint(runtime.GOMAXPROCS(0))}
	for _, p := range rgPatterns {
		args = append(args, "-e", p)
	}
	args = append(args, dir)
	start := time.Now()
	cmd := exec.Command("rg", args...)
	out, err := cmd.Output()
	d := time.Since(start)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("rg: %w", err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	var total int64
	for _, f := range strings.Fields(string(out)) {
		var k int64
		fmt.Sscan(f, &k)
		total += k
	}
	return d, cpu, total, nil
}

// generate writes files of mixed text: web and application log lines
// (timestamps, request ids, UUIDs, hashes, versions, client addresses),
// prose, and CSV-like records, with personal data in about one line in 40.
func generate(dir string, total int64, files int) (int64, int, error) {
	r := rand.New(rand.NewPCG(1, 2))
	per := total / int64(files)
	var written int64
	planted := 0
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%02d.log", i)))
		if err != nil {
			return 0, 0, err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		var n int64
		for n < per {
			line, pii := genLine(r)
			planted += pii
			k, _ := w.WriteString(line)
			n += int64(k)
		}
		if err := w.Flush(); err != nil {
			return 0, 0, err
		}
		if err := f.Close(); err != nil {
			return 0, 0, err
		}
		written += n
	}
	return written, planted, nil
}

var words = strings.Fields(`the of and to in is that for it as was with be by on not he this are or his from at
which but have an they you were her she there been one all we their has would when if so no will more can
about said them may out up into some could other then these two time only new its also after first over
system request user service account report policy access control audit review data process update status
window quarterly vendor contract security incident response backup storage network server cluster deploy`)

var paths = []string{"/api/v1/users", "/login", "/static/app.js", "/healthz", "/api/v2/orders", "/search", "/reports/q3.pdf"}

func word(r *rand.Rand) string { return words[r.IntN(len(words))] }

func prose(r *rand.Rand, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(word(r))
	}
	return b.String()
}

func hexs(r *rand.Rand, n int) string {
	const h = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[r.IntN(16)]
	}
	return string(b)
}

func uuid(r *rand.Rand) string {
	return hexs(r, 8) + "-" + hexs(r, 4) + "-" + hexs(r, 4) + "-" + hexs(r, 4) + "-" + hexs(r, 12)
}

func ts(r *rand.Rand) string {
	return fmt.Sprintf("2024-%02d-%02dT%02d:%02d:%02d.%03dZ", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000))
}

// piiValue returns a valid value of some type with the words that go with it.
func piiValue(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0:
		return fmt.Sprintf("email %s.%s%d@corp-mail.com", word(r), word(r), r.IntN(100))
	case 1:
		return fmt.Sprintf("ssn %03d-%02d-%04d", 100+r.IntN(565), 10+r.IntN(89), 1000+r.IntN(8999))
	case 2:
		return fmt.Sprintf("phone (%d%d%d) %d%02d-%04d", 2+r.IntN(8), r.IntN(9), r.IntN(10), 2+r.IntN(8), r.IntN(100), r.IntN(10000))
	case 3:
		return "card " + luhnCard(r)
	case 4:
		return fmt.Sprintf("client %d.%d.%d.%d", 11+r.IntN(180), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	case 5:
		return fmt.Sprintf("DOB: %d-%02d-%02d", 1940+r.IntN(60), 1+r.IntN(12), 1+r.IntN(28))
	case 6:
		return fmt.Sprintf("passport no. %09d", 100000000+r.IntN(899999999))
	case 7:
		return fmt.Sprintf("DL# %c%07d", 'A'+r.IntN(26), r.IntN(10000000))
	case 8:
		return "IBAN GB82 WEST 1234 5698 7654 32"
	default:
		return "NI number AB 12 34 56 C"
	}
}

func luhnCard(r *rand.Rand) string {
	d := make([]int, 16)
	d[0] = 4
	for i := 1; i < 15; i++ {
		d[i] = r.IntN(10)
	}
	sum := 0
	for i := 14; i >= 0; i-- {
		v := d[i]
		if (14-i)%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	d[15] = (10 - sum%10) % 10
	var b strings.Builder
	for i, v := range d {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(byte('0' + v))
	}
	return b.String()
}

func genLine(r *rand.Rand) (string, int) {
	extra, n := "", 0
	if r.IntN(40) == 0 {
		extra, n = " "+piiValue(r), 1
	}
	switch r.IntN(4) {
	case 0: // access log
		return fmt.Sprintf("%s 10.%d.%d.%d %s %s %d %d req=%s%s\n", ts(r), r.IntN(256), r.IntN(256), r.IntN(256),
			[]string{"GET", "POST", "PUT"}[r.IntN(3)], paths[r.IntN(len(paths))], []int{200, 201, 302, 404, 500}[r.IntN(5)],
			r.IntN(100000), uuid(r), extra), n
	case 1: // application log
		return fmt.Sprintf("%s level=info msg=%q commit=%s version=1.%d.%d duration=%dms%s\n", ts(r), prose(r, 6),
			hexs(r, 40), r.IntN(20), r.IntN(50), r.IntN(5000), extra), n
	case 2: // prose
		return prose(r, 14+r.IntN(10)) + extra + ".\n", n
	default: // records
		return fmt.Sprintf("%d,%s,%s,order %d,%d.%02d,%s%s\n", r.IntN(1e6), word(r), word(r), r.IntN(1e8), r.IntN(1000),
			r.IntN(100), ts(r)[:10], extra), n
	}
}
