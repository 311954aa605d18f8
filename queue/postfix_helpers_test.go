package queue

import (
	"bufio"
	"net"
	"net/textproto"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// startSmtpSink runs Postfix's smtp-sink on a free port of 127.0.0.1
// with the given options; when dumpDir is not empty each transaction is
// dumped into a file under it. It returns the address. testutil starts
// it again on another port when another program took the first one
// before smtp-sink bound it.
func startSmtpSink(t *testing.T, dumpDir string, extra ...string) string {
	t.Helper()
	c := testutil.SmtpSinkConfig{Options: extra, Backlog: 100, NoDump: dumpDir == ""}
	if dumpDir != "" {
		c.DumpTemplate = filepath.Join(dumpDir, "msg-")
	}
	return testutil.StartSmtpSinkConfig(t, c).Addr
}

// sinkDir returns a directory the smtp-sink (running as postfix) can
// write its dumps into.
func sinkDir(t *testing.T) string {
	t.Helper()
	dir := testutil.SharedDir(t)
	os.Chmod(dir, 0o777)
	return dir
}

// smtpSend hands one message to addr with a minimal SMTP dialogue:
// mailArgs follow "MAIL FROM:", each rcpt is the text after "RCPT TO:".
func smtpSend(t *testing.T, addr, mailArgs string, rcpts []string, data string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := textproto.NewConn(nc)
	expect := func(code int) {
		t.Helper()
		if _, msg, err := c.ReadResponse(code); err != nil {
			t.Fatalf("smtp: %v %s", err, msg)
		}
	}
	cmd := func(code int, format string, args ...any) {
		t.Helper()
		if err := c.PrintfLine(format, args...); err != nil {
			t.Fatal(err)
		}
		expect(code)
	}
	expect(220)
	cmd(250, "EHLO client.example.test")
	cmd(250, "MAIL FROM:%s", mailArgs)
	for _, r := range rcpts {
		cmd(250, "RCPT TO:%s", r)
	}
	cmd(354, "DATA")
	w := c.DotWriter()
	bw := bufio.NewWriter(w)
	bw.WriteString(data)
	bw.Flush()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	expect(250)
	cmd(221, "QUIT")
}

// waitDump waits until a file under dir contains want and returns its
// content without the smtp-sink's own headers (up to and including its
// Received header).
func waitDump(t *testing.T, dir, want string, timeout time.Duration, log func() string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "msg-*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if s := string(b); strings.Contains(s, want) {
				return stripSinkHeaders(s)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message containing %q dumped in %v; log:\n%s", want, timeout, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stripSinkHeaders removes the X-* and three-line Received header that
// smtp-sink puts in front of a dumped message.
func stripSinkHeaders(s string) string {
	i := strings.Index(s, "(smtp-sink)")
	if i < 0 {
		return s
	}
	rest := s[i:]
	// The Received header's third line is its time stamp.
	for n := 0; n < 2; n++ {
		j := strings.IndexByte(rest, '\n')
		if j < 0 {
			return s
		}
		rest = rest[j+1:]
	}
	return rest
}

// postfixIDs returns the postfix user's uid and gid.
func postfixIDs(t *testing.T) (int, int) {
	t.Helper()
	u, err := user.Lookup("postfix")
	if err != nil {
		testutil.Unavailable(t, "no postfix user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// waitMailbox waits for an mbox file that virtual(8) writes and returns
// its first message without the "From " line.
func waitMailbox(t *testing.T, path string, timeout time.Duration, log func() string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && strings.HasSuffix(string(b), "\n\n") {
			s := string(b)
			if i := strings.IndexByte(s, '\n'); strings.HasPrefix(s, "From ") && i >= 0 {
				s = s[i+1:]
			}
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail in %s after %v; log:\n%s", path, timeout, log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
