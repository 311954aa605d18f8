package main

import (
	"fmt"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestSmtpSinkRelayBatteryFromOutside sends every open-relay trick of
// testutil.RelayCases (checked against the real Postfix 3.7 in
// restrict's TestPostfixRelayBattery) to the fullserver's MX port from
// an address outside mynetworks, each with a message when its RCPT is
// accepted. Nothing Postfix refuses is accepted, and what reaches the
// relayhost (Postfix's smtp-sink, where relayed mail would go) is only
// what Postfix itself sends there from an outside client: the bare
// "postmaster" that RFC 5321 requires a server to take, qualified with
// $myorigin (here $myhostname, not in mydestination).
func TestSmtpSinkRelayBatteryFromOutside(t *testing.T) {
	t.Parallel()
	const domain = "ourdomain.example"
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	in := newInstance(t, "myhostname = mx."+domain+"\nmydestination = "+domain+"\nrelayhost = [127.0.0.1]:"+strconv.Itoa(sink.Port)+"\n")
	os.MkdirAll(in.data, 0o755)
	for _, u := range []string{"user", "postmaster"} {
		if code, _, errOut := runCmd(t, "pw\n", "-config", in.cfg, "adduser", u+"@"+domain); code != 0 {
			t.Fatalf("adduser: %s", errOut)
		}
	}
	testutil.ChownTree(t, in.data, testutil.PlainUID, testutil.PlainGID)
	in.start()
	accepted := 0
	for i, c := range testutil.RelayCases(domain) {
		code, err := relayAttempt(in.addr("smtp"), c, fmt.Sprintf("battery-%d", i))
		if err != nil {
			t.Errorf("%s (%s): %v", c.Trick, c.Command(), err)
			continue
		}
		if code/100 == 2 {
			accepted++
			if c.Outside != 2 {
				t.Errorf("%s: %s accepted (%d) from outside; Postfix answers %dxx", c.Trick, c.Command(), code, c.Outside)
			}
		}
	}
	t.Logf("%d cases, %d accepted for local delivery", len(testutil.RelayCases(domain)), accepted)
	allowed := map[string]bool{}
	for _, c := range testutil.RelayCases(domain) {
		if c.Outside == 2 && c.Class == "default" {
			if !strings.HasSuffix(strings.ToLower(c.Rcpt), "."+domain) {
				t.Fatalf("the battery expects relaying to <%s> from outside", c.Rcpt)
			}
			allowed[strings.ToLower(c.Rcpt)] = true
		}
	}
	// Give the queue time to relay anything it took.
	in.waitLog("disconnect from")
	time.Sleep(500 * time.Millisecond)
	for _, m := range sink.Messages(t) {
		_, rest, _ := strings.Cut(m, "X-Rcpt-Args: <")
		rcpt, _, _ := strings.Cut(rest, ">")
		if !allowed[strings.ToLower(rcpt)] {
			t.Errorf("a message for <%s> from an outside client reached the relayhost:\n%s", rcpt, m)
		}
	}
}

// relayAttempt runs one case from 127.0.0.2 and returns the RCPT reply
// code; an accepted recipient gets a message.
func relayAttempt(addr string, c testutil.RelayCase, token string) (int, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return 0, err
	}
	cmd := func(line string) (int, error) {
		if err := tp.PrintfLine("%s", line); err != nil {
			return 0, err
		}
		code, _, err := tp.ReadResponse(0)
		if code != 0 {
			err = nil
		}
		return code, err
	}
	helo := c.Helo
	if helo == "" {
		helo = testutil.RelayHelo
	}
	if _, err := cmd("EHLO " + helo); err != nil {
		return 0, err
	}
	if _, err := cmd("MAIL FROM:<" + c.From + ">"); err != nil {
		return 0, err
	}
	code, err := cmd(c.Command())
	if err != nil || code/100 != 2 {
		cmd("QUIT")
		return code, err
	}
	if dc, err := cmd("DATA"); err != nil || dc != 354 {
		return code, fmt.Errorf("DATA: %d %v", dc, err)
	}
	if dc, err := cmd("Subject: " + token + "\r\n\r\nrelay test\r\n."); err != nil || dc/100 != 2 {
		return code, fmt.Errorf("end of data: %d %v", dc, err)
	}
	cmd("QUIT")
	return code, nil
}
