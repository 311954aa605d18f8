package smtp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

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
// CPU time to accept one 48 KB MIME message (a text part and a base64
// attachment) with ten header_checks and ten body_checks rules that do
// not match, through the content path before ContentScan ("legacy") and
// through ContentScan ("scan"). cpu-ns/op is the process's CPU time per
// session (client side included, the same in both).
func BenchmarkServerContentChecks(b *testing.B) {
	dir := b.TempDir()
	params := restrict.DefaultParams()
	for name, text := range map[string]string{
		"header_checks": `/^Subject:.*viagra/ REJECT spam
/^From:.*@spam\.example/ REJECT spam source
/^X-Mailer: (bulk|mass)mailer/ REJECT bulk
/^Content-Type:.*name="?.*\.(exe|scr|pif|bat)"?/ REJECT attachment type
/^Content-Disposition:.*filename="?.*\.(exe|scr)"?/ REJECT attachment name
/^Received: from unknown/ WARN unknown relay
/^To: .*undisclosed/ WARN undisclosed
/^X-Spam-Flag: YES/ DISCARD
/^Message-ID: <>$/ REJECT bad id
/^Date: .* 19[0-9][0-9] / REJECT old date
`,
		"body_checks": `/^<iframe src=/ REJECT iframe
/^TVqQAAMAAAAEAAAA/ REJECT windows executable
/click here to unsubscribe from this list now/ WARN unsubscribe
/^begin [0-7]{3} .*\.exe$/ REJECT uuencoded executable
/bitcoin wallet/ REJECT scam
/^.{990,}$/ WARN long line
/^Content-Type: application\/x-msdownload/ REJECT executable part
/^X-Evil:/ REJECT evil
/lottery winner/ REJECT scam
/^PAYLOAD$/ REJECT payload
`} {
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
	var m strings.Builder
	m.WriteString("From: Alice <alice@example.org>\r\nTo: Bob <b@example.jp>\r\nSubject: quarterly report\r\n")
	m.WriteString("Date: Mon, 7 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1234@example.org>\r\nMIME-Version: 1.0\r\n")
	m.WriteString("X-Mailer: Thunderbird\r\nContent-Type: multipart/mixed; boundary=\"------------0123456789\"\r\n\r\n")
	m.WriteString("This is a multi-part message in MIME format.\r\n--------------0123456789\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n")
	for i := range 40 {
		fmt.Fprintf(&m, "Line %d of the report text, with words enough to make a usual line length.\r\n", i)
	}
	m.WriteString("\r\n--------------0123456789\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	att := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.4 report data "), 1500))
	for len(att) > 76 {
		m.WriteString(att[:76] + "\r\n")
		att = att[76:]
	}
	m.WriteString(att + "\r\n--------------0123456789--\r\n")
	script := "EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.jp>\r\nDATA\r\n" + m.String() + ".\r\nQUIT\r\n"
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
			b.SetBytes(int64(m.Len()))
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
