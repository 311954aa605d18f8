package queue

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime/quotedprintable"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtpSinkMIMEDowngrade delivers 8-bit mail through the transport
// to the real smtp-sink: started with -8 (no 8BITMIME) it gets the
// message converted to quoted-printable, without BODY=; with
// DisableMIMEOutputConversion it gets the 8-bit content as it is; a
// sink that announces 8BITMIME gets it as it is with BODY=8BITMIME.
// A message declared BODY=7BIT is never converted.
func TestSmtpSinkMIMEDowngrade(t *testing.T) {
	t.Parallel()
	no8 := testutil.StartSmtpSink(t, "127.0.0.1", "-8")
	with8 := testutil.StartSmtpSink(t, "127.0.0.1")
	msg := "From: a@example.jp\r\nSubject: caf\xc3\xa9\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 =\r\n.dot \r\n"
	converted := "From: a@example.jp\nSubject: caf\xc3\xa9\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =3D\n.dot=20\n"
	for _, tc := range []struct {
		name    string
		sink    *testutil.SmtpSink
		body    string
		disable bool
		want    string
	}{
		{"convert", no8, "8BITMIME", false, converted},
		{"convert-undeclared", no8, "", false, converted},
		{"disabled", no8, "8BITMIME", true, strings.ReplaceAll(msg, "\r\n", "\n")},
		{"declared-7bit", no8, "7BIT", false, strings.ReplaceAll(msg, "\r\n", "\n")},
		{"8bitmime", with8, "8BITMIME", false, strings.ReplaceAll(msg, "\r\n", "\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &SMTPTransport{Hostname: "client.yubin.test", TLSLevel: TLSNone, DisableMIMEOutputConversion: tc.disable, DisableConnectionCache: true}
			d := newSMTPDelivery("[127.0.0.1]:"+smtpItoa(tc.sink.Port), msg, tc.name+"@yubin.test")
			d.Envelope.Body = tc.body
			rs := smtpDeliver(t, tr, d)
			wantSMTPStatus(t, rs[0], Sent, "2.0.0", "250")
			var dump string
			for range 100 {
				for _, m := range tc.sink.Messages(t) {
					if strings.Contains(m, "<"+tc.name+"@yubin.test>") {
						dump = m
					}
				}
				if dump != "" {
					break
				}
				tc.sink.WaitMessages(t, 1<<20, 20e6)
			}
			i := strings.Index(dump, "From: a@example.jp")
			if i < 0 {
				t.Fatalf("no message dumped:\n%s", dump)
			}
			// smtp-sink ends its dump with an empty line, sometimes
			// written after the 250.
			if got := strings.TrimRight(dump[i:], "\n"); got != strings.TrimRight(tc.want, "\n") {
				t.Errorf("content:\n%q\nwant:\n%q", got, tc.want)
			}
			mail := ""
			for _, l := range strings.Split(dump, "\n") {
				if strings.HasPrefix(l, "X-Mail-Args:") {
					mail = l
				}
			}
			if tc.sink == with8 && tc.body == "8BITMIME" && !strings.Contains(mail, "BODY=8BITMIME") || tc.sink == no8 && strings.Contains(mail, "BODY=") {
				t.Errorf("MAIL FROM parameters %q", mail)
			}
		})
	}
}

// TestDowngradeMIMELimits: a header block longer than header_size_limit
// is cut as Postfix cuts it, multipart nesting stops at
// mime_nesting_limit, and no output line is longer than
// smtp_line_length_limit.
func TestDowngradeMIMELimits(t *testing.T) {
	var in strings.Builder
	in.WriteString("Content-Transfer-Encoding: 8bit\r\nX-Big: " + strings.Repeat("h", 2*downgradeHeaderLimit) + "\r\n")
	for i := 0; i < 3*downgradeNestingLimit; i++ {
		in.WriteString("Content-Type: multipart/mixed; boundary=b" + smtpItoa(i) + "\r\n")
	}
	in.WriteString("\r\n" + strings.Repeat("\xff", 5000) + "\r\n")
	var out bytes.Buffer
	if err := downgradeMIME(&out, strings.NewReader(in.String()), DefaultSMTPLineLengthLimit); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out.String(), "\r\n") {
		if len(l) > DefaultSMTPLineLengthLimit {
			t.Fatalf("line of %d bytes", len(l))
		}
	}
	if n := strings.Count(out.String(), "h"); n != downgradeHeaderLimit-len("X-Big: ") {
		t.Errorf("%d bytes of the big header kept", n)
	}
}

// FuzzDowngradeMIME: any input converts without error or panic, output
// lines stay within smtp_line_length_limit and the output grows at most
// fourfold; the body of a converted text part decodes back to the
// original lines.
func FuzzDowngradeMIME(f *testing.F) {
	for _, c := range downgradeCases {
		f.Add([]byte(c.msg))
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=\"a\\\"b\" (c(d)); boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: binary\r\n\r\n\xff\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		if err := downgradeMIME(&out, bytes.NewReader(in), DefaultSMTPLineLengthLimit); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(out.String(), "\r\n") {
			if len(l) > DefaultSMTPLineLengthLimit {
				t.Fatalf("line of %d bytes", len(l))
			}
		}
		if out.Len() > 4*len(in)+200 {
			t.Fatalf("%d bytes out of %d", out.Len(), len(in))
		}
		// The input as the body of an 8bit text part.
		const head = "Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
		out.Reset()
		if err := downgradeMIME(&out, bytes.NewReader(append([]byte(head), in...)), DefaultSMTPLineLengthLimit); err != nil {
			t.Fatal(err)
		}
		const qhead = "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
		body, ok := strings.CutPrefix(out.String(), qhead)
		if !ok {
			t.Fatalf("headers: %q", out.String()[:min(out.Len(), 200)])
		}
		dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
		if err != nil {
			t.Fatalf("not quoted-printable: %v\n%q", err, body)
		}
		if want := fuzzLines(in); string(dec) != want {
			t.Fatalf("decoded body differs:\n got %q\nwant %q", dec, want)
		}
	})
}

