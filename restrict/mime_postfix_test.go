package restrict_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
	"github.com/yubinmail/yubin/smtp"
)

// The MIME content-check battery sends the same corpus of messages
// (nested multiparts, message/rfc822 attachments, payloads in the Nth
// part and past the per-part size limit, long and malformed boundaries,
// nesting 99/100/101/20000, header-looking body lines, 8-bit headers,
// base64 parts, long lines) to a real Postfix 3.7 and to yubin's
// smtp.Server with a restrict.Policy, both with the same header_checks,
// mime_header_checks, nested_header_checks and body_checks files (regexp
// and pcre) and the same parameters, under several parameter variants,
// and compares the replies to the end of DATA.

// Check files: each class has its own rules, so that a reply says which
// class Postfix (and yubin) applied to a line.
const (
	mimeHeaderChecksFile = `/^Subject: primary-bad/ REJECT primary subject
/^X-Dsn: custom/ REJECT 5.7.9 custom dsn text
/^X-Plain-Reject:/ REJECT
/^X-Defer: yes/ REJECT 4.7.1 try later
/^X-Discard: yes/ DISCARD
/primary-bad-tail/ REJECT header tail seen
`
	mimeMIMEHeaderChecksFile = `/^Content-Description: evil/ REJECT mime header
/^Content-Type:.*name="?evil\.exe/ REJECT bad attachment
`
	mimeNestedHeaderChecksFile = `/^Subject: nested-bad/ REJECT nested subject
`
	mimeBodyChecksFile = `/^PAYLOAD$/ REJECT payload found
/^X-Body-Hdr: bad/ REJECT header-looking body line
/^--bndcheck/ REJECT boundary line seen
/^bare cr here$/ REJECT bare cr
`
	mimeBodyPCREFile = `/^UEFZTE9BRA/ REJECT encoded payload
`
)

// mimeVariant is a set of parameters both servers get on top of the
// check files.
type mimeVariant struct {
	name   string
	params map[string]string
}

var mimeVariants = []mimeVariant{
	{"default", nil},
	{"small", map[string]string{"body_checks_size_limit": "300", "mime_boundary_length_limit": "10", "header_size_limit": "1000"}},
	{"strict", map[string]string{"strict_7bit_headers": "yes", "strict_8bitmime_body": "yes", "strict_mime_encoding_domain": "yes"}},
	{"nomime", map[string]string{"disable_mime_input_processing": "yes"}},
	{"bodyonly", map[string]string{"header_checks": "", "mime_header_checks": "", "nested_header_checks": ""}},
	{"shallow", map[string]string{"mime_nesting_limit": "3"}},
}

// mimeCase is one message of the corpus (header and body, CRLF lines,
// without the server's Received line).
type mimeCase struct {
	name, msg string
}

func mp(boundary string, parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n" + p)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.String()
}

func top(ct string) string {
	return "From: a@example.org\r\nTo: b@example.jp\r\nSubject: test\r\nMIME-Version: 1.0\r\nContent-Type: " + ct + "\r\n\r\n"
}

// nestBomb is n multiparts nested in one another, the innermost part
// holding payload.
func nestBomb(n int, payload string) string {
	var b strings.Builder
	b.WriteString("Subject: bomb\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\n%s\r\n", n-1, payload)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

// nestLetters nests n multiparts whose boundaries are not prefixes of
// one another ("q1z", "q2z", ...).
func nestLetters(n int, payload string) string {
	var b strings.Builder
	b.WriteString("Subject: nest\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"q0z\"\r\n\r\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "--q%dz\r\nContent-Type: multipart/mixed; boundary=\"q%dz\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--q%dz\r\nContent-Type: text/plain\r\n\r\n%s\r\n", n-1, payload)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--q%dz--\r\n", i)
	}
	return b.String()
}

const textPart = "Content-Type: text/plain\r\n\r\nhello\r\n"

