package lmtp

import (
	"io"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestCommandHook: every command line of a session reaches CommandHook
// once, by its known verb or UNKNOWN, ok when its replies were 2xx (DATA:
// every recipient's).
func TestCommandHook(t *testing.T) {
	rec := &testutil.CommandRecorder{OK: "ok", Fail: "fail"}
	addr, _ := startLMTP(t, &Server{Deliverer: maildirs(t, t.TempDir()), CommandHook: rec.Hook}, nil)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	c.expect("lhlo x", "250")
	c.expect("MAIL FROM:<s@x.org>", "250 ")
	c.expect("RCPT TO:<alice@example.jp>", "250 ")
	c.expect("RCPT TO:<nobody@example.jp>", "550 ")
	c.expect("DATA", "354 ")
	c.c.Write([]byte("Subject: a\r\n\r\na\r\n.\r\n"))
	c.expect("", "250 ")
	c.expect("MAIL FROM:<s@x.org>", "250 ")
	c.expect("RCPT TO:<alice@example.jp>", "250 ")
	c.expect("RCPT TO:<carol@example.jp>", "250 ")
	c.expect("BDAT 3 LAST\r\na", "250 ")
	c.expect("", "250 ")
	// bob's quota (300 bytes) takes no more: one recipient of two fails.
	c.expect("MAIL FROM:<s@x.org>", "250 ")
	c.expect("RCPT TO:<alice@example.jp>", "250 ")
	c.expect("RCPT TO:<bob@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.c.Write([]byte("Subject: b\r\n\r\n" + strings.Repeat("0123456789\r\n", 30) + ".\r\n"))
	c.expect("", "250 ")
	c.expect("", "552 ")
	c.expect("XYZZY", "500 ")
	c.expect("MAIL", "501 ")
	c.expect("QUIT", "221 ")
	// The hook of QUIT runs before the server closes the connection.
	if _, err := io.Copy(io.Discard, c.r); err != nil {
		t.Fatal(err)
	}
	want := []string{"LHLO ok", "MAIL ok", "RCPT ok", "RCPT fail", "DATA ok",
		"MAIL ok", "RCPT ok", "RCPT ok", "BDAT ok",
		"MAIL ok", "RCPT ok", "RCPT ok", "DATA fail", "UNKNOWN fail", "MAIL fail", "QUIT ok"}
	if seen := rec.Seen(); !reflect.DeepEqual(seen, want) {
		t.Errorf("hook saw %q\nwant     %q", seen, want)
	}
}

// TestConnState: ConnState sees a connection accepted and closed.
func TestConnState(t *testing.T) {
	rec := &testutil.StateRecorder{}
	addr, _ := startLMTP(t, &Server{Deliverer: maildirs(t, t.TempDir()), ConnState: func(c net.Conn, st ConnState) {
		rec.Add(c, [...]string{"new", "closed"}[st])
	}}, nil)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	c.expect("QUIT", "221 ")
	if got := rec.Wait(t, "closed"); !reflect.DeepEqual(got, []string{"new", "closed"}) {
		t.Errorf("ConnState saw %q", got)
	}
}
