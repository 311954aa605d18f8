package lmtp

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/internal/testutil"
)

// The LMTP part of the abuse suite: real sockets against a real Server,
// each probe bounded in seconds, each checking the refusal, the memory
// the process holds, and that a well-behaved client is served after.

// lmtpControl delivers one message politely and fails unless it is
// accepted.
func lmtpControl(t *testing.T, addr string) {
	t.Helper()
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	c.expect("LHLO control.example", "250")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	c.expect("RCPT TO:<b@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.c.Write([]byte("Subject: control\r\n\r\nserved\r\n.\r\n"))
	c.expect("", "250 ")
	c.expect("QUIT", "221 ")
}

// badSession sends n unknown commands one at a time and returns the
// reply codes, "EOF" where the server hung up.
func badSession(t *testing.T, network, addr string, n int) string {
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220") {
		t.Fatalf("greeting %q", l)
	}
	var out []string
	for range n {
		if _, err := c.Write([]byte("XYZZY\r\n")); err != nil {
			out = append(out, "EOF")
			break
		}
		l, err := r.ReadString('\n')
		if err != nil {
			out = append(out, "EOF")
			break
		}
		out = append(out, l[:3])
		if l[:3] == "421" {
			if !strings.Contains(l, " Too many invalid commands.") {
				t.Errorf("421 text %q", l)
			}
			if _, err := r.ReadString('\n'); err == nil {
				t.Error("session goes on after 421")
			}
			out = append(out, "EOF")
			break
		}
	}
	return strings.Join(out, " ")
}

// TestDovecotLMTPBadCommands: unknown commands get the same replies from
// the real Dovecot 2.3 LMTP and from yubin's server, and both hang up on
// the eleventh with "421 4.7.0 <host> Too many invalid commands.".
func TestDovecotLMTPBadCommands(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{Protocols: "lmtp"})
	sock := filepath.Join(d.Dir, "run", "lmtp")
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	addr, _ := startLMTP(t, &Server{Deliverer: dropDeliverer{}}, nil)
	want := badSession(t, "unix", sock, 20)
	got := badSession(t, "tcp", addr, 20)
	if got != want || !strings.HasSuffix(want, "500 421 EOF") {
		t.Fatalf("Dovecot: %s\nyubin:   %s", want, got)
	}
	lmtpControl(t, addr)
}

// TestAbuseLMTPOverlongLines: 32 MB command lines are refused with
// "500 5.5.2 Line too long" without being held; a message of one 32 MB
// line is streamed.
func TestAbuseLMTPOverlongLines(t *testing.T) {
	addr, _ := startLMTP(t, &Server{Deliverer: dropDeliverer{}, MaxMessageBytes: 64 << 20}, nil)
	done := testutil.MemCheck(t, 16)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	// 32 MB lines, written from one reused buffer so that only the
	// server could hold them.
	for range 3 {
		go testutil.StreamLine(c.c, "NOOP ", 32)
		c.expect("", "500 5.5.2 Line too long")
	}
	c.expect("LHLO x", "250")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	c.expect("RCPT TO:<b@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	go func() {
		testutil.StreamLine(c.c, "Subject: one line\r\n\r\n", 32)
		c.c.Write([]byte(".\r\n"))
	}()
	c.expect("", "250 ")
	c.expect("QUIT", "221 ")
	done()
	lmtpControl(t, addr)
}

