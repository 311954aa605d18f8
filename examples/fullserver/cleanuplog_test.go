package main

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// messageIDScript sends three messages to rcpt: with a Message-ID, with
// a folded one, and without one.
func messageIDScript(t *testing.T, addr, rcpt string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	reply := func() string {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", addr, err)
			}
			if len(l) < 4 || l[3] != '-' {
				return l
			}
		}
	}
	reply()
	send := func(l string) string { c.Write([]byte(l + "\r\n")); return reply() }
	send("EHLO client.example")
	for _, hdr := range []string{"Message-ID: <one@x.org>\r\n", "Message-ID:\r\n  <two@x.org>\r\n", ""} {
		send("MAIL FROM:<a@x.org>")
		if l := send("RCPT TO:<" + rcpt + ">"); !strings.HasPrefix(l, "250") {
			t.Fatalf("RCPT: %s", l)
		}
		send("DATA")
		if l := send(hdr + "Subject: hello\r\n\r\nbody\r\n."); !strings.HasPrefix(l, "250") {
			t.Fatalf("end of DATA: %s", l)
		}
	}
	send("QUIT")
}

var messageIDLine = regexp.MustCompile(`\]: ([0-9A-Za-z]+): (message-id=.*)`)

func messageIDShapes(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if m := messageIDLine.FindStringSubmatch(l); m != nil {
			if strings.Contains(m[2], "@postfix.example.test>") {
				continue // the bounce Postfix made for f@example.jp
			}
			out = append(out, "QID: "+m[2])
		}
	}
	return out
}

// TestPostfixCleanupMessageIDLine: the queue logs the Message-ID of each
// message as Postfix's cleanup does ("QUEUEID: message-id=<...>"), a
// folded one unfolded, and "message-id=<>" for a message without one
// when nothing adds the field (local_header_rewrite_clients empty).
func TestPostfixCleanupMessageIDLine(t *testing.T) {
	t.Parallel()
	p := testutil.StartSMTPPostfix(t, "mydestination = example.jp\nlocal_recipient_maps =\nlocal_header_rewrite_clients =\n")
	messageIDScript(t, p.Addr(), "f@example.jp")
	var want []string
	for deadline := time.Now().Add(10 * time.Second); len(want) < 3 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		want = messageIDShapes(p.Log())
	}
	t.Logf("Postfix: %q", want)

	in := newInstance(t, "")
	in.addUsers("alice")
	in.start()
	messageIDScript(t, in.addr("smtp"), "alice@localhost")
	in.waitLog("message-id=<>")
	got := messageIDShapes(in.errText())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("message-id lines differ\nyubin:   %q\nPostfix: %q", got, want)
	}
}
