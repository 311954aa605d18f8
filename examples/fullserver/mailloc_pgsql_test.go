package main

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// pgInstances starts n fullservers with mail_location = pgsql: on one
// fresh database of a private PostgreSQL, each with user bob and the
// extra main.cf lines.
func pgInstances(t *testing.T, n int, extra ...string) []*instance {
	c, err := testutil.StartPGCluster()
	if err != nil {
		testutil.Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	db := c.NewDatabase(t)
	var out []*instance
	for i := 0; i < n; i++ {
		in := newInstance(t, "mail_location = pgsql:"+c.ConnString(db)+"\nmail_max_userip_connections = 100\n"+strings.Join(extra, ""))
		in.addUsers("bob")
		in.start()
		out = append(out, in)
	}
	return out
}

// imapConn is a minimal IMAP client for the tests: tagged commands,
// untagged lines collected.
type imapConn struct {
	t   *testing.T
	c   net.Conn
	r   *bufio.Reader
	tag int
}

func dialIMAP(t *testing.T, in *instance) *imapConn {
	t.Helper()
	return dialIMAPAs(t, in, "bob")
}

// dialIMAPAs logs user@localhost (password pw-user) in.
func dialIMAPAs(t *testing.T, in *instance, user string) *imapConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", in.addr("imap"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ic := &imapConn{t: t, c: c, r: bufio.NewReader(c)}
	ic.line(10 * time.Second) // greeting
	ic.cmd("LOGIN " + user + "@localhost pw-" + user)
	return ic
}

func (ic *imapConn) line(d time.Duration) string {
	ic.t.Helper()
	ic.c.SetReadDeadline(time.Now().Add(d))
	l, err := ic.r.ReadString('\n')
	if err != nil {
		ic.t.Fatalf("IMAP read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd runs a command and returns its untagged lines; it fails the test
// unless the command ends OK.
func (ic *imapConn) cmd(s string) []string {
	ic.t.Helper()
	ic.tag++
	tag := "a" + strconv.Itoa(ic.tag)
	fmt.Fprintf(ic.c, "%s %s\r\n", tag, s)
	var lines []string
	for {
		l := ic.line(30 * time.Second)
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				ic.t.Fatalf("%s: %s", s, l)
			}
			return lines
		}
		lines = append(lines, l)
	}
}

// lmtpDeliver sends one message to rcpt over the instance's LMTP socket
// and returns the final reply.
func lmtpDeliver(t *testing.T, in *instance, rcpt, body string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", filepath.Join(in.data, "lmtp.sock"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	read := func() string {
		var last string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("LMTP: %v", err)
			}
			last = strings.TrimRight(l, "\r\n")
			if len(last) < 4 || last[3] != '-' {
				return last
			}
		}
	}
	read()
	for _, cmd := range []string{"LHLO test", "MAIL FROM:<alice@localhost>", "RCPT TO:<" + rcpt + ">", "DATA"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if l := read(); l[0] != '2' && l[0] != '3' {
			t.Fatalf("LMTP %s: %s", cmd, l)
		}
	}
	fmt.Fprintf(c, "%s\r\n.\r\n", strings.ReplaceAll(body, "\n", "\r\n"))
	reply := read()
	fmt.Fprintf(c, "QUIT\r\n")
	return reply
}

var existsLine = regexp.MustCompile(`^\* (\d+) EXISTS$`)

// TestPgsqlThreeServers: three fullservers on one PostgreSQL database.
// LMTP deliveries to each land in the same INBOX; an IMAP IDLE on the
// first sees the deliveries made through all three (the latency is
// logged; the bound is loose for a loaded machine); every server lists
// the same UIDs.
func TestPgsqlThreeServers(t *testing.T) {
	ins := pgInstances(t, 3)
	idle := dialIMAP(t, ins[0])
	idle.cmd("SELECT INBOX")
	idle.tag++
	fmt.Fprintf(idle.c, "a%d IDLE\r\n", idle.tag)
	if l := idle.line(10 * time.Second); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE: %s", l)
	}
	for i, in := range ins {
		start := time.Now()
		if reply := lmtpDeliver(t, in, "bob@localhost", fmt.Sprintf("Subject: via %d\n\nhello %d\n", i, i)); !strings.HasPrefix(reply, "250") {
			t.Fatalf("delivery via server %d: %s", i, reply)
		}
		for {
			l := idle.line(10 * time.Second)
			if m := existsLine.FindStringSubmatch(l); m != nil {
				if m[1] != strconv.Itoa(i+1) {
					t.Fatalf("EXISTS %s after delivery %d", m[1], i+1)
				}
				t.Logf("delivery through server %d seen by IDLE on server 0 after %v", i, time.Since(start))
				break
			}
		}
	}
	fmt.Fprintf(idle.c, "DONE\r\n")
	for {
		if l := idle.line(10 * time.Second); strings.HasPrefix(l, fmt.Sprintf("a%d ", idle.tag)) {
			break
		}
	}
	var views []string
	for _, in := range ins {
		ic := dialIMAP(t, in)
		ic.cmd("SELECT INBOX")
		views = append(views, strings.Join(ic.cmd("UID FETCH 1:* (UID)"), "|"))
	}
	if views[0] != views[1] || views[1] != views[2] || strings.Count(views[0], "FETCH") != 3 {
		t.Fatalf("servers disagree: %q", views)
	}
}

