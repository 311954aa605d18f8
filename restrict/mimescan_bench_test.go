package restrict

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// benchChecks are ten header_checks and ten body_checks rules of the
// kind sites use, none of which matches benchMessage.
var benchChecks = map[string]string{
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
`,
}

// benchMessage is a 36 KB message as mail clients send it: ten header
// fields, a text part and a base64 attachment.
func benchMessage() string {
	var b strings.Builder
	b.WriteString("Received: from client.example.org (client.example.org [192.0.2.1])\r\n\tby mx.example.jp (yubin) with ESMTP id 4ABC\r\n\tfor <b@example.jp>; Mon, 7 Dec 2026 12:00:00 +0000\r\n")
	b.WriteString("From: Alice <alice@example.org>\r\nTo: Bob <b@example.jp>\r\nSubject: quarterly report\r\n")
	b.WriteString("Date: Mon, 7 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1234@example.org>\r\nMIME-Version: 1.0\r\n")
	b.WriteString("X-Mailer: Thunderbird\r\nContent-Type: multipart/mixed; boundary=\"------------0123456789\"\r\n\r\n")
	b.WriteString("This is a multi-part message in MIME format.\r\n--------------0123456789\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
	for i := range 40 {
		fmt.Fprintf(&b, "Line %d of the report text, with words enough to make a usual line length.\r\n", i)
	}
	b.WriteString("\r\n--------------0123456789\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	att := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.4 report data "), 1500))
	for len(att) > 76 {
		b.WriteString(att[:76] + "\r\n")
		att = att[76:]
	}
	b.WriteString(att + "\r\n--------------0123456789--\r\n")
	return b.String()
}

// BenchmarkContentPath compares, in the same run, the cost of inspecting
// one message with header_checks and body_checks configured: "legacy" is
// the server's path before ContentScan (CheckHeaders per header field,
// CheckBody per line up to body_checks_size_limit of the whole body),
// "scan" is ContentScan. cpu-ns/op is process CPU time per message.
func BenchmarkContentPath(b *testing.B) {
	p := mimePolicy(b, benchChecks, nil)
	msg := []byte(benchMessage())
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