// TestAbuseLMTPControlBytes: NUL in a command is invalid syntax; bare CR
// in content is stored as a space, "\r.\r\n" does not end the data.
func TestAbuseLMTPControlBytes(t *testing.T) {
	dir := t.TempDir()
	addr, _ := startLMTP(t, &Server{Deliverer: maildirs(t, dir), NoReceivedHeader: true}, nil)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	c.expect("NO\x00OP", "500 5.5.2 Invalid command syntax")
	c.expect("LHLO x", "250")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	c.expect("RCPT TO:<alice@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.c.Write([]byte("Subject: x\r\n\r\nnul\x00\r\ncr\r.\r\nlf\n.\nend\r\n.\r\n"))
	c.expect("", "250 ")
	c.expect("QUIT", "221 ")
	msgs := files(t, filepath.Join(dir, "alice", "Maildir"))
	if len(msgs) != 1 || !strings.HasSuffix(msgs[0], "Subject: x\r\n\r\nnul\x00\r\ncr .\r\nlf\r\n\r\nend\r\n") {
		t.Fatalf("stored %q", msgs)
	}
}

// TestAbuseLMTPPipelinedFlood: NOOPs written without reading the
// replies are answered until the client stops; junk that is not a
// command ends the session after MaxBadCommands.
func TestAbuseLMTPPipelinedFlood(t *testing.T) {
	addr, _ := startLMTP(t, &Server{Deliverer: dropDeliverer{}}, nil)
	done := testutil.MemCheck(t, 32)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	flood := []byte(strings.Repeat("GET / HTTP/1.0\r\n", 10000))
	go func() {
		for range 200 {
			if _, err := c.c.Write(flood); err != nil {
				return
			}
		}
	}()
	var last string
	n := 0
	for {
		l, err := smtpwire.ReadLine(c.r, 4096)
		if err != nil {
			break
		}
		last, n = string(l), n+1
	}
	if n != 11 || !strings.HasPrefix(last, "421 4.7.0 lmtp.example.jp Too many invalid commands.") {
		t.Fatalf("%d replies, last %q", n, last)
	}
	done()
	lmtpControl(t, addr)
}

// TestAbuseLMTPManyRecipients: RCPTs past MaxRecipients are refused
// with Dovecot's "451 4.5.3 Too many recipients" and the session goes on.
func TestAbuseLMTPManyRecipients(t *testing.T) {
	addr, _ := startLMTP(t, &Server{Deliverer: dropDeliverer{}}, nil)
	done := testutil.MemCheck(t, 32)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	c.expect("LHLO x", "250")
	c.expect("MAIL FROM:<a@example.org>", "250 ")
	var script strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&script, "RCPT TO:<r%d@example.jp>\r\n", i)
	}
	go c.c.Write([]byte(script.String()))
	counts := map[string]int{}
	for range 3000 {
		l, err := smtpwire.ReadLine(c.r, 4096)
		if err != nil {
			break
		}
		counts[string(l[:3])]++
	}
	if counts["250"] != DefaultMaxRecipients || counts["451"] != 3000-DefaultMaxRecipients {
		t.Errorf("replies %v", counts)
	}
	c.expect("RSET", "250 ")
	c.expect("QUIT", "221 ")
	done()
	lmtpControl(t, addr)
}

// TestAbuseLMTPBDATEdges: BDAT 0, negative, non-numeric and over-size
// chunks.
func TestAbuseLMTPBDATEdges(t *testing.T) {
	addr, _ := startLMTP(t, &Server{Deliverer: dropDeliverer{}, MaxMessageBytes: 1 << 20}, nil)
	start := func() *raw {
		c := dialRaw(t, "tcp", addr)
		c.expect("", "220 ")
		c.expect("LHLO x", "250")
		c.expect("MAIL FROM:<a@example.org>", "250 ")
		c.expect("RCPT TO:<b@example.jp>", "250 ")
		return c
	}
	c := start()
	c.expect("BDAT 0 LAST", "250 ")
	for _, bad := range []string{"BDAT -1 LAST", "BDAT abc", "BDAT 99999999999999999999 LAST"} {
		c := start()
		got := c.expect(bad, "5")
		if _, err := c.r.ReadByte(); err == nil && !strings.HasPrefix(got, "501") {
			t.Errorf("%q: %q and the session goes on", bad, got)
		}
	}
	done := testutil.MemCheck(t, 32)
	c = start()
	size := 12 << 20
	go func() {
		c.c.Write([]byte("BDAT " + strconv.Itoa(size) + " LAST\r\n"))
		chunk := make([]byte, 1<<20)
		for range size >> 20 {
			if _, err := c.c.Write(chunk); err != nil {
				return
			}
		}
	}()
	c.expect("", "552 ")
	done()
	lmtpControl(t, addr)
}
