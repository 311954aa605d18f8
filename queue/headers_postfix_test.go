package queue

import (
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// sendData runs one SMTP transaction to addr and returns the reply to
// the message's end of data.
func sendData(t *testing.T, addr, from, rcpt, msg string) (int, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := textproto.NewConn(nc)
	if _, _, err := c.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"EHLO client.example.test", "MAIL FROM:<" + from + ">", "RCPT TO:<" + rcpt + ">", "DATA"} {
		c.PrintfLine("%s", l)
		if _, text, err := c.ReadResponse(0); err != nil {
			t.Fatalf("%s: %v %s", l, err, text)
		}
	}
	w := c.DotWriter()
	w.Write([]byte(msg))
	w.Close()
	code, text, _ := c.ReadResponse(0)
	return code, text
}

// TestPostfixHopcountAndLoops sends the real Postfix messages with 2 to
// 6 Received fields under hopcount_limit = 5, and messages with
// Delivered-To fields in several spellings to addresses local(8)
// delivers to files. Postfix's verdicts — "554 5.4.0 Error: too many
// hops" at DATA, and local(8)'s 5.4.6 "mail forwarding loop" bounce —
// must be ScanHeaders' TooManyHops and Delivered for the same messages.
func TestPostfixHopcountAndLoops(t *testing.T) {
	files := sinkDir(t)
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(`hopcount_limit = 5
mydestination = loop.test
alias_maps = inline:{a=%[1]s/a, b=%[1]s/b, c=%[1]s/c, d=%[1]s/d, e=%[1]s/e, f=%[1]s/f, g=%[1]s/g, h=%[1]s/h}
transport_maps = inline:{sink.test=discard:}
`, files))

	// The Received field Postfix's smtpd adds, as our server adds its own.
	own := "Received: from client.example.test (localhost [127.0.0.1])\r\n\tby postfix.example.test (Postfix) with ESMTP id X\r\n"
	for n := 2; n <= 6; n++ {
		msg := strings.Repeat("Received: from x by y; Mon, 7 Dec 2026 05:30:01 +0000\r\n", n) + "Subject: hops\r\n\r\nbody\r\n"
		code, text := sendData(t, pf.Addr(), "s@sink.test", "r@sink.test", msg)
		h, err := ScanHeaders(strings.NewReader(own+msg), 0)
		if err != nil {
			t.Fatal(err)
		}
		rejected := code == 554 && strings.Contains(text, "too many hops")
		if !rejected && code != 250 {
			t.Fatalf("%d Received: Postfix replied %d %s", n, code, text)
		}
		if h.TooManyHops(5) != rejected {
			t.Errorf("%d Received: Postfix rejected: %v; TooManyHops(5) with its own Received (%d): %v", n, rejected, h.Received, h.TooManyHops(5))
		}
	}

	loops := []struct{ rcpt, header string }{
		{"a", "Delivered-To: a@loop.test"},
		{"b", "Delivered-To: B@Loop.Test"},
		{"c", "Delivered-To:\r\n c@loop.test"},
		{"d", "Delivered-To: <d@loop.test>"},
		{"e", "Delivered-To: e@loop.test "},
		{"f", "Delivered-To: other@loop.test"},
		{"g", "Delivered-To:g@loop.test"},
		{"h", "X-Other: 1\r\nDELIVERED-TO:\th@loop.test"},
	}
	want := map[string]bool{}
	for _, l := range loops {
		rcpt := l.rcpt + "@loop.test"
		msg := l.header + "\r\nSubject: loop\r\n\r\nbody\r\n"
		if code, text := sendData(t, pf.Addr(), "", rcpt, msg); code != 250 {
			t.Fatalf("%s: Postfix replied %d %s", rcpt, code, text)
		}
		h, err := ScanHeaders(strings.NewReader(own+msg), 0)
		if err != nil {
			t.Fatal(err)
		}
		want[rcpt] = h.Delivered(rcpt)
	}
	// local(8)'s verdicts, from its log.
	deadline := time.Now().Add(20 * time.Second)
	for {
		log := pf.Log()
		done := 0
		for rcpt := range want {
			if strings.Contains(log, "to=<"+rcpt+">, relay=local") {
				done++
			}
		}
		if done == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("local(8) did not deliver all:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	log := pf.Log()
	looped := 0
	for _, line := range strings.Split(log, "\n") {
		for rcpt, ours := range want {
			if !strings.Contains(line, "to=<"+rcpt+">, relay=local") {
				continue
			}
			postfix := strings.Contains(line, "dsn=5.4.6, status=bounced (mail forwarding loop for "+rcpt+")")
			if postfix {
				looped++
			} else if !strings.Contains(line, "status=sent") {
				t.Errorf("unexpected local(8) outcome: %s", line)
			}
			if postfix != ours {
				t.Errorf("%s: Postfix found a loop: %v, Delivered: %v (%s)", rcpt, postfix, ours, line)
			}
		}
	}
	t.Logf("Delivered verdicts: %v", want)
	if looped == 0 || looped == len(want) {
		t.Errorf("Postfix found %d loops of %d: the cases do not tell", looped, len(want))
	}
}
