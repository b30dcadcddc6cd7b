// Command detect benchmarks Attest's detection engine against
// github.com/bradleyjkemp/sigma-go on the same rules and the same generated
// CloudTrail events, in one run, and prints events/s for each and the ratio.
//
// Attest runs end to end: JSON lines in, parse, normalize, rules (indexed),
// correlations, baselines, grouped alerts out. sigma-go runs what its users
// write around it: encoding/json into a map, flattening nested fields into
// the dotted names Sigma rules use, then every rule's Matches. Both use all
// cores.
//
//	go run ./detect [-events 1000000] [-rules DIR]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator"

	"github.com/attest-hq/attest/detect"
	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/ingest"
	"github.com/attest-hq/attest/detect/sigma"
)

func main() {
	events := flag.Int("events", 1_000_000, "events per engine")
	pool := flag.Int("pool", 20_000, "distinct generated events, cycled")
	sigmaDir := flag.String("sigma", "", "public SigmaHQ rules (default: ../shared/sigma/rules beside the repository, if present)")
	want := flag.Int("rules", 100, "number of rules")
	skipSigmaGo := flag.Bool("attest-only", false, "skip sigma-go")
	cpuprofile := flag.String("cpuprofile", "", "write an Attest CPU profile here")
	compare := flag.Bool("compare", false, "only compare both engines' matches event by event on the pool")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *compare {
		if err := compareEngines(*pool, *sigmaDir, *want); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*events, *pool, *sigmaDir, *want, *skipSigmaGo); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type ruleFile struct {
	path string
	data []byte
}

func run(nEvents, poolSize int, sigmaDir string, want int, skipSigmaGo bool) error {
	rules, err := collectRules(sigmaDir, want)
	if err != nil {
		return err
	}
	lines := generate(poolSize)
	var size int
	for _, l := range lines {
		size += len(l)
	}
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("rules: %d (same YAML for both engines)\n", len(rules))
	fmt.Printf("events: %d generated CloudTrail records (pool of %d, mean %d bytes), JSON lines\n", nEvents, poolSize, size/len(lines))

	// Attest.
	rs := sigma.NewRuleSet()
	for _, r := range rules {
		rs.Add(r.path, r.data)
	}
	rs.Compile()
	if len(rs.Problems) > 0 {
		return fmt.Errorf("attest cannot load %s: %s", rs.Problems[0].Path, rs.Problems[0].Reason)
	}
	attestRate, st, heap, err := runAttest(rs, lines, nEvents)
	if err != nil {
		return err
	}
	fmt.Printf("attest:   %10.0f events/s  (%d rule matches, %d grouped alerts; heap after GC at 1/3 and at the end: %s, %s)\n", attestRate, st.Matches, st.Alerts, mib(heap[0]), mib(heap[1]))
	if skipSigmaGo {
		return nil
	}
	var parsed []sigmago.Rule
	for _, r := range rules {
		pr, err := sigmago.ParseRule(r.data)
		if err != nil {
			return fmt.Errorf("sigma-go cannot parse %s: %w", r.path, err)
		}
		parsed = append(parsed, pr)
	}
	sgRate, sgMatches, err := runSigmaGo(parsed, lines, nEvents)
	if err != nil {
		return err
	}
	fmt.Printf("sigma-go: %10.0f events/s  (%d rule matches)\n", sgRate, sgMatches)
	fmt.Printf("ratio:    %10.1fx\n", attestRate/sgRate)
	return nil
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// cycler streams the pool of lines again and again, n lines in all, so
// the input costs no memory that grows with the event count.
type cycler struct {
	lines [][]byte
	n, i  int
	cur   []byte
}

func (c *cycler) Read(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		if len(c.cur) == 0 {
			if c.i >= c.n {
				break
			}
			c.cur = c.lines[c.i%len(c.lines)]
			c.i++
		}
		k := copy(p[total:], c.cur)
		c.cur = c.cur[k:]
		total += k
	}
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

type countSink struct{ n atomic.Int64 }

func (c *countSink) Send(context.Context, detect.Alert) error { c.n.Add(1); return nil }

func runAttest(rs *sigma.RuleSet, lines [][]byte, n int) (float64, detect.Stats, [2]uint64, error) {
	sink := &countSink{}
	eng, err := detect.New(detect.Config{Rules: rs, Sink: sink})
	if err != nil {
		return 0, detect.Stats{}, [2]uint64{}, err
	}
	var heap [2]uint64
	measure := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	start := time.Now()
	// Two passes (1/3 and 2/3 of the events) to see whether memory grows.
	// The second pass continues the same stream, so both engines see the
	// same events.
	for pass, span := range [][2]int{{0, n / 3}, {n / 3, n}} {
		r, err := ingest.NewReader(&cycler{lines: lines, i: span[0], n: span[1]}, ingest.Options{Format: 0})
		if err != nil {
			return 0, detect.Stats{}, heap, err
		}
		if err := detect.Run(context.Background(), r, eng); err != nil {
			return 0, detect.Stats{}, heap, err
		}
		if st := r.Stats(); st.Malformed != 0 {
			return 0, detect.Stats{}, heap, fmt.Errorf("attest: %d malformed: %v", st.Malformed, st.Samples)
		}
		if pass == 0 {
			paused := time.Now()
			heap[0] = measure()
			start = start.Add(time.Since(paused))
		}
	}
	if err := eng.Flush(context.Background()); err != nil {
		return 0, detect.Stats{}, heap, err
	}
	elapsed := time.Since(start)
	heap[1] = measure()
	if got := eng.Stats().Events; got != int64(n) {
		return 0, detect.Stats{}, heap, fmt.Errorf("attest processed %d events, want %d", got, n)
	}
	return float64(n) / elapsed.Seconds(), eng.Stats(), heap, nil
}

// flatten turns nested JSON objects into the dotted keys Sigma rules use.
func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			b, _ := json.Marshal(sub) // whole objects are matched as text too (requestParameters|contains)
			out[key] = string(b)
			flatten(key, sub, out)
			continue
		}
		out[key] = v
	}
}

