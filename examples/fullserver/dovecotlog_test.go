package main

import (
	"bufio"
	"encoding/base64"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// talk sends each of lines to the server at addr after its greeting,
// reading replies until done says the line's reply is complete (sent is
// the command line, resp a reply line); the connection is closed after
// the last.
func talk(t *testing.T, addr string, lines []string, done func(sent, resp string) bool) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		c.Write([]byte(l + "\r\n"))
		for {
			resp, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %s: %v", addr, l, err)
			}
			if done(l, resp) {
				break
			}
		}
	}
}

// loginScript logs alice@localhost in over IMAP (LOGIN, then
// AUTHENTICATE PLAIN) and POP3 (USER/PASS).
func loginScript(t *testing.T, imapAddr, pop3Addr string) {
	t.Helper()
	imapDone := func(sent, line string) bool {
		tag, _, _ := strings.Cut(sent, " ")
		return strings.HasPrefix(line, tag+" ")
	}
	popDone := func(_, line string) bool { return strings.HasPrefix(line, "+OK") || strings.HasPrefix(line, "-ERR") }
	talk(t, imapAddr, []string{"a LOGIN alice@localhost pw-alice", "b LOGOUT"}, imapDone)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice@localhost\x00pw-alice"))
	talk(t, imapAddr, []string{"a AUTHENTICATE PLAIN " + plain, "b LOGOUT"}, imapDone)
	talk(t, pop3Addr, []string{"USER alice@localhost", "PASS pw-alice", "QUIT"}, popDone)
}

var (
	loginLine   = regexp.MustCompile(`((?:imap|pop3)-login): (?:Info: )?(Login: .*)`)
	loginVaries = regexp.MustCompile(`mpid=[0-9]+|session=<[A-Za-z0-9+/]{16}>`)
)

// loginShapes are the login lines of a log, with the parts that vary
// from run to run (the mail process's pid, the session id) masked.
func loginShapes(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if m := loginLine.FindStringSubmatch(l); m != nil {
			out = append(out, loginVaries.ReplaceAllStringFunc(m[1]+": "+m[2], func(s string) string {
				k, _, _ := strings.Cut(s, "=")
				return k + "=X"
			}))
		}
	}
	return out
}

// TestDovecotLoginLineShapes: for the same logins, the fullserver's
// "imap-login: Login: user=<...>, method=..., rip=..., lip=..., mpid=...,
// secured, session=<...>" lines read as the real Dovecot's.
func TestDovecotLoginLineShapes(t *testing.T) {
	t.Parallel()
	d := testutil.StartDovecot(t, testutil.DovecotConfig{Protocols: "imap pop3", Listeners: []string{"imap-login/imap", "pop3-login/pop3"}})
	loginScript(t, d.Addr(t, "imap-login/imap"), d.Addr(t, "pop3-login/pop3"))
	want := dovecotLogShapes(t, d, loginShapes, 3)
	in := newInstance(t, "disable_plaintext_auth = no\n")
	in.addUsers("alice")
	in.start()
	loginScript(t, in.addr("imap"), in.addr("pop3"))
	in.waitLog("pop3-login: Login:")
	got := loginShapes(in.errText())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("login lines differ\nyubin:\n%s\nDovecot:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// dovecotLogShapes waits for Dovecot's log to hold n lines that shapes
// picks, and returns them.
func dovecotLogShapes(t *testing.T, d *testutil.Dovecot, shapes func(string) []string, n int) []string {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(10 * time.Second); len(got) < n && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ := os.ReadFile(d.Log)
		got = shapes(string(b))
	}
	if len(got) != n {
		b, _ := os.ReadFile(d.Log)
		t.Fatalf("Dovecot logged %d of the %d lines expected:\n%s", len(got), n, b)
	}
	t.Logf("Dovecot:\n%s", strings.Join(got, "\n"))
	return got
}
