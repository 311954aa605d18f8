package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFile waits up to 10 seconds for file to contain s and returns its
// contents.
func waitFile(t *testing.T, file, s string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(file)
		if strings.Contains(string(b), s) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lacks %q after 10s:\n%s", file, s, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// imapGreets connects to addr and reads the greeting; it returns the
// open connection.
func imapGreets(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("imap %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "* OK") {
		t.Fatalf("imap %s greeting %q, %v", addr, l, err)
	}
	return c, r
}

var listeningOn = regexp.MustCompile(`reload: imap: listening on (127\.0\.0\.1:[0-9]+)`)

// TestSIGHUPRebindsListenersAndReopensMaillog: SIGHUP (and "fullserver
// reload") closes a listener the configuration dropped while its open
// session goes on, opens one it added, re-opens maillog_file after a
// rotation, and keeps the running configuration when the new one has
// errors, logging every error; "fullserver stop" drains and waits.
func TestSIGHUPRebindsListenersAndReopensMaillog(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	logDir := filepath.Join(filepath.Dir(in.data), "log")
	os.Mkdir(logDir, 0o777)
	os.Chmod(logDir, 0o777) // the server re-opens the log as mail_owner
	maillog := filepath.Join(logDir, "maillog")
	in.reconfigure("maillog_file = " + maillog + "\n")
	in.start()
	oldIMAP := in.addr("imap")
	sess, r := imapGreets(t, oldIMAP)
	defer sess.Close()

	// Rotate, drop the IMAP listener, signal.
	if err := os.Rename(maillog, maillog+".1"); err != nil {
		t.Fatal(err)
	}
	in.reconfigure("maillog_file = " + maillog + "\nimap_port =\n")
	in.cmd.Process.Signal(syscall.SIGHUP)
	log := waitFile(t, maillog, "reload: configuration, certificates, users and tables re-read")
	if !strings.Contains(log, "reload: imap: stopped listening on "+oldIMAP) {
		t.Errorf("new maillog lacks the closed listener:\n%s", log)
	}
	if _, err := net.DialTimeout("tcp", oldIMAP, 2*time.Second); err == nil {
		t.Errorf("imap %s still accepts connections after its port was removed", oldIMAP)
	}
	// The session opened before goes on.
	sess.Write([]byte("a NOOP\r\n"))
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "a OK") {
		t.Errorf("old session after reload: %q, %v", l, err)
	}

	// Add it back, through the reload command this time.
	in.reconfigure("maillog_file = " + maillog + "\n")
	if code, _, stderr := runCmd(t, "", "-config", in.cfg, "reload"); code != 0 || !strings.Contains(stderr, "refreshing the mail system") {
		t.Fatalf("reload: exit %d: %s", code, stderr)
	}
	log = waitFile(t, maillog, "reload: imap: listening on")
	m := listeningOn.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no new imap address in:\n%s", log)
	}
	c2, _ := imapGreets(t, m[1])
	c2.Close()

	// A configuration with errors: all are logged, nothing changes.
	// "fullserver reload" refuses it, as postfix reload does after its
	// check; a SIGHUP reads it and keeps the running one.
	in.reconfigure("maillog_file = " + maillog + "\nimap_port =\nmydestinaton = x\nsmtpd_timeout = soon\n")
	if code, _, stderr := runCmd(t, "", "-config", in.cfg, "reload"); code != 1 || !strings.Contains(stderr, "mydestinaton") || !strings.Contains(stderr, "smtpd_timeout") {
		t.Errorf("reload of a broken configuration: exit %d: %s", code, stderr)
	}
	in.cmd.Process.Signal(syscall.SIGHUP)
	log = waitFile(t, maillog, "keeping the running one")
	for _, e := range []string{`unknown parameter "mydestinaton"`, "smtpd_timeout = soon: not a time value"} {
		if !strings.Contains(log, e) {
			t.Errorf("reload log lacks %q:\n%s", e, log)
		}
	}
	c3, _ := imapGreets(t, m[1])
	c3.Close()

	// stop waits until the server is gone, even with the broken
	// configuration on disk.
	code, _, stderr := runCmd(t, "", "-config", in.cfg, "stop")
	if code != 0 || !strings.Contains(stderr, "stopping the mail system") {
		t.Fatalf("stop: exit %d: %s", code, stderr)
	}
	// It has drained and let go of the pid file: the process ends at
	// once.
	if b, _ := os.ReadFile(maillog); !strings.Contains(string(b), "]: stopped\n") {
		t.Error("stop returned before the server logged that it stopped")
	}
	select {
	case <-in.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the server still runs 5 s after stop returned")
	}
	if _, err := os.Stat(filepath.Join(in.data, "fullserver.pid")); err == nil {
		t.Error("pid file left behind")
	}
	if code, _, stderr := runCmd(t, "", "-config", in.cfg, "stop"); code != 1 || !strings.Contains(stderr, "not running") {
		t.Errorf("stop when stopped: exit %d: %s", code, stderr)
	}
}

// A second server on the same data directory is refused: the pid file
// is locked.
func TestSecondServerOnDataDirRefused(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	in.start()
	code, _, stderr := runCmd(t, "", "-config", in.cfg)
	if code == 0 || !strings.Contains(stderr, "another fullserver is running") {
		t.Errorf("second start: exit %d: %s", code, stderr)
	}
}