func runSigmaGo(rules []sigmago.Rule, lines [][]byte, n int) (float64, int64, error) {
	evals := make([]*evaluator.RuleEvaluator, len(rules))
	for i, r := range rules {
		evals[i] = evaluator.ForRule(r)
	}
	workers := runtime.GOMAXPROCS(0)
	work := make(chan [][]byte, workers*2)
	var matches atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for batch := range work {
				for _, line := range batch {
					var raw map[string]any
					if err := json.Unmarshal(line, &raw); err != nil {
						firstErr.Store(err)
						continue
					}
					ev := make(map[string]any, 64)
					flatten("", raw, ev)
					for _, e := range evals {
						res, err := e.Matches(ctx, ev)
						if err != nil {
							firstErr.Store(err)
							continue
						}
						if res.Match {
							matches.Add(1)
						}
					}
				}
			}
		}()
	}
	// Feed through a line scanner over the same byte stream.
	sc := bufio.NewScanner(&cycler{lines: lines, n: n})
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	batch := make([][]byte, 0, 256)
	for sc.Scan() {
		batch = append(batch, bytes.Clone(sc.Bytes()))
		if len(batch) == cap(batch) {
			work <- batch
			batch = make([][]byte, 0, 256)
		}
	}
	if len(batch) > 0 {
		work <- batch
	}
	close(work)
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, 0, fmt.Errorf("sigma-go: %w", err)
	}
	return float64(n) / time.Since(start).Seconds(), matches.Load(), nil
}

