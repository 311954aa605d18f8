package smtpwire

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestParseExtensions(t *testing.T) {
	got := ParseExtensions([]string{"PIPELINING", "size 10485760", "AUTH=PLAIN LOGIN", "8BITMIME", "X-FOO  a   b", "bad_kw x", "-BAD", "", "DSN"})
	want := map[string]string{"PIPELINING": "", "SIZE": "10485760", "AUTH": "PLAIN LOGIN", "8BITMIME": "", "X-FOO": "a b", "DSN": ""}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	// An AUTH line wins over the old AUTH= form.
	if got := ParseExtensions([]string{"AUTH=LOGIN", "AUTH PLAIN CRAM-MD5"}); got["AUTH"] != "PLAIN CRAM-MD5" {
		t.Fatalf("AUTH = %q", got["AUTH"])
	}
}

func TestParseEnhanced(t *testing.T) {
	for s, want := range map[string]Enhanced{"5.7.1": {5, 7, 1}, "2.0.0": {2, 0, 0}, "4.123.999": {4, 123, 999},
		"": {}, "5.7": {}, "3.0.0": {}, "5.7.1x": {}, "5..1": {}, "5.7.1000": {}, "+5.7.1": {}} {
		if got := ParseEnhanced(s); got != want {
			t.Errorf("ParseEnhanced(%q) = %v", s, got)
		}
	}
	if (Enhanced{5, 1, 1}).String() != "5.1.1" || (Enhanced{}).String() != "" {
		t.Fatal("String")
	}
}

// script is a raw server: for each line received it writes the reply
// the func returns (nothing when ""), recording the lines.
func script(t *testing.T, greet string, reply func(line string) string) (addr string, lines func() []string) {
	var mu sync.Mutex
	var got []string
	addr = rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		c.Write([]byte(greet))
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimSuffix(l, "\r\n")
			mu.Lock()
			got = append(got, l)
			mu.Unlock()
			if r := reply(l); r != "" {
				c.Write([]byte(r))
			}
		}
	})
	return addr, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

// TestClientHELOFallback: an SMTP server that refuses EHLO gets HELO,
// and the client then uses no extension (no pipelining, no DSN
// parameters).
func TestClientHELOFallback(t *testing.T) {
	addr, lines := script(t, "220 old\r\n", func(l string) string {
		switch {
		case strings.HasPrefix(l, "EHLO"):
			return "502 5.5.2 Error: command not recognized\r\n"
		case l == "DATA":
			return "354 go\r\n"
		case l == ".":
			return "250 2.0.0 Ok: queued\r\n"
		case strings.HasPrefix(l, "QUIT"):
			return "221 bye\r\n"
		case strings.HasPrefix(l, "Subject"), l == "", l == "body":
			return ""
		}
		return "250 ok\r\n"
	})
	c := dialEngine(t, addr, false)
	if len(c.Extensions()) != 0 {
		t.Fatalf("extensions after HELO: %v", c.Extensions())
	}
	res, err := c.Send(context.Background(), "a@example.jp", []Recipient{{Addr: "b@example.org", Opts: RcptOptions{Notify: "NEVER"}}},
		&MailOptions{EnvID: "x", Ret: "HDRS"}, strings.NewReader("Subject: s\r\n\r\nbody\r\n"))
	if err != nil || res.Rcpt[0] != nil || res.Reply != "Ok: queued" {
		t.Fatalf("%+v %v", res, err)
	}
	c.Quit(context.Background())
	want := []string{"EHLO client.example.jp", "HELO client.example.jp", "MAIL FROM:<a@example.jp>", "RCPT TO:<b@example.org>", "DATA", "Subject: s", "", "body", ".", "QUIT"}
	if got := lines(); !reflect.DeepEqual(got, want) {
		t.Fatalf("conversation %q", got)
	}
}

// TestClientAuthContinuations: a long initial response goes after an
// empty 334; a challenge that is not base64 cancels with "*".
func TestClientAuthContinuations(t *testing.T) {
	long := strings.Repeat("x", 600)
	addr, lines := script(t, "220 mx\r\n", func(l string) string {
		switch {
		case strings.HasPrefix(l, "EHLO"):
			return "250-mx\r\n250 AUTH PLAIN X-BAD\r\n"
		case l == "AUTH PLAIN":
			return "334 \r\n"
		case l == "AUTH X-BAD":
			return "334 not%base64\r\n"
		case l == "*":
			return "501 5.7.0 Authentication aborted\r\n"
		case l == base64.StdEncoding.EncodeToString([]byte(long)):
			return "235 2.7.0 Authentication successful\r\n"
		}
		return "535 5.7.8 no\r\n"
	})
	c := dialEngine(t, addr, false)
	ctx := context.Background()
	if err := c.Auth(ctx, &fakeSASL{mech: "PLAIN", ir: []byte(long)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(ctx, &fakeSASL{mech: "X-BAD"}); err == nil || !strings.Contains(err.Error(), "not base64") {
		t.Fatalf("bad challenge: %v", err)
	}
	// The session is in step: NOOP gets its own reply (the script's 535).
	var e *Error
	if err := c.Noop(ctx); !errors.As(err, &e) || e.Code != 535 {
		t.Fatalf("after cancelled AUTH: %v", err)
	}
	got := lines()
	if got[1] != "AUTH PLAIN" || got[len(got)-2] != "*" {
		t.Fatalf("conversation %q", got)
	}
}

// TestClient421: a 421 reply closes the connection (RFC 5321 3.8); the
// transaction fails with it and later calls get it too, as a temporary
// *Error that also says the client is closed.
func TestClient421(t *testing.T) {
	for _, pipelining := range []bool{false, true} {
		addr, _ := script(t, "220 mx\r\n", func(l string) string {
			switch {
			case strings.HasPrefix(l, "EHLO") && pipelining:
				return "250-mx\r\n250 PIPELINING\r\n"
			case strings.HasPrefix(l, "EHLO"):
				return "250 mx\r\n"
			case strings.HasPrefix(l, "MAIL"):
				return "421 4.3.2 Service shutting down\r\n"
			}
			return ""
		})
		c := dialEngine(t, addr, false)
		ctx := context.Background()
		_, err := c.Send(ctx, "a@example.jp", []Recipient{{Addr: "b@example.org"}}, nil, strings.NewReader("x\r\n"))
		var e *Error
		if !errors.As(err, &e) || e.Code != 421 || !e.Temporary() {
			t.Fatalf("pipelining %v: Send = %v", pipelining, err)
		}
		err = c.Noop(ctx)
		if !errors.As(err, &e) || e.Code != 421 || !errors.Is(err, ErrClientClosed) {
			t.Fatalf("pipelining %v: Noop after 421 = %v", pipelining, err)
		}
	}
}
