package smtp

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// legacyPolicy hides a Policy's ContentScanner, so the server inspects
// content field by field and line by line as it did before ContentScan.
type legacyPolicy struct{ p *restrict.Policy }

func (l legacyPolicy) Check(ctx context.Context, st restrict.Stage, req *restrict.Request) (restrict.Decision, error) {
	return l.p.Check(ctx, st, req)
}
func (l legacyPolicy) CheckHeaders(ctx context.Context, h []restrict.HeaderLine) (restrict.Decision, error) {
	return l.p.CheckHeaders(ctx, h)
}
func (l legacyPolicy) CheckBody(ctx context.Context, line string) (restrict.Decision, error) {
	return l.p.CheckBody(ctx, line)
}
func (l legacyPolicy) Params() restrict.Params { return l.p.Params() }

// BenchmarkServerContentChecks measures, in the same run, the server's
// CPU time to accept one MIME message (testutil.ReportMessage: a text part and a base64
// attachment) with ten header_checks and ten body_checks rules that do
// not match, through the content path before ContentScan ("legacy") and
// through ContentScan ("scan"). cpu-ns/op is the process's CPU time per
// session (client side included, the same in both).
func BenchmarkServerContentChecks(b *testing.B) {
	dir := b.TempDir()
	params := restrict.DefaultParams()
	for name, text := range testutil.ContentChecks {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
		params[name] = "regexp:" + path
	}
	pol, err := restrict.New(params, restrict.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	msg := testutil.ReportMessage()
	script := "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n" + msg + ".\r\nQUIT\r\n"
	for _, tc := range []struct {
		name string
		pol  Policy
	}{{"legacy", legacyPolicy{pol}}, {"scan", pol}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := &Server{Hostname: "mx.example.jp", MaxConnsPerClient: -1, AllowUnauthPipelining: true, Policy: tc.pol,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Backend: DataFunc(func(ctx context.Context, env *Envelope, r io.Reader) error {
					_, err := io.Copy(io.Discard, r)
					return err
				})}
			if _, ok := tc.pol.(ContentScanner); ok != (tc.name == "scan") {
				b.Fatal("wrong content path")
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(l)
			defer srv.Close()
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			start := processCPU()
			for range b.N {
				c, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				go io.WriteString(c, script)
				r := bufio.NewReader(c)
				ok := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						break
					}
					ok = ok || strings.HasPrefix(line, "250 2.0.0 Ok: queued")
				}
				c.Close()
				if !ok {
					b.Fatal("message not accepted")
				}
			}
			cpu := processCPU() - start
			b.StopTimer()
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user and system CPU time in nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