// TestPgsqlConcurrentSessions: 51 IMAP sessions spread over three
// servers append, flag, copy and expunge in one mailbox at once; every
// APPENDUID is distinct, each session's UIDs rise, and afterwards every
// server lists the same UIDs, flags and modseqs.
func TestPgsqlConcurrentSessions(t *testing.T) {
	ins := pgInstances(t, 3)
	setup := dialIMAP(t, ins[0])
	setup.cmd("CREATE Other")
	const sessions, rounds = 51, 4
	appendUID := regexp.MustCompile(`APPENDUID \d+ (\d+)`)
	var mu sync.Mutex
	seen := map[int]bool{}
	var wg sync.WaitGroup
	errs := make(chan string, sessions)
	for s := 0; s < sessions; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", ins[s%3].addr("imap"), 5*time.Second)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			tag := 0
			run := func(cmd string, lit string) (string, bool) {
				tag++
				tg := "s" + strconv.Itoa(tag)
				c.SetDeadline(time.Now().Add(60 * time.Second))
				if lit != "" {
					fmt.Fprintf(c, "%s %s {%d+}\r\n%s\r\n", tg, cmd, len(lit), lit)
				} else {
					fmt.Fprintf(c, "%s %s\r\n", tg, cmd)
				}
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return err.Error(), false
					}
					if strings.HasPrefix(l, tg+" ") {
						return l, strings.HasPrefix(l, tg+" OK")
					}
				}
			}
			r.ReadString('\n')
			// auth refuses many logins at once from one address with a
			// temporary failure: try again, as a client does.
			for try := 0; ; try++ {
				l, ok := run("LOGIN bob@localhost pw-bob", "")
				if ok {
					break
				}
				if !strings.Contains(l, "UNAVAILABLE") || try == 50 {
					errs <- l
					return
				}
				time.Sleep(time.Duration(20+s) * time.Millisecond)
			}
			run("SELECT INBOX", "")
			last := 0
			for i := 0; i < rounds; i++ {
				l, ok := run("APPEND INBOX", fmt.Sprintf("Subject: s%d r%d\r\n\r\nbody\r\n", s, i))
				m := appendUID.FindStringSubmatch(l)
				if !ok || m == nil {
					errs <- "append: " + l
					return
				}
				uid, _ := strconv.Atoi(m[1])
				mu.Lock()
				dup := seen[uid]
				seen[uid] = true
				mu.Unlock()
				if dup || uid <= last {
					errs <- fmt.Sprintf("session %d: UID %d after %d (dup %v)", s, uid, last, dup)
					return
				}
				last = uid
				run("NOOP", "")
				run(fmt.Sprintf("UID STORE %d +FLAGS (\\Seen)", uid), "")
				run(fmt.Sprintf("UID COPY %d Other", uid), "")
				if i%2 == 1 {
					run(fmt.Sprintf("UID STORE %d +FLAGS (\\Deleted)", uid), "")
					if l, ok := run("EXPUNGE", ""); !ok {
						errs <- "expunge: " + l
						return
					}
				}
			}
			run("LOGOUT", "")
		}(s)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	var views []string
	for _, in := range ins {
		ic := dialIMAP(t, in)
		ic.cmd("SELECT INBOX")
		views = append(views, strings.Join(ic.cmd("UID FETCH 1:* (UID FLAGS MODSEQ)"), "|"))
		other := dialIMAP(t, in)
		other.cmd("SELECT Other")
		if n := len(other.cmd("UID FETCH 1:* (UID)")); n != sessions*rounds {
			t.Fatalf("Other has %d messages, want %d", n, sessions*rounds)
		}
	}
	if !strings.Contains(views[0], "MODSEQ (") {
		t.Fatalf("no MODSEQ in %q", views[0][:min(200, len(views[0]))])
	}
	if views[0] != views[1] || views[1] != views[2] || strings.Count(views[0], "FETCH") != sessions*rounds/2 {
		t.Fatalf("servers disagree or wrong count (%d): %q", strings.Count(views[0], "FETCH"), views[0])
	}
}