// collectRules returns the CloudTrail rules both engines run: SigmaHQ's
// public CloudTrail rules when available, Attest's built-in CloudTrail
// detection rules, then generated rules up to want. Correlation rules are
// left out: sigma-go does not run them.
func collectRules(sigmaDir string, want int) ([]ruleFile, error) {
	var out []ruleFile
	add := func(dir string) error {
		return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yml") {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := string(data)
			if !strings.Contains(s, "product: aws") || strings.Contains(s, "correlation:") || strings.Contains(s, "\n---") {
				return nil
			}
			// Both engines must accept it: sigma-go parses it and evaluates
			// it without error (it lacks fieldref, for one).
			pr, err := sigmago.ParseRule(data)
			if err != nil {
				return nil
			}
			if _, err := evaluator.ForRule(pr).Matches(context.Background(), map[string]any{"eventName": "x"}); err != nil {
				return nil
			}
			rs := sigma.NewRuleSet()
			rs.Add(p, data)
			if len(rs.Problems) > 0 {
				return nil
			}
			out = append(out, ruleFile{p, data})
			return nil
		})
	}
	if sigmaDir == "" {
		if dir, ok := findUp(filepath.Join("..", "shared", "sigma", "rules")); ok {
			sigmaDir = dir
		}
	}
	if sigmaDir != "" {
		if err := add(filepath.Join(sigmaDir, "cloud", "aws", "cloudtrail")); err != nil {
			return nil, fmt.Errorf("read public rules: %w", err)
		}
	}
	if dir, ok := findUp(filepath.Join("detect", "rules", "pack")); ok {
		if err := add(dir); err != nil {
			return nil, fmt.Errorf("read built-in rules: %w", err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	if len(out) > want {
		out = out[:want]
	}
	for i := 0; len(out) < want; i++ {
		out = append(out, ruleFile{fmt.Sprintf("generated/%03d.yml", i), []byte(generatedRule(i))})
	}
	return out, nil
}

// findUp looks for rel relative to the working directory and its parents
// (the bench runs from bench/ or bench/detect).
func findUp(rel string) (string, bool) {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

var services = []string{"s3", "ec2", "iam", "sts", "kms", "lambda", "rds", "cloudtrail", "guardduty", "config", "logs", "secretsmanager", "ssm", "organizations"}
var verbs = []string{"Delete", "Put", "Create", "Update", "Modify", "Attach", "Detach", "Disable", "Stop", "Get", "List", "Describe", "Remove", "Add"}
var nouns = []string{"Bucket", "Object", "Instance", "User", "Role", "Policy", "Key", "Function", "Snapshot", "Trail", "Detector", "Secret", "Parameter", "Account", "Group"}

// generatedRule returns a CloudTrail rule exercising the usual shapes:
// exact lists, prefixes, substrings, negation.
func generatedRule(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	svc := services[r.IntN(len(services))]
	name := verbs[r.IntN(len(verbs))] + nouns[r.IntN(len(nouns))]
	name2 := verbs[r.IntN(len(verbs))] + nouns[r.IntN(len(nouns))]
	body := ""
	switch i % 4 {
	case 0:
		body = fmt.Sprintf("    selection:\n        eventSource: %s.amazonaws.com\n        eventName:\n            - %s\n            - %s\n    condition: selection\n", svc, name, name2)
	case 1:
		body = fmt.Sprintf("    selection:\n        eventSource: %s.amazonaws.com\n        eventName|startswith: '%s'\n        userAgent|contains: 'boto%d'\n    condition: selection\n", svc, verbs[r.IntN(len(verbs))], i)
	case 2:
		body = fmt.Sprintf("    selection:\n        eventName: %s\n        errorCode: AccessDenied\n    filter:\n        userIdentity.type: AWSService\n    condition: selection and not filter\n", name)
	default:
		body = fmt.Sprintf("    selection:\n        eventName: %s\n        requestParameters|contains: 'prod-%d'\n    condition: selection\n", name, i)
	}
	return fmt.Sprintf("title: Generated rule %d\nid: 00000000-0000-4000-8000-%012d\nstatus: test\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n%slevel: low\n", i, i, body)
}

// generate returns n CloudTrail records as JSON lines: a realistic mix of
// reads, writes, logins and a few sensitive calls, from a few hundred
// identities on a few networks.
func generate(n int) [][]byte {
	r := rand.New(rand.NewPCG(42, 42))
	type call struct {
		svc, name string
		weight    int
	}
	calls := []call{
		{"s3", "GetObject", 300}, {"s3", "PutObject", 120}, {"s3", "ListObjects", 60}, {"s3", "HeadObject", 60},
		{"ec2", "DescribeInstances", 80}, {"sts", "AssumeRole", 80}, {"sts", "GetCallerIdentity", 40},
		{"kms", "Decrypt", 60}, {"kms", "GenerateDataKey", 40}, {"lambda", "Invoke", 30}, {"logs", "PutLogEvents", 40},
		{"signin", "ConsoleLogin", 10}, {"iam", "CreateAccessKey", 2}, {"iam", "AttachUserPolicy", 2},
		{"cloudtrail", "StopLogging", 1}, {"ec2", "AuthorizeSecurityGroupIngress", 2}, {"s3", "PutBucketAcl", 1},
		{"guardduty", "DeleteDetector", 1}, {"iam", "DeactivateMFADevice", 1}, {"ec2", "ModifySnapshotAttribute", 1},
		{"secretsmanager", "GetSecretValue", 20}, {"ssm", "GetParameter", 20}, {"rds", "DescribeDBInstances", 10},
	}
	total := 0
	for _, c := range calls {
		total += c.weight
	}
	agents := []string{"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2", "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.1 lang/python#3.11", "console.amazonaws.com", "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21"}
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		w := r.IntN(total)
		var c call
		for _, c = range calls {
			if w < c.weight {
				break
			}
			w -= c.weight
		}
		user := fmt.Sprintf("user%03d", r.IntN(300))
		ip := fmt.Sprintf("198.51.%d.%d", 100+r.IntN(4), r.IntN(250)+1)
		t := base.Add(time.Duration(i) * 50 * time.Millisecond)
		req := fmt.Sprintf(`{"bucketName":"corp-data-%d","key":"reports/2024/%d.csv","Host":"corp-data-%d.s3.eu-west-1.amazonaws.com"}`, r.IntN(20), r.IntN(100000), r.IntN(20))
		switch c.name {
		case "AuthorizeSecurityGroupIngress":
			req = `{"groupId":"sg-0abc","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}`
		case "AssumeRole":
			req = fmt.Sprintf(`{"roleArn":"arn:aws:iam::111122223333:role/app-%d","roleSessionName":"%s"}`, r.IntN(10), user)
		case "CreateAccessKey", "AttachUserPolicy", "DeactivateMFADevice":
			req = fmt.Sprintf(`{"userName":"user%03d","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}`, r.IntN(300))
		}
		errPart := ""
		if r.IntN(50) == 0 {
			errPart = `"errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation",`
		}
		line := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA%012d","arn":"arn:aws:iam::111122223333:user/%s","accountId":"111122223333","accessKeyId":"AKIA%016d","userName":"%s","sessionContext":{"attributes":{"creationDate":"%s","mfaAuthenticated":"%v"}}},"eventTime":"%s","eventSource":"%s.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"%s","userAgent":"%s",%s"requestParameters":%s,"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"Q2hhbmdlZCBmb3IgdGhlIGJlbmNobWFyaw=="},"requestID":"%016X","eventID":"%08x-0000-4000-8000-%012x","readOnly":%v,"resources":[{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::corp-data-%d"}],"eventType":"AwsApiCall","managementEvent":%v,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"%s.eu-west-1.amazonaws.com"}}`,
			i, user, i, user, t.Add(-time.Hour).Format(time.RFC3339), r.IntN(2) == 0, t.Format(time.RFC3339), c.svc, c.name, ip, agents[r.IntN(len(agents))], errPart, req,
			r.Uint64(), i, i, strings.HasPrefix(c.name, "Get") || strings.HasPrefix(c.name, "Describe") || strings.HasPrefix(c.name, "List") || strings.HasPrefix(c.name, "Head"), r.IntN(20), c.svc != "s3", c.svc)
		out[i] = append([]byte(line), '\n')
	}
	return out
}

// compareEngines reports, per rule, events on which the engines disagree.
func compareEngines(poolSize int, sigmaDir string, want int) error {
	rules, err := collectRules(sigmaDir, want)
	if err != nil {
		return err
	}
	rs := sigma.NewRuleSet()
	evals := map[string]*evaluator.RuleEvaluator{}
	for _, r := range rules {
		rs.Add(r.path, r.data)
		pr, err := sigmago.ParseRule(r.data)
		if err != nil {
			return err
		}
		evals[pr.Title] = evaluator.ForRule(pr)
	}
	rs.Compile()
	m := rs.NewMatcher()
	diffs := map[string]int{}
	var example = map[string]string{}
	for _, line := range generate(poolSize) {
		var ev event.Event
		if err := ingest.Parse(event.SourceCloudTrail, bytes.TrimSpace(line), &ev, time.Time{}); err != nil {
			return err
		}
		ours := map[string]bool{}
		for _, r := range m.Match(&ev) {
			ours[r.Title] = true
		}
		var raw map[string]any
		json.Unmarshal(line, &raw)
		flat := map[string]any{}
		flatten("", raw, flat)
		for title, e := range evals {
			res, _ := e.Matches(context.Background(), flat)
			if res.Match != ours[title] {
				key := fmt.Sprintf("%s (attest %v, sigma-go %v)", title, ours[title], res.Match)
				diffs[key]++
				example[key] = string(line)
			}
		}
	}
	for k, n := range diffs {
		fmt.Printf("%d× %s\n  e.g. %.400s\n", n, k, example[k])
	}
	fmt.Printf("%d rules compared over %d events; %d disagreements\n", len(evals), poolSize, len(diffs))
	return nil
}
