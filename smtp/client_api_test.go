package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestClientNewClientHost: a connection the caller dialled from a chosen
// address becomes a Client; StartTLS verifies the certificate against
// the host named, and ConnectionState and the addresses are reported.
func TestClientNewClientHost(t *testing.T) {
	f := testutil.NewTLS(t)
	addr, _ := startServer(t, &Server{TLSConfig: f.ServerConfig()}, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		host string
		ok   bool
	}{{"localhost", true}, {"mx.example.jp", false}} {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewClientHost(ctx, conn, tc.host)
		if err != nil {
			t.Fatal(err)
		}
		if c.RemoteAddr().String() != addr || c.LocalAddr().String() != conn.LocalAddr().String() {
			t.Fatalf("addresses %v %v", c.RemoteAddr(), c.LocalAddr())
		}
		if _, ok := c.ConnectionState(); ok {
			t.Fatal("TLS state before STARTTLS")
		}
		if err := c.Hello(ctx, "client.example.jp"); err != nil {
			t.Fatal(err)
		}
		err = c.StartTLS(ctx, &tls.Config{RootCAs: f.Pool})
		if (err == nil) != tc.ok {
			t.Fatalf("host %s: StartTLS = %v", tc.host, err)
		}
		if tc.ok {
			st, ok := c.ConnectionState()
			if !ok || st.Version < tls.VersionTLS12 || len(st.PeerCertificates) == 0 {
				t.Fatalf("ConnectionState %+v %v", st, ok)
			}
			if err := c.Noop(ctx); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
	}
}

// TestClientDialerTimeouts: the Dialer's per-phase timeouts reach the
// client: a server that greets and then never answers EHLO fails Hello
// after Timeouts.Helo, not after Timeout.
func TestClientDialerTimeouts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("220 slow ESMTP\r\n"))
		bufio.NewReader(c).ReadString('\n')
		time.Sleep(3 * time.Second)
	}()
	d := &Dialer{Timeout: time.Minute, Timeouts: Timeouts{Connect: time.Second, Helo: 200 * time.Millisecond},
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	ctx := context.Background()
	c, err := d.Dial(ctx, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = c.Hello(ctx, "client.example.jp")
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "EHLO") || time.Since(start) > 2*time.Second {
		t.Fatalf("Hello = %v after %v", err, time.Since(start))
	}
}

// TestClientRefusesBadFields: values outside the grammar never leave
// the client, and the errors say which field.
func TestClientRefusesBadFields(t *testing.T) {
	addr, _ := startServer(t, &Server{}, nil)
	ctx := context.Background()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"", "a b", "a\r\nRSET", "<x>", "[1.2.3.4"} {
		if err := c.Hello(ctx, name); !errors.Is(err, ErrInvalidField) {
			t.Errorf("Hello(%q) = %v", name, err)
		}
	}
	if err := c.Hello(ctx, "client.example.jp"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from string
		opts MailOptions
	}{
		{`"a\"@x.example`, MailOptions{}},
		{"a b@x.example", MailOptions{}},
		{"a>@x.example", MailOptions{}},
		{"a@x.example", MailOptions{Body: "9BIT"}},
		{"a@x.example", MailOptions{Ret: "ALL"}},
		{"a@x.example", MailOptions{EnvID: "a b"}},
		{"a@x.example", MailOptions{EnvID: "a+zz"}},
		{"a@x.example", MailOptions{Auth: "a=b"}},
		{"a@x.example", MailOptions{Size: -1}},
	} {
		_, err := c.Send(ctx, tc.from, []Recipient{{Addr: "b@example.org"}}, &tc.opts, strings.NewReader("x\r\n"))
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%q %+v: %v", tc.from, tc.opts, err)
		}
	}
	res, err := c.Send(ctx, "a@x.example", []Recipient{
		{Addr: "b@example.org", Opts: RcptOptions{Notify: "NEVER,SUCCESS"}},
		{Addr: "c@example.org", Opts: RcptOptions{ORcpt: "rfc822;c d@example.org"}},
		{Addr: "d@@example.org"},
	}, nil, strings.NewReader("x\r\n"))
	var e *Error
	if !errors.As(err, &e) || e.Code != 554 || len(res.Rcpt) != 3 {
		t.Fatalf("all recipients invalid: %+v %v", res, err)
	}
	for i, re := range res.Rcpt {
		if !errors.Is(re, ErrInvalidField) {
			t.Errorf("recipient %d: %v", i, re)
		}
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := EncodeXtext("a+b=c d\x00é"); got != "a+2Bb+3Dc+20d+00+C3+A9" {
		t.Fatalf("EncodeXtext = %q", got)
	}
}
