package smtpwire

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
)

// injections are what a caller value might carry to add a command.
var injections = []string{"\r\nRSET", "\nRSET", "\rRSET", "\x00", "\r\nRSET\r\n", "\x00\r\nRSET"}

// fakeSASL is a SASL client with a chosen mechanism name and responses.
type fakeSASL struct {
	mech string
	ir   []byte
	next []byte
}

func (f *fakeSASL) Start() (string, []byte, error)   { return f.mech, f.ir, nil }
func (f *fakeSASL) Next(chal []byte) ([]byte, error) { return f.next, nil }

var _ sasl.Client = (*fakeSASL)(nil)

// injectionCase is one caller field with an injection in it: run tries
// it on a client that has said EHLO and reports how it went.
type injectionCase struct {
	field string
	// run returns the error the client gave for the field; for a
	// recipient field, that recipient's error.
	run func(ctx context.Context, c *Client, p string) error
	// accepted: the payload is carried safely (base64) and the command
	// succeeds.
	accepted bool
}

const testMsg = "Subject: injection test\r\n\r\nbody\r\n"

// sendWith sends testMsg from from to the recipients, returning err, or
// the first recipient's error when the transaction succeeded.
func sendWith(ctx context.Context, c *Client, from string, to []Recipient, o *MailOptions) error {
	res, err := c.Send(ctx, from, to, o, strings.NewReader(testMsg))
	if err != nil {
		return err
	}
	if res.Rcpt[1] != nil {
		return errors.New("the valid recipient failed: " + res.Rcpt[1].Error())
	}
	return res.Rcpt[0]
}

func okRcpt(r Recipient) []Recipient { return []Recipient{r, {Addr: "ok@example.org"}} }

var injectionCases = []injectionCase{
	{field: "EHLO name", run: func(ctx context.Context, c *Client, p string) error {
		return c.Hello(ctx, "client.example.jp"+p)
	}},
	{field: "sender", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a"+p+"@example.jp", okRcpt(Recipient{Addr: "b@example.org"}), nil)
	}},
	{field: "sender end", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp"+p, okRcpt(Recipient{Addr: "b@example.org"}), nil)
	}},
	{field: "quoted sender", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, `"a`+p+`"@example.jp`, okRcpt(Recipient{Addr: "b@example.org"}), nil)
	}},
	{field: "sender literal", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@[192.0.2.1"+p+"]", okRcpt(Recipient{Addr: "b@example.org"}), nil)
	}},
	{field: "recipient", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp", okRcpt(Recipient{Addr: "b@example.org" + p}), nil)
	}},
	{field: "quoted recipient", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp", okRcpt(Recipient{Addr: `"b` + p + `"@example.org`}), nil)
	}},
	{field: "BODY", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp", okRcpt(Recipient{Addr: "b@example.org"}), &MailOptions{Body: "8BITMIME" + p})
	}},
	{field: "RET", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp", okRcpt(Recipient{Addr: "b@example.org"}), &MailOptions{Ret: "HDRS" + p})
	}},
	{field: "ENVID", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp", okRcpt(Recipient{Addr: "b@example.org"}), &MailOptions{EnvID: "QQ314159" + p})
	}},
	{field: "AUTH=", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp", okRcpt(Recipient{Addr: "b@example.org"}), &MailOptions{Auth: "a@example.jp" + p})
	}},
	{field: "NOTIFY", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp", okRcpt(Recipient{Addr: "b@example.org", Opts: RcptOptions{Notify: "SUCCESS" + p}}), nil)
	}},
	{field: "ORCPT", run: func(ctx context.Context, c *Client, p string) error {
		return sendWith(ctx, c, "a@example.jp", okRcpt(Recipient{Addr: "b@example.org", Opts: RcptOptions{ORcpt: "rfc822;b@example.org" + p}}), nil)
	}},
	{field: "SASL mechanism", run: func(ctx context.Context, c *Client, p string) error {
		return c.Auth(ctx, &fakeSASL{mech: "PLAIN" + p, ir: []byte("\x00u\x00p")})
	}},
	{field: "SASL initial response", accepted: true, run: func(ctx context.Context, c *Client, p string) error {
		return c.Auth(ctx, &fakeSASL{mech: "PLAIN", ir: []byte("\x00u\x00p" + p)})
	}},
	{field: "SASL response", accepted: true, run: func(ctx context.Context, c *Client, p string) error {
		return c.Auth(ctx, &fakeSASL{mech: "LOGIN", next: []byte("user" + p)})
	}},
}

// runInjections tries every field with every injection on one session
// to addr, asserting the client refuses each (or carries it safely) and
// stays in step. It returns the number of messages sent.
func runInjections(t *testing.T, addr string, lmtp bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := Dial(ctx, "tcp", addr, Timeouts{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(conn, "127.0.0.1", lmtp)
	defer c.Close()
	if err := c.Greet(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(ctx, "client.example.jp"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range injectionCases {
		if lmtp && strings.HasPrefix(tc.field, "SASL") {
			continue
		}
		for _, p := range injections {
			err := tc.run(ctx, c, p)
			if tc.accepted {
				if err != nil {
					t.Errorf("%s %q: %v", tc.field, p, err)
				}
				continue
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidField) {
				t.Errorf("%s %q: got %v, want a FieldError", tc.field, p, err)
			}
			if err := c.Noop(ctx); err != nil {
				t.Fatalf("%s %q: out of step: %v", tc.field, p, err)
			}
		}
	}
	// The session still works: one clean message.
	res, err := c.Send(ctx, "a@example.jp", []Recipient{{Addr: "b@example.org"}}, nil, strings.NewReader(testMsg))
	if err != nil || res.Rcpt[0] != nil {
		t.Fatalf("clean message: %+v %v", res, err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestClientInjection: no field of any command carries CR, LF or NUL to
// the server (a raw listener that records every byte, and that would
// take a bare CR or LF as a line end).
func TestClientInjection(t *testing.T) {
	for _, lmtp := range []bool{false, true} {
		r := startRecorder(t, lmtp, "PIPELINING", "8BITMIME", "DSN", "SMTPUTF8", "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES")
		runInjections(t, r.addr(), lmtp)
		r.assertNoInjection(t)
		// Each refused recipient leaves the other one delivered: one
		// message per recipient case, plus the clean one.
		if n := len(r.messages()); n != 1+4*len(injections) {
			t.Errorf("lmtp=%v: %d messages received, want %d", lmtp, n, 1+4*len(injections))
		}
	}
}

// TestClientInjectionNoPipelining runs the cases one command at a time.
func TestClientInjectionNoPipelining(t *testing.T) {
	r := startRecorder(t, false, "8BITMIME", "DSN", "SMTPUTF8", "AUTH PLAIN LOGIN")
	runInjections(t, r.addr(), false)
	r.assertNoInjection(t)
}
