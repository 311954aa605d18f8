package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

func TestClientAgainstServer(t *testing.T) {
	for _, ext := range []Extensions{DefaultExtensions, DefaultExtensions &^ (ExtChunking | ExtPipelining), ExtEnhancedStatusCodes} {
		f := testutil.NewTLS(t)
		k := &sink{}
		s := NewSubmission("mail.example.jp", f.ServerConfig(), interopAuth(t), nil, DataFunc(k.Data))
		s.Ext = ext
		addr, _ := startServer(t, s, nil)
		ctx := context.Background()
		c, err := Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if c.Greeting != "mail.example.jp ESMTP" {
			t.Fatalf("greeting %q", c.Greeting)
		}
		if err := c.Hello(ctx, "client.example.jp"); err != nil {
			t.Fatal(err)
		}
		if !c.Extensions().Has(ExtStartTLS) || c.Extensions().Has(ExtAuth) {
			t.Fatalf("before TLS: %b", c.Extensions())
		}
		err = c.SendMail(ctx, "a@example.jp", []string{"b@example.org"}, strings.NewReader("x\r\n"))
		var e *Error
		if !errors.As(err, &e) || e.Code != 530 || e.Enhanced != (Enhanced{5, 7, 0}) {
			t.Fatalf("MAIL before STARTTLS: %v", err)
		}
		if err := c.StartTLS(ctx, f.ClientConfig()); err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(ctx, sasl.NewPlainClient("", "alice", "wrong")); !errors.As(err, &e) || e.Code != 535 {
			t.Fatalf("wrong password: %v", err)
		}
		if err := c.Auth(ctx, sasl.NewLoginClient("alice", "secret")); err != nil {
			t.Fatal(err)
		}
		body := "Subject: client\n\n.leading dot\nline\n"
		opts := &MailOptions{Size: int64(len(body))}
		if ext.Has(Ext8BitMIME) {
			opts.Body = "8BITMIME"
		}
		res, err := c.Send(ctx, "a@example.jp", []Recipient{{Addr: "b@example.org", Opts: RcptOptions{Notify: "NEVER"}}, {Addr: "bad@"}, {Addr: "c@example.org"}},
			opts, strings.NewReader(body))
		if err != nil || res.Rcpt[0] != nil || res.Rcpt[1] == nil || res.Rcpt[2] != nil || !strings.HasPrefix(res.Reply, "Ok: queued as") {
			t.Fatalf("ext %b: Send = %+v, %v", ext, res, err)
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
		msgs := k.list()
		if len(msgs) != 1 || len(msgs[0].env.To) != 2 || msgs[0].env.Conn.AuthUser != "alice" {
			t.Fatalf("delivered %+v", msgs)
		}
		// DATA and BDAT alike send CRLF lines.
		want := "Subject: client\r\n\r\n.leading dot\r\nline\r\n"
		if got := string(msgs[0].data); !strings.HasSuffix(got, "\r\n"+want) {
			t.Fatalf("ext %b: data %q", ext, got)
		}
		if ext.Has(ExtDSN) && msgs[0].env.To[0].Opts.Notify != "NEVER" {
			t.Fatalf("NOTIFY lost: %+v", msgs[0].env.To)
		}
	}
}

type fakeResolver struct {
	mx    map[string][]*net.MX
	hosts map[string][]string
}

func (r fakeResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if mx, ok := r.mx[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r fakeResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	if h, ok := r.hosts[host]; ok {
		return h, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestLookupMX(t *testing.T) {
	r := fakeResolver{
		mx: map[string][]*net.MX{
			"example.jp":  {{Host: "mx2.example.jp.", Pref: 20}, {Host: "mx1.example.jp.", Pref: 10}},
			"nomail.test": {{Host: ".", Pref: 0}},
		},
		hosts: map[string][]string{"a-only.test": {"192.0.2.1"}, "localhost.test": {"127.0.0.1"}},
	}
	ctx := context.Background()
	if h, err := LookupMX(ctx, r, "example.jp"); err != nil || strings.Join(h, ",") != "mx1.example.jp,mx2.example.jp" {
		t.Fatalf("MX order: %v %v", h, err)
	}
	if _, err := LookupMX(ctx, r, "nomail.test"); err != ErrNullMX {
		t.Fatalf("null MX: %v", err)
	}
	if h, err := LookupMX(ctx, r, "a-only.test"); err != nil || len(h) != 1 || h[0] != "a-only.test" {
		t.Fatalf("A fallback: %v %v", h, err)
	}
	if _, err := LookupMX(ctx, r, "nothing.test"); err == nil {
		t.Fatal("no MX and no A: no error")
	}
	// DialMX reaches a server through the fallback.
	addr, _ := startServer(t, &Server{}, nil)
	host, p, _ := net.SplitHostPort(addr)
	r.hosts["localhost.test"] = []string{host}
	r.mx["mx.test"] = []*net.MX{{Host: "127.0.0.1", Pref: 1}}
	c, err := DialMX(ctx, r, "mx.test", p)
	if err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)
}

// startSmtpSink runs Postfix's smtp-sink on 127.0.0.1, dumping each
// transaction into a file under the returned directory. testutil
// starts it again on another port when another program took the first
// one before smtp-sink bound it.
func startSmtpSink(t *testing.T, extra ...string) (addr, dir string) {
	t.Helper()
	dir = testutil.SharedDir(t)
	s := testutil.StartSmtpSinkConfig(t, testutil.SmtpSinkConfig{Options: extra, DumpTemplate: filepath.Join(dir, "msg-")})
	return s.Addr, dir
}

func dumped(t *testing.T, dir string, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < 200; i++ {
		files, _ := filepath.Glob(filepath.Join(dir, "msg-*"))
		if len(files) >= n {
			for _, f := range files {
				b, _ := os.ReadFile(f)
				out = append(out, string(b))
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("smtp-sink dumped fewer than %d messages", n)
	return nil
}

// TestPostfixSmtpSinkClient sends with yubin's client to Postfix's
// smtp-sink, with PIPELINING and without, with DSN and SMTPUTF8.
func TestPostfixSmtpSinkClient(t *testing.T) {
	for i, extra := range [][]string{nil, {"-p"}} {
		addr, dir := startSmtpSink(t, extra...)
		ctx := context.Background()
		c, err := Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Hello(ctx, "client.example.jp"); err != nil {
			t.Fatal(err)
		}
		if i == 0 && !c.Extensions().Has(ExtPipelining|Ext8BitMIME|ExtDSN) {
			t.Fatalf("smtp-sink extensions %b", c.Extensions())
		}
		if i == 1 && c.Extensions().Has(ExtPipelining) {
			t.Fatal("-p still offers PIPELINING")
		}
		body := "From: a@example.jp\r\nSubject: to smtp-sink\r\n\r\n.dot\r\nbody\r\n"
		opts := &MailOptions{Ret: "HDRS", EnvID: "abc"}
		if c.Extensions().Has(Ext8BitMIME) {
			opts.Body = "8BITMIME"
		}
		res, err := c.Send(ctx, "a@example.jp", []Recipient{{Addr: "b@example.org", Opts: RcptOptions{Notify: "SUCCESS"}}, {Addr: "c@example.org"}},
			opts, strings.NewReader(body))
		if err != nil || res.Rcpt[0] != nil || res.Rcpt[1] != nil {
			t.Fatalf("Send = %+v, %v", res, err)
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
		d := dumped(t, dir, 1)[0]
		for _, want := range []string{"X-Client-Proto: ESMTP", "X-Rcpt-Args: <c@example.org>", "Subject: to smtp-sink", "\n.dot\n"} {
			if !strings.Contains(d, want) {
				t.Errorf("dump lacks %q:\n%s", want, d)
			}
		}
	}
}

// TestClientPipelinedBDAT: the first BDAT chunk goes out with MAIL and
// RCPT. When every recipient is refused the chunk is refused too and the
// session stays in step; a message over ChunkSize continues in more
// chunks after the pipelined one.
func TestClientPipelinedBDAT(t *testing.T) {
	k := &sink{}
	pol := PolicyFunc(func(ctx context.Context, st restrict.Stage, req *restrict.Request) (restrict.Decision, error) {
		if st == StageRecipient && !strings.HasSuffix(req.Recipient, "@example.jp") {
			return restrict.Decision{Action: restrict.Reject, Code: 554, Enhanced: "5.7.1", Text: "<" + req.Recipient + ">: Relay access denied"}, nil
		}
		return restrict.Decision{}, nil
	})
	addr, _ := startServer(t, &Server{Backend: DataFunc(k.Data), Policy: pol, NoReceivedHeader: true}, nil)
	ctx := context.Background()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello(ctx, "client.example.org"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Send(ctx, "a@example.org", []Recipient{{Addr: "x@elsewhere.example"}}, nil, strings.NewReader("refused\r\n"))
	var e *Error
	if !errors.As(err, &e) || e.Code != 554 || res == nil || res.Rcpt[0] == nil {
		t.Fatalf("all refused: %+v, %v", res, err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatalf("out of step after refused chunk: %v", err)
	}
	small := "Subject: small\r\n\r\nbody\r\n"
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", ChunkSize/18+100)
	for _, m := range []string{small, big, strings.Repeat("y", ChunkSize)} {
		if err := c.SendMail(ctx, "a@example.org", []string{"u@example.jp"}, strings.NewReader(m)); err != nil {
			t.Fatalf("%d bytes: %v", len(m), err)
		}
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := k.list()
	if len(msgs) != 3 || string(msgs[0].data) != small || string(msgs[1].data) != big || len(msgs[2].data) != ChunkSize || !msgs[1].env.Chunked {
		t.Fatalf("delivered %d messages", len(msgs))
	}
}

// TestClientTLSPolicy: TLSMay encrypts when offered (certificate not
// verified) and sends in plaintext when not; TLSEncrypt refuses a server
// without STARTTLS and one whose certificate does not verify.
func TestClientTLSPolicy(t *testing.T) {
	f := testutil.NewTLS(t)
	withTLS, _ := startServer(t, &Server{TLSConfig: f.ServerConfig()}, nil)
	plain, _ := startServer(t, &Server{}, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		addr    string
		policy  TLSPolicy
		config  *tls.Config
		wantTLS bool
		wantErr bool
	}{
		{withTLS, TLSMay, nil, true, false},
		{plain, TLSMay, nil, false, false},
		{withTLS, TLSNone, nil, false, false},
		{withTLS, TLSEncrypt, f.ClientConfig(), true, false},
		{withTLS, TLSEncrypt, nil, false, true}, // self-signed: no verification
		{plain, TLSEncrypt, f.ClientConfig(), false, true},
	} {
		c, err := Dial(ctx, tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		err = c.HelloTLS(ctx, "client.example.jp", tc.policy, tc.config)
		if (err != nil) != tc.wantErr || err == nil && c.TLS() != tc.wantTLS {
			t.Errorf("policy %d on %s: err %v, TLS %v", tc.policy, tc.addr, err, c.TLS())
		}
		if err == nil {
			if err := c.Noop(ctx); err != nil {
				t.Errorf("policy %d: %v", tc.policy, err)
			}
		}
		c.Close()
	}
}
