package lmtp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestDovecotLMTPClient delivers with yubin's LMTP client into the real
// Dovecot 2.3 LMTP and reads the messages back with doveadm fetch.
func TestDovecotLMTPClient(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		Protocols: "lmtp",
		Listeners: []string{"lmtp/lmtp"},
	})
	ctx := context.Background()
	c, err := Dial(ctx, "tcp", d.Addr(t, "lmtp/lmtp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(ctx, "yubin.example.jp"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Extension("PIPELINING"); !ok {
		t.Fatal("Dovecot LMTP did not offer PIPELINING")
	}
	msg := "From: sender@example.org\nSubject: from yubin lmtp\n\n.line with dot\nbody\n"
	res, err := c.Send(ctx, "sender@example.org", []string{"alice", "bob"}, strings.NewReader(msg))
	if err != nil || res[0] != nil || res[1] != nil {
		t.Fatalf("Send = %v, %v", res, err)
	}
	// Dovecot refuses a malformed recipient on its own; the other one
	// still gets the message.
	res, err = c.Send(ctx, "sender@example.org", []string{"alice", "a b"}, strings.NewReader(msg))
	var e *Error
	if err != nil || res[0] != nil || !errors.As(res[1], &e) || e.Code < 500 {
		t.Fatalf("second Send = %v, %v", res, err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "bob"} {
		out := d.Doveadm(t, nil, "fetch", "-u", user, "hdr.subject body", "mailbox", "INBOX")
		if !strings.Contains(out, "from yubin lmtp") || !strings.Contains(out, ".line with dot") {
			t.Fatalf("%s: doveadm fetch = %q", user, out)
		}
	}
	if out := d.Doveadm(t, nil, "search", "-u", "alice", "mailbox", "INBOX", "all"); strings.Count(out, "\n") != 2 {
		t.Fatalf("alice has %q", out)
	}
	out := d.Doveadm(t, nil, "fetch", "-u", "alice", "hdr", "mailbox", "INBOX")
	if !strings.Contains(out, "Return-Path: <sender@example.org>") || !strings.Contains(out, "Delivered-To: alice") {
		t.Fatalf("Dovecot headers: %q", out)
	}
}
