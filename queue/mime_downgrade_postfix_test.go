package queue

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// downgradeCases are messages with 8-bit content in every place the
// MIME downgrade looks at.
var downgradeCases = []struct{ name, mail, msg string }{
	{"text-8bit", " BODY=8BITMIME", "From: a@example.test\r\nTo: r@example.net\r\nSubject: caf\xc3\xa9 raw\r\nMessage-ID: <1@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9 = tab\there \r\n" + strings.Repeat("\xe6\x97\xa5\xe6\x9c\xac", 30) + "\r\n" + strings.Repeat("a", 72) + " \r\n" + strings.Repeat("b", 73) + "\r\n" + strings.Repeat("c", 74) + "\r\n" + strings.Repeat("d", 71) + "\xc3\xa9\t\r\n.dot\r\nFrom me\r\n\r\nctl \x01\x7f\r\nend\r\n"},
	{"multipart", " BODY=8BITMIME", "From: a@example.test\r\nTo: r@example.net\r\nSubject : spaced\r\nX-Folded: one\r\n\ttwo \xc3\xa9\r\nMessage-ID: <2@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: 8BIT\r\nContent-Type: multipart/mixed;\r\n boundary=\"BB\" (comment)\r\n\r\npreamble \xc3\xa9\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\npart1 \xc3\xa9\r\n--BB\r\nContent-Type: text/plain\r\n\r\nno cte \xc3\xa9\r\n--BB\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--BB\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: inner \xc3\xa9\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: binary\r\n\r\n<p>\xc3\xa9</p>\r\n--BB\r\nContent-Type: multipart/alternative; boundary=CC\r\nContent-Transfer-Encoding: 8bit\r\n\r\n--CC\r\nContent-Transfer-Encoding: 8bit\r\n\r\nnested \xc3\xa9 =\r\n--CC--\r\nafter CC \xc3\xa9\r\n--BB\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nseven \xc3\xa9\r\n--BB--\r\nepilogue \xc3\xa9\r\n"},
	{"no-cte", "", "From: a@example.test\r\nTo: r@example.net\r\nSubject: no cte\r\nMessage-ID: <3@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\n\r\nraw \xc3\xa9 body\r\n" + strings.Repeat("x", 1200) + "\r\n" + strings.Repeat("z", 2500) + "\r\n"},
	{"long-8bit", " BODY=8BITMIME", "From: a@example.test\r\nTo: r@example.net\r\nSubject: long\r\nMessage-ID: <4@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nX-Long: " + strings.Repeat("h", 1500) + "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.Repeat("y", 3000) + "\xc3\xa9\r\n" + strings.Repeat("\xc3\xa9", 1100) + "\r\n\r\n\r\n"},
	{"digest", " BODY=8BITMIME", "From: a@example.test\r\nTo: r@example.net\r\nSubject: digest\r\nMessage-ID: <5@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nContent-Type: multipart/digest; boundary=D\r\n\r\n--D\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: d\r\nContent-Transfer-Encoding: 8bit\r\n\r\nin digest \xc3\xa9\r\n--D\r\n\r\nSubject: e\r\n\r\nplain \xc3\xa9\r\n--D--\r\n"},
	{"garbage-header", " BODY=8BITMIME", "From: a@example.test\r\nTo: r@example.net\r\nMessage-ID: <6@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nContent-Transfer-Encoding: binary\r\nContent-Type: text/plain\r\n\r\n--x\r\nnot a header \xc3\xa9\r\n"},
	{"odd-cte", " BODY=8BITMIME", "From: a@example.test\r\nTo: r@example.net\r\nMessage-ID: <8@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"q\\\"b\"; foo=bar\r\n\r\n--q\"b\r\nContent-Transfer-Encoding:\r\n 8bit (folded)\r\n\r\nfolded \xc3\xa9\r\n--q\"b\r\nContent-Transfer-Encoding: (c) 8BiT\r\nContent-Type: text/plain\r\n\r\ncomment \xc3\xa9\r\n--q\"b\r\nContent-Transfer-Encoding: \"8bit\"\r\n\r\nquoted \xc3\xa9\r\n--q\"b\r\nContent-transfer-encoding: x-unknown\r\n\r\nunknown \xc3\xa9\r\n--q\"b\r\nContent-Transfer-Encoding: 8bit\r\nContent-Transfer-Encoding: base64\r\n\r\ntwice \xc3\xa9\r\n--q\"b--\r\n"},
	{"nested-long", " BODY=8BITMIME", "From: a@example.test\r\nTo: r@example.net\r\nMessage-ID: <9@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=o\r\nX-Long: " + strings.Repeat("k\xc3\xa9", 1400) + "\r\n\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\nContent-Transfer-Encoding: 8bit\r\n\r\n--o not a boundary \xc3\xa9\r\n" + strings.Repeat("-", 100) + "\xc3\xa9 bare\rcr\r\n--i--\r\n--o\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.Repeat("w", 2047) + "\xc3\xa9" + strings.Repeat(" ", 10) + "\r\n--o--\r\n"},
	{"partial", " BODY=8BITMIME", "From: a@example.test\r\nTo: r@example.net\r\nMessage-ID: <7@x>\r\nDate: Mon, 7 Dec 2026 12:00:00 +0000\r\nContent-Type: message/partial; id=x; number=1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: p \xc3\xa9\r\n\r\nbody \xc3\xa9\r\n"},
}

// TestPostfixMIMEDowngrade compares the 8BITMIME to 7bit conversion with
// the real Postfix's: each message goes through a private Postfix to
// two smtp-sinks, one that announces 8BITMIME (Postfix sends the
// message as its cleanup stored it; smtp_line_length_limit = 0 there)
// and one started with -8 that does not (Postfix converts). yubin's
// downgradeMIME applied to the first must give the second, byte for
// byte, and so must the SMTP transport sending the first to the same
// smtp-sink.
func TestPostfixMIMEDowngrade(t *testing.T) {
	dump8, dump7 := sinkDir(t), sinkDir(t)
	sink8 := startSmtpSink(t, dump8)
	sink7 := startSmtpSink(t, dump7, "-8")
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf("transport_maps = inline:{eight.test=smtp8:%s, seven.test=smtp:%s}\n", bracketAddr(sink8), bracketAddr(sink7)))
	pf.Reconfigure(t, "", "smtp8 unix - - n - - smtp -o smtp_line_length_limit=0")
	for _, tc := range downgradeCases {
		t.Run(tc.name, func(t *testing.T) {
			tag := "X-Case: " + tc.name
			smtpSend(t, pf.Addr(), "<s@example.test>"+tc.mail, []string{"<r@eight.test>", "<r@seven.test>"}, tag+"\r\n"+tc.msg)
			in := waitSettledDump(t, dump8, pf.Log, tag+"\n")
			want := waitSettledDump(t, dump7, pf.Log, tag+"\n")
			// smtp-sink ends each dump with an empty line of its own.
			if !strings.HasSuffix(in, "\n\n") || !strings.HasSuffix(want, "\n\n") {
				t.Fatalf("dumps without smtp-sink's last empty line:\n%q\n%q", in, want)
			}
			in, want = in[:len(in)-1], want[:len(want)-1]
			var got bytes.Buffer
			if err := downgradeMIME(&got, strings.NewReader(strings.ReplaceAll(in, "\n", "\r\n")), DefaultSMTPLineLengthLimit); err != nil {
				t.Fatal(err)
			}
			g := strings.ReplaceAll(got.String(), "\r\n", "\n")
			if g != want {
				t.Errorf("converted differently from Postfix:\n%s", lineDiff(g, want))
			}
			if in == want && tc.name != "no-cte" {
				t.Errorf("Postfix did not convert the message; the comparison proves nothing")
			}
			// The same content sent by the transport to the same sink.
			rcpt := "yubin-" + tc.name + "@seven.test"
			tr := &SMTPTransport{Hostname: "client.yubin.test", TLSLevel: TLSNone, DisableConnectionCache: true}
			d := newSMTPDelivery(bracketAddr(sink7), strings.ReplaceAll(in, "\n", "\r\n"), rcpt)
			d.Envelope.Body = strings.TrimPrefix(tc.mail, " BODY=")
			wantSMTPStatus(t, smtpDeliver(t, tr, d)[0], Sent, "2.0.0", "250")
			sent := waitSettledDump(t, dump7, pf.Log, "X-Rcpt-Args: <"+rcpt+">")
			if sent = strings.TrimSuffix(sent, "\n"); sent != want {
				t.Errorf("the transport sent differently from Postfix:\n%s", lineDiff(sent, want))
			}
		})
	}
}

// waitSettledDump waits for the dump under dir that contains every one
// of wants, ends with smtp-sink's empty line and has not grown for
// 100ms (the whole message), and returns it without smtp-sink's headers.
func waitSettledDump(t *testing.T, dir string, log func() string, wants ...string) string {
	t.Helper()
	prev := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dir, "msg-*"))
		d := ""
	files:
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, w := range wants {
				if !strings.Contains(string(b), w) {
					continue files
				}
			}
			d = string(b)
			break
		}
		if d != "" && d == prev && strings.HasSuffix(d, "\n\n") {
			return stripSinkHeaders(d)
		}
		prev = d
	}
	t.Fatalf("no whole dump with %q; log:\n%s", wants, log())
	return ""
}

// lineDiff shows the first differing lines of got and want.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q\n(%d lines vs %d)", i+1, gl, wl, len(g), len(w))
		}
	}
	return "equal"
}
