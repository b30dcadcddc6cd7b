package detect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/attest-hq/attest/detect/event"
	"github.com/attest-hq/attest/detect/ingest"
	"github.com/attest-hq/attest/detect/rules"
)

// benchLines returns n generated CloudTrail JSON lines (about 1.2 KB each).
func benchLines(n int) [][]byte {
	names := []string{"GetObject", "PutObject", "DescribeInstances", "AssumeRole", "Decrypt", "ConsoleLogin", "ListObjects", "StopLogging"}
	srcs := []string{"s3", "s3", "ec2", "sts", "kms", "signin", "s3", "cloudtrail"}
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		k := i % len(names)
		if k == 7 && i%1000 != 7 {
			k = 0
		}
		out[i] = fmt.Appendf(nil, `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA%012d","arn":"arn:aws:iam::111122223333:user/user%03d","accountId":"111122223333","accessKeyId":"AKIA%016d","userName":"user%03d","sessionContext":{"attributes":{"creationDate":"2024-06-01T00:00:00Z","mfaAuthenticated":"true"}}},"eventTime":"%s","eventSource":"%s.amazonaws.com","eventName":"%s","awsRegion":"eu-west-1","sourceIPAddress":"198.51.100.%d","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2","requestParameters":{"bucketName":"corp-data-%d","key":"reports/2024/%d.csv","Host":"corp-data.s3.eu-west-1.amazonaws.com"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader"},"requestID":"%016X","eventID":"%08x-0000-4000-8000-000000000000","readOnly":false,"resources":[{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::corp-data-%d"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"s3.eu-west-1.amazonaws.com"}}`+"\n",
			i, i%300, i, i%300, t0.Add(time.Duration(i)*10*time.Millisecond).Format(time.RFC3339), srcs[k], names[k], i%250, i%20, i, i, i, i%20)
	}
	return out
}

func BenchmarkParseCloudTrail(b *testing.B) {
	lines := benchLines(1000)
	var ev event.Event
	b.SetBytes(int64(len(lines[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev.Reset()
		if err := ingest.Parse(event.SourceCloudTrail, bytes.TrimSpace(lines[i%len(lines)]), &ev, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchBuiltin(b *testing.B) {
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	lines := benchLines(1000)
	evs := make([]event.Event, len(lines))
	for i := range evs {
		if err := ingest.Parse(event.SourceCloudTrail, bytes.TrimSpace(lines[i]), &evs[i], time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	m := rs.NewMatcher()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Match(&evs[i%len(evs)])
	}
}

// loopReader serves the lines n times over without allocating.
type loopReader struct {
	lines [][]byte
	n, i  int
	cur   []byte
}

func (l *loopReader) Read(p []byte) (int, error) {
	total := 0
	for total < len(p) {
		if len(l.cur) == 0 {
			if l.i >= l.n {
				break
			}
			l.cur = l.lines[l.i%len(l.lines)]
			l.i++
		}
		k := copy(p[total:], l.cur)
		l.cur = l.cur[k:]
		total += k
	}
	if total == 0 {
		return 0, io.EOF
	}
	return total, nil
}

// BenchmarkEndToEnd reads JSON lines through the whole engine: framing,
// parsing, rules, correlations, baselines and grouping.
func BenchmarkEndToEnd(b *testing.B) {
	rs, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	lines := benchLines(10_000)
	e, err := New(Config{Rules: rs, Sink: SinkFunc(func(context.Context, Alert) error { return nil })})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(lines[0])))
	b.ResetTimer()
	r, err := ingest.NewReader(&loopReader{lines: lines, n: b.N}, ingest.Options{Format: event.SourceCloudTrail})
	if err != nil {
		b.Fatal(err)
	}
	if err := Run(context.Background(), r, e); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
