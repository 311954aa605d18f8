package restrict

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// BenchmarkContentPath compares, in the same run, the cost of inspecting
// one message with header_checks and body_checks configured: "legacy" is
// the server's path before ContentScan (CheckHeaders per header field,
// CheckBody per line up to body_checks_size_limit of the whole body),
// "scan" is ContentScan. cpu-ns/op is process CPU time per message.
func BenchmarkContentPath(b *testing.B) {
	p := mimePolicy(b, testutil.ContentChecks, nil)
	msg := []byte(testutil.ReportMessage())
	ctx := context.Background()
	b.Run("legacy", func(b *testing.B) {
		benchCPU(b, len(msg), func() {
			r := bufio.NewReader(bytes.NewReader(msg))
			legacyContent(ctx, b, p, r)
		})
	})
	b.Run("scan", func(b *testing.B) {
		benchCPU(b, len(msg), func() {
			r := bufio.NewReader(bytes.NewReader(msg))
			s := p.NewContentScan()
			for {
				line, err := r.ReadSlice('\n')
				if len(line) > 0 {
					if _, d, _ := s.Feed(ctx, line); d.Action != Dunno {
						b.Fatal(d)
					}
				}
				if err != nil {
					break
				}
			}
			if _, d, _ := s.End(ctx); d.Action != Dunno {
				b.Fatal(d)
			}
		})
	})
}

func benchCPU(b *testing.B, size int, f func()) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for range b.N {
		f()
	}
	cpu := cpuTime() - start
	b.StopTimer()
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// legacyContent is what smtp's content filter did before ContentScan:
// the header fields one by one through CheckHeaders, then body lines
// through CheckBody up to 51200 bytes.
func legacyContent(ctx context.Context, b *testing.B, p *Policy, r *bufio.Reader) {
	var raw []byte
	var starts []int
	for {
		line, err := r.ReadSlice('\n')
		if len(line) == 0 || (line[0] != ' ' && line[0] != '\t' && bytes.IndexByte(line, ':') < 0) {
			break
		}
		if line[0] != ' ' && line[0] != '\t' {
			starts = append(starts, len(raw))
		}
		raw = append(raw, line...)
		if err != nil {
			break
		}
	}
	for i, st := range starts {
		end := len(raw)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		field := string(bytes.TrimRight(raw[st:end], "\r\n"))
		name, value, _ := strings.Cut(field, ":")
		if d, _ := p.CheckHeaders(ctx, []HeaderLine{{Name: name, Value: strings.TrimPrefix(value, " ")}}); d.Action != Dunno {
			b.Fatal(d)
		}
	}
	left := 51200
	for left > 0 {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			left -= len(line)
			if d, _ := p.CheckBody(ctx, strings.TrimRight(string(line), "\r\n")); d.Action != Dunno {
				b.Fatal(d)
			}
		}
		if err != nil {
			return
		}
	}
}