func mimeCorpus() []mimeCase {
	filler := strings.Repeat("filler line of text that is fifty bytes long.....\r\n", 8) // 400 bytes
	big := strings.Repeat("filler line of text that is fifty bytes long.....\r\n", 1200) // 60 KB
	rfc822 := func(inner string) string {
		return "Content-Type: message/rfc822\r\n\r\n" + inner
	}
	return []mimeCase{
		{"plain", "Subject: hello\r\n\r\nhello\r\n"},
		{"primary subject", "Subject: primary-bad here\r\n\r\nhello\r\n"},
		{"primary reject dsn", "X-Dsn: custom\r\n\r\nhello\r\n"},
		{"primary reject no text", "X-Plain-Reject: 1\r\n\r\nhello\r\n"},
		{"primary reject 4xx", "X-Defer: yes\r\n\r\nhello\r\n"},
		{"discard then nesting", "X-Discard: yes\r\n" + nestLetters(103, "hello")},
		{"folded subject", "Subject: fine\r\n primary-bad\r\n\r\nhello\r\n"},
		{"obsolete header colon", "Subject : primary-bad spaced\r\n\r\nhello\r\n"},
		{"payload in part 3", top(`multipart/mixed; boundary="B"`) + mp("B", textPart, textPart, "Content-Type: text/plain\r\n\r\nPAYLOAD\r\n")},
		{"payload in preamble", top(`multipart/mixed; boundary="B"`) + "PAYLOAD\r\n" + mp("B", textPart)},
		{"payload in epilogue", top(`multipart/mixed; boundary="B"`) + mp("B", textPart) + "PAYLOAD\r\n"},
		{"mime header in part", top(`multipart/mixed; boundary="B"`) + mp("B", textPart, "Content-Description: evil thing\r\nContent-Type: text/plain\r\n\r\nhi\r\n")},
		{"attachment name", top(`multipart/mixed; boundary="B"`) + mp("B", textPart, "Content-Type: application/octet-stream;\r\n name=\"evil.exe\"\r\n\r\nAAAA\r\n")},
		{"mime header in primary", "Subject: x\r\nContent-Description: evil top\r\n\r\nhello\r\n"},
		{"primary-class header in part", top(`multipart/mixed; boundary="B"`) + mp("B", "Subject: primary-bad in part\r\nContent-Type: text/plain\r\n\r\nhi\r\n")},
		{"nested subject", top(`multipart/mixed; boundary="B"`) + mp("B", textPart, rfc822("Subject: nested-bad one\r\nFrom: c@example.net\r\n\r\nbody\r\n"))},
		{"nested primary-rule subject", top(`multipart/mixed; boundary="B"`) + mp("B", rfc822("Subject: primary-bad nested\r\n\r\nbody\r\n"))},
		{"nested mime header", top(`multipart/mixed; boundary="B"`) + mp("B", rfc822("Subject: ok\r\nContent-Description: evil nested\r\n\r\nbody\r\n"))},
		{"nested payload", top(`message/rfc822`) + "Subject: inner\r\n\r\nPAYLOAD\r\n"},
		{"digest default rfc822", top(`multipart/digest; boundary="D"`) + mp("D", "\r\nSubject: nested-bad digest\r\n\r\nbody\r\n")},
		{"digest explicit text", top(`multipart/digest; boundary="D"`) + mp("D", "Content-Type: text/plain\r\n\r\nSubject: nested-bad digest\r\n")},
		{"payload past part limit", top(`multipart/mixed; boundary="B"`) + mp("B", "Content-Type: text/plain\r\n\r\n"+filler+"PAYLOAD\r\n")},
		{"payload in next part after limit", top(`multipart/mixed; boundary="B"`) + mp("B", "Content-Type: text/plain\r\n\r\n"+filler, "Content-Type: text/plain\r\n\r\nPAYLOAD\r\n")},
		{"payload past default limit", top(`multipart/mixed; boundary="B"`) + mp("B", "Content-Type: text/plain\r\n\r\n"+big+"PAYLOAD\r\n")},
		{"payload after big part", top(`multipart/mixed; boundary="B"`) + mp("B", "Content-Type: text/plain\r\n\r\n"+big, "Content-Type: text/plain\r\n\r\nPAYLOAD\r\n")},
		{"payload past limit no mime", "Subject: x\r\n\r\n" + big + "PAYLOAD\r\n"},
		{"long boundary truncated", top(`multipart/mixed; boundary="abcdefghijklmnopqrstuvwxyz"`) + mp("abcdefghijklmnopqrstuvwxyz", "Content-Type: text/plain\r\n\r\nhi\r\n--abcdefghijXXX\r\nContent-Description: evil hidden\r\n\r\nx\r\n")},
		{"boundary 3000 bytes", top(`multipart/mixed; boundary="`+strings.Repeat("k", 3000)+`"`) + mp(strings.Repeat("k", 3000), "Content-Type: text/plain\r\n\r\nPAYLOAD\r\n")},
		{"boundary line to body_checks", top(`multipart/mixed; boundary="bndcheck"`) + mp("bndcheck", textPart)},
		{"unterminated multipart", top(`multipart/mixed; boundary="B"`) + "--B\r\n" + textPart + "--B\r\nContent-Type: text/plain\r\n\r\nPAYLOAD\r\n"},
		{"boundary with trailing junk", top(`multipart/mixed; boundary="B"`) + "--B junk\r\nContent-Description: evil junk\r\n\r\nx\r\n--B--\r\n"},
		{"multipart without boundary", top(`multipart/mixed`) + "--B\r\nContent-Description: evil\r\n\r\nPAYLOAD\r\n"},
		{"empty boundary", top(`multipart/mixed; boundary=""`) + "--x\r\nContent-Description: evil empty\r\n\r\nhi\r\n"},
		{"two boundary params", top(`multipart/mixed; boundary="one"; boundary="two"`) + "--two\r\nContent-Description: evil second\r\n\r\nx\r\n--two--\r\n"},
		{"unquoted boundary with comment", top(`multipart/mixed; (c) boundary=B2 (comment)`) + mp("B2", "Content-Description: evil unquoted\r\n\r\nx\r\n")},
		{"non-multipart keeps type", top(`image/png`) + "--B\r\nPAYLOAD\r\n"},
		{"part without headers", top(`multipart/mixed; boundary="B"`) + mp("B", "PAYLOAD\r\n")},
		{"garbage in part header", top(`multipart/mixed; boundary="B"`) + mp("B", "Content-Type: text/plain\r\nthis is not a header\r\nContent-Description: evil late\r\n\r\nx\r\n")},
		{"body-looking header block end", "Subject: x\r\nPAYLOAD\r\n"},
		{"header-looking body line", "Subject: x\r\n\r\nX-Body-Hdr: bad\r\nSubject: primary-bad in body\r\n"},
		{"header-looking body only primary rule", "Subject: x\r\n\r\nSubject: primary-bad in body\r\n"},
		{"8-bit subject", "Subject: caf\xc3\xa9 ok\r\n\r\nhello\r\n"},
		{"8-bit body", "Subject: x\r\n\r\ncaf\xc3\xa9\r\n"},
		{"8-bit body declared", "Subject: x\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n"},
		{"multipart base64 domain", "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + mp("B", textPart)},
		{"rfc822 quoted-printable domain", "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: y\r\n\r\nx\r\n"},
		{"partial 8bit domain", "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: message/partial; id=1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nx\r\n"},
		{"base64 part", top(`multipart/mixed; boundary="B"`) + mp("B", "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nUEFZTE9BRA==\r\n")},
		{"base64 part other", top(`multipart/mixed; boundary="B"`) + mp("B", "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n")},
		{"bare CR in body", "Subject: x\r\n\r\nbare\rcr here\r\n"},
		{"bare CR in header", "Subject: primary-bad\rx\r\n\r\nhi\r\n"},
		{"long line piece", "Subject: x\r\n\r\n" + strings.Repeat("x", 2048) + "PAYLOAD\r\n"},
		{"long line no piece", "Subject: x\r\n\r\n" + strings.Repeat("x", 2000) + "PAYLOAD\r\n"},
		{"long header line", "X-A: 1\r\nX-Long: " + strings.Repeat("a", 3000) + " primary-bad-tail\r\nX-B: 2\r\n\r\nhi\r\n"},
		{"long header tail", "Subject: long\r\n" + strings.Repeat(" continuation text that makes the header long\r\n", 60) + " primary-bad-tail\r\n\r\nhi\r\n"},
		{"nest 3", nestLetters(3, "hello")},
		{"nest 5", nestLetters(5, "hello")},
		{"nest 99", nestLetters(99, "hello")},
		{"nest 100", nestLetters(100, "hello")},
		{"nest 101", nestLetters(101, "hello")},
		{"nest 102", nestLetters(102, "hello")},
		{"nest 103", nestLetters(103, "hello")},
		{"nest 101 payload", nestLetters(101, "PAYLOAD")},
		{"bomb 5 payload", nestBomb(5, "PAYLOAD")},
		{"bomb 20000 payload", nestBomb(20000, "PAYLOAD")},
		{"bomb 20000", nestBomb(20000, "hello")},
		{"letters 20000", nestLetters(20000, "hello")},
		{"letters 20000 payload", nestLetters(20000, "PAYLOAD")},
	}
}

func TestPostfixMIMEChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("interop battery")
	}
	dir := testutil.SharedDir(t)
	files := map[string]string{
		"header_checks": mimeHeaderChecksFile, "mime_header_checks": mimeMIMEHeaderChecksFile,
		"nested_header_checks": mimeNestedHeaderChecksFile, "body_checks": mimeBodyChecksFile, "body_pcre": mimeBodyPCREFile,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := map[string]string{
		"header_checks":        "regexp:" + filepath.Join(dir, "header_checks"),
		"mime_header_checks":   "regexp:" + filepath.Join(dir, "mime_header_checks"),
		"nested_header_checks": "regexp:" + filepath.Join(dir, "nested_header_checks"),
		"body_checks":          "regexp:" + filepath.Join(dir, "body_checks") + ", pcre:" + filepath.Join(dir, "body_pcre"),
	}
	pf := testutil.StartSMTPPostfix(t, "")
	var mainCF, master strings.Builder
	for n, v := range base {
		fmt.Fprintf(&mainCF, "%s = %s\n", n, v)
	}
	// One session carries many refused messages: no tarpit.
	mainCF.WriteString("default_transport = discard\nrelay_transport = discard\nsmtpd_forbid_bare_newline = no\n" +
		"smtpd_error_sleep_time = 0\nsmtpd_soft_error_limit = 10000\nsmtpd_hard_error_limit = 10000\n")
	ports := map[string]int{}
	for i, v := range mimeVariants {
		if v.params == nil {
			ports[v.name] = pf.SMTPPort
			continue
		}
		ports[v.name] = testutil.FreePort(t)
		fmt.Fprintf(&master, "127.0.0.1:%d inet n - n - - smtpd -o cleanup_service_name=cleanup%d\n", ports[v.name], i)
		fmt.Fprintf(&master, "cleanup%d unix n - n - 0 cleanup", i)
		for n, val := range v.params {
			if val == "" {
				fmt.Fprintf(&master, " -o { %s = }", n)
			} else {
				fmt.Fprintf(&master, " -o %s=%s", n, val)
			}
		}
		master.WriteString("\n")
	}
	pf.Reconfigure(t, mainCF.String(), master.String())

	corpus := mimeCorpus()
	for _, v := range mimeVariants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			params := restrict.DefaultParams()
			params["mynetworks"] = "127.0.0.0/8"
			params["smtpd_relay_restrictions"] = "permit_mynetworks, reject"
			for n, val := range base {
				params[n] = val
			}
			for n, val := range v.params {
				params[n] = val
			}
			yaddr := startMIMEYubin(t, params)
			pc, yc := dialMIME(t, fmt.Sprintf("127.0.0.1:%d", ports[v.name])), dialMIME(t, yaddr)
			defer pc.close()
			defer yc.close()
			var table strings.Builder
			diffs := 0
			for _, c := range corpus {
				t0 := time.Now()
				pr := pc.send(c.msg)
				t1 := time.Now()
				yr := yc.send(c.msg)
				if os.Getenv("MIME_TIMING") != "" { // to see which side is slow
					t.Logf("%s: postfix %v yubin %v", c.name, t1.Sub(t0), time.Since(t1))
				}
				mark := " "
				if pr != yr {
					mark = "!"
					diffs++
					t.Errorf("%s: postfix %q, yubin %q", c.name, pr, yr)
				}
				fmt.Fprintf(&table, "%s %-38s %s\n", mark, c.name, pr)
			}
			t.Logf("replies (Postfix's; ! where yubin differs: %d):\n%s", diffs, table.String())
		})
	}
}