// fuzzLines is in with each line ended by CRLF (LF or CRLF before; a
// last line without LF keeps a CR at its end).
func fuzzLines(in []byte) string {
	if len(in) == 0 {
		return ""
	}
	lines := strings.Split(string(in), "\n")
	last := lines[len(lines)-1] // not ended by LF: its CR stays
	lines = lines[:len(lines)-1]
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimSuffix(l, "\r") + "\r\n")
	}
	if last != "" {
		b.WriteString(last + "\r\n")
	}
	return b.String()
}

// TestMIMEDowngradeSizeParameter: a server that announces SIZE but not
// 8BITMIME (smtp-sink cannot announce SIZE) gets MAIL FROM without
// SIZE= when the message is converted, as Postfix sends it, and with
// SIZE= when it is not.
func TestMIMEDowngradeSizeParameter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var mails []string
	port, _ := smtpFakeServer(t, func(_ int, c net.Conn, r *bufio.Reader) {
		io.WriteString(c, "220 fake ESMTP\r\n")
		data := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch up := strings.ToUpper(line); {
			case data:
				if line == ".\r\n" {
					data = false
					io.WriteString(c, "250 2.0.0 Ok\r\n")
				}
			case strings.HasPrefix(up, "EHLO"):
				io.WriteString(c, "250-fake\r\n250-SIZE 1000000\r\n250 PIPELINING\r\n")
			case strings.HasPrefix(up, "MAIL"):
				mu.Lock()
				mails = append(mails, strings.TrimSpace(line))
				mu.Unlock()
				io.WriteString(c, "250 2.1.0 Ok\r\n")
			case strings.HasPrefix(up, "DATA"):
				data = true
				io.WriteString(c, "354 go ahead\r\n")
			case strings.HasPrefix(up, "QUIT"):
				io.WriteString(c, "221 bye\r\n")
				return
			default:
				io.WriteString(c, "250 Ok\r\n")
			}
		}
	})
	for _, body := range []string{"8BITMIME", "7BIT"} {
		tr := &SMTPTransport{Hostname: "client.yubin.test", TLSLevel: TLSNone, DisableConnectionCache: true}
		d := newSMTPDelivery("[127.0.0.1]:"+smtpItoa(port), "Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9\r\n", "a@yubin.test")
		d.Envelope.Body = body
		wantSMTPStatus(t, smtpDeliver(t, tr, d)[0], Sent, "2.0.0", "250")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mails) != 2 || strings.Contains(mails[0], "SIZE=") || !strings.Contains(mails[1], "SIZE=") {
		t.Errorf("MAIL commands: %q", mails)
	}
}

// TestSmtpSinkLMTPMIMEDowngrade: the lmtp transport converts 8-bit mail
// for an LMTP server without 8BITMIME (smtp-sink -L -8) as the smtp
// transport does, and sends it as it is, without BODY=, when conversion
// is disabled (it would otherwise refuse BODY=8BITMIME itself).
func TestSmtpSinkLMTPMIMEDowngrade(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1", "-L", "-8")
	msg := "From: a@example.jp\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n"
	for _, tc := range []struct {
		name    string
		disable bool
		want    string
	}{
		{"lmtp-convert", false, "From: a@example.jp\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9"},
		{"lmtp-as-is", true, "From: a@example.jp\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9"},
	} {
		tr := &LMTPTransport{Hostname: "client.yubin.test", DisableMIMEOutputConversion: tc.disable}
		d := newSMTPDelivery("inet:127.0.0.1:"+smtpItoa(sink.Port), msg, tc.name+"@yubin.test")
		d.Envelope.Body = "8BITMIME"
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		rs := tr.Deliver(ctx, d)
		cancel()
		wantSMTPStatus(t, rs[0], Sent, "2.0.0", "250")
		var dump string
		for end := time.Now().Add(5 * time.Second); dump == "" && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			for _, m := range sink.Messages(t) {
				if strings.Contains(m, "<"+tc.name+"@yubin.test>") && strings.Contains(m, "caf") {
					dump = m
				}
			}
		}
		i := strings.Index(dump, "From: a@example.jp")
		if i < 0 || strings.TrimRight(dump[i:], "\n") != tc.want || strings.Contains(dump, "BODY=") {
			t.Errorf("%s: dumped:\n%q", tc.name, dump)
		}
	}
}

// BenchmarkDowngradeMIME converts a 100 KB 8-bit text message.
func BenchmarkDowngradeMIME(b *testing.B) {
	msg := "From: a@example.jp\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		strings.Repeat("日本語のテキストとASCII text mixed here, a line of mail.\r\n", 1500)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := downgradeMIME(io.Discard, strings.NewReader(msg), DefaultSMTPLineLengthLimit); err != nil {
			b.Fatal(err)
		}
	}
}
