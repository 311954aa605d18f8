package lmtp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestLMTPClientSendOpts: SendOpts takes smtp.Client.Send's options and
// returns per-recipient results and replies: a refused recipient, an
// address the client will not send (a FieldError that is also a 501
// 5.1.3 *Error) and delivered ones, whose LMTP replies are kept. The
// content's bare LF and bare CR lines arrive as CRLF lines.
func TestLMTPClientSendOpts(t *testing.T) {
	dir := t.TempDir()
	f := testutil.NewTLS(t)
	addr, _ := startLMTP(t, &Server{Deliverer: maildirs(t, dir), TLSConfig: f.ServerConfig()}, nil)
	ctx := context.Background()
	// The caller dials (here from 127.0.0.1) and names the host the
	// certificate is checked against.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ctx, conn, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Timeouts = Timeouts{Helo: 5 * time.Second, DataDone: 5 * time.Second}
	if c.RemoteAddr().String() != addr {
		t.Fatalf("RemoteAddr %v", c.RemoteAddr())
	}
	if err := c.Hello(ctx, "mx.example.jp"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(ctx, &tls.Config{RootCAs: f.Pool}); err != nil {
		t.Fatalf("StartTLS verifying localhost: %v", err)
	}
	if st, ok := c.ConnectionState(); !ok || !st.HandshakeComplete || len(st.VerifiedChains) == 0 {
		t.Fatalf("ConnectionState %+v %v", st, ok)
	}
	msg := "Subject: opts\n\nline one\rline two\r\n.dot\n"
	res, err := c.SendOpts(ctx, "s@example.org", []Recipient{
		{Addr: "alice@example.jp", Opts: RcptOptions{Notify: "SUCCESS,FAILURE", ORcpt: "rfc822;alice@example.jp"}},
		{Addr: "ghost@example.jp"},
		{Addr: "bad\r\nRSET@example.jp"},
		{Addr: "bob@example.jp"},
	}, &MailOptions{Size: int64(len(msg)), Body: "8BITMIME", Ret: "HDRS", EnvID: "ID+2B1"}, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	var fe *FieldError
	if res.Rcpt[0] != nil || res.Rcpt[3] != nil ||
		!errors.As(res.Rcpt[1], &e) || e.Code != 550 ||
		!errors.As(res.Rcpt[2], &fe) || !errors.As(res.Rcpt[2], &e) || e.Code != 501 || e.Enhanced != (Enhanced{5, 1, 3}) {
		t.Fatalf("results %v", res.Rcpt)
	}
	if res.Replies[0] == nil || res.Replies[0].Code != 250 || res.Replies[1].Code != 550 || res.Replies[2] != nil || res.Reply == "" {
		t.Fatalf("replies %+v, reply %q", res.Replies, res.Reply)
	}
	c.Quit(ctx)
	got := files(t, filepath.Join(dir, "alice", "Maildir"))
	if len(got) != 1 || !strings.HasSuffix(got[0], "Subject: opts\r\n\r\nline one\r\nline two\r\n.dot\r\n") {
		t.Fatalf("delivered %q", got)
	}
}

// TestLMTPClientVerifiesNamedHost: the name given to NewClient is what
// the certificate must match.
func TestLMTPClientVerifiesNamedHost(t *testing.T) {
	f := testutil.NewTLS(t)
	addr, _ := startLMTP(t, &Server{Deliverer: maildirs(t, t.TempDir()), TLSConfig: f.ServerConfig()}, nil)
	ctx := context.Background()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ctx, conn, "mx.example.jp")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Hello(ctx, "client.example.jp")
	if err := c.StartTLS(ctx, &tls.Config{RootCAs: f.Pool}); err == nil {
		t.Fatal("certificate for localhost accepted as mx.example.jp")
	}
}