// startMIMEYubin runs an smtp.Server with a Policy made from params.
func startMIMEYubin(t *testing.T, params restrict.Params) string {
	t.Helper()
	p, err := restrict.New(params, restrict.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv := &smtp.Server{
		Hostname:        "mx.example.test",
		Policy:          p,
		MaxErrors:       10000,
		SoftErrorLimit:  -1,
		MaxJunkCommands: -1,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Backend: smtp.DataFunc(func(ctx context.Context, env *smtp.Envelope, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l.Addr().String()
}

// mimeClient is one SMTP session that sends message after message.
type mimeClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialMIME(t *testing.T, addr string) *mimeClient {
	t.Helper()
	// Postfix's master opens the ports of new services after a reload
	// at its own pace.
	var c net.Conn
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err = net.DialTimeout("tcp", addr, 5*time.Second); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	mc := &mimeClient{t: t, c: c, r: bufio.NewReader(c)}
	mc.reply()
	mc.cmd("EHLO client.example.org")
	return mc
}

// reply reads one (possibly multi-line) reply and returns its last line.
func (m *mimeClient) reply() string {
	m.t.Helper()
	m.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		l, err := m.r.ReadString('\n')
		if err != nil {
			m.t.Fatalf("read reply: %v", err)
		}
		l = strings.TrimRight(l, "\r\n")
		if len(l) < 4 || l[3] != '-' {
			return l
		}
	}
}

func (m *mimeClient) cmd(line string) string {
	m.t.Helper()
	m.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(m.c, line+"\r\n"); err != nil {
		m.t.Fatal(err)
	}
	return m.reply()
}

// send sends one message and returns the reply to its end, with the
// queue ID of a 250 left out.
func (m *mimeClient) send(msg string) string {
	m.t.Helper()
	for _, c := range []string{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.jp>"} {
		if r := m.cmd(c); !strings.HasPrefix(r, "250") {
			m.t.Fatalf("%s: %s", c, r)
		}
	}
	if r := m.cmd("DATA"); !strings.HasPrefix(r, "354") {
		m.t.Fatalf("DATA: %s", r)
	}
	var b strings.Builder
	for _, l := range strings.SplitAfter(msg, "\r\n") {
		if strings.HasPrefix(l, ".") {
			b.WriteByte('.')
		}
		b.WriteString(l)
	}
	b.WriteString(".\r\n")
	m.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	go io.WriteString(m.c, b.String())
	r := m.reply()
	if strings.HasPrefix(r, "250") {
		return "250"
	}
	return r
}

func (m *mimeClient) close() {
	m.cmd("QUIT")
	m.c.Close()
}
