package smtp

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// bareCRBody is message content with bare CRs where a lenient next hop
// could see a line end: "\r.\r\n" (an end of data to a server that ends
// lines at CR), a lone CR inside a line, and CR CR LF.
const bareCRBody = "Subject: bare CR\r\n\r\nline one\r.\r\nafter\r\nin\rside\r\ncrcr\r\r\n"

// TestPostfixBareCR sends content with bare CRs through the real
// Postfix 3.7 (smtpd, queue, smtp client relaying into yubin's server)
// and straight into yubin's server, and compares what arrives: neither
// takes a CR for a line end ("\r.\r\n" does not end DATA), both store a
// CR inside a line as a space and the CRs before a line's LF as one
// line end, so no bare CR is ever passed on.
func TestPostfixBareCR(t *testing.T) {
	k := &sink{}
	s := &Server{Backend: DataFunc(k.Data), NoReceivedHeader: true}
	addr, _ := startServer(t, s, nil)
	_, yport, _ := net.SplitHostPort(addr)
	p := testutil.StartSMTPPostfix(t, fmt.Sprintf("relayhost = [127.0.0.1]:%s\nsmtp_tls_security_level = none\n", yport))

	send := func(addr string) {
		c := dialRaw(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO client.example", "250")
		c.expect("MAIL FROM:<a@client.example>", "250 ")
		c.expect("RCPT TO:<b@remote.example>", "250 ")
		c.expect("DATA", "354 ")
		c.send(bareCRBody + ".\r\n")
		c.expect("", "250 ")
		c.expect("QUIT", "221 ")
	}
	send(addr)
	send(p.Addr())
	p.WaitLog(t, "status=sent", 20*time.Second)
	for deadline := time.Now().Add(5 * time.Second); len(k.list()) < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	msgs := k.list()
	if len(msgs) != 2 {
		t.Fatalf("%d messages arrived", len(msgs))
	}
	direct := msgs[0].data
	viaPostfix := msgs[1].data
	// Postfix adds its Received, Message-Id, Date, From and To headers;
	// compare from the Subject on.
	if i := bytes.Index(viaPostfix, []byte("Subject: bare CR")); i >= 0 {
		viaPostfix = viaPostfix[i:]
	}
	body := func(b []byte) string {
		_, after, _ := strings.Cut(string(b), "\r\n\r\n")
		return after
	}
	if body(direct) != body(viaPostfix) {
		t.Fatalf("bodies differ:\nyubin:   %q\nPostfix: %q", body(direct), body(viaPostfix))
	}
	if want := "line one .\r\nafter\r\nin side\r\ncrcr\r\n"; body(direct) != want {
		t.Fatalf("yubin stored %q, want %q", body(direct), want)
	}
}

// TestPostfixBDATBareCR: the same for a message sent with BDAT, in two
// chunks split between a CR and its LF: Postfix's smtpd applies DATA's
// line discipline to BDAT text (bare CR to space, bare LF to CRLF), and
// so does yubin's server for a message that is not BINARYMIME.
func TestPostfixBDATBareCR(t *testing.T) {
	k := &sink{}
	s := &Server{Backend: DataFunc(k.Data), NoReceivedHeader: true}
	addr, _ := startServer(t, s, nil)
	_, yport, _ := net.SplitHostPort(addr)
	p := testutil.StartSMTPPostfix(t, fmt.Sprintf("relayhost = [127.0.0.1]:%s\nsmtp_tls_security_level = none\n", yport))
	const msg = "Subject: bdat\r\n\r\nline one\r.\r\nin\rside\r\nlf\nsplit\r\nend\r\n"
	cut := strings.Index(msg, "split\r") + len("split\r")
	send := func(addr string) {
		c := dialRaw(t, addr)
		c.expect("", "220 ")
		c.expect("EHLO client.example", "250")
		c.expect("MAIL FROM:<a@client.example>", "250 ")
		c.expect("RCPT TO:<b@remote.example>", "250 ")
		c.send(fmt.Sprintf("BDAT %d\r\n%s", cut, msg[:cut]))
		c.expect("", "250 ")
		c.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg)-cut, msg[cut:]))
		c.expect("", "250 ")
		c.expect("QUIT", "221 ")
	}
	send(addr)
	send(p.Addr())
	p.WaitLog(t, "status=sent", 20*time.Second)
	for deadline := time.Now().Add(5 * time.Second); len(k.list()) < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	msgs := k.list()
	if len(msgs) != 2 {
		t.Fatalf("%d messages arrived", len(msgs))
	}
	body := func(b []byte) string {
		_, after, _ := strings.Cut(string(b), "\r\n\r\n")
		return after
	}
	if d, v := body(msgs[0].data), body(msgs[1].data); d != v || d != "line one .\r\nin side\r\nlf\r\nsplit\r\nend\r\n" {
		t.Fatalf("yubin stored %q, Postfix passed on %q", d, v)
	}
}
