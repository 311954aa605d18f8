package imap

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// The abuse suite: what an attacker from one address tries against the
// IMAP server, over real sockets, each probe bounded in seconds. Every
// probe checks the refusal, that the server's heap stayed bounded, and
// that a well-behaved client is still served afterwards.

// TestAbuseIMAPOverlongLine: a 1 MiB line (no CRLF) before and after
// login, and one made of many small literals, end with "* BYE Too long
// argument." without the server holding the line.
func TestAbuseIMAPOverlongLine(t *testing.T) {
	a := newAbuseEnv(t, nil)
	before := testutil.HeapInUse()
	testutil.Bounded(t, 10*time.Second, func() {
		for _, login := range []bool{false, true} {
			c := a.dial(t)
			if login {
				c.ok("LOGIN alice secret")
			}
			go c.nc.Write([]byte("a1 NOOP " + strings.Repeat("x", 1<<20)))
			if l := c.line(); l != "* BYE Too long argument." {
				t.Fatalf("overlong line (logged in: %v): %q", login, l)
			}
			expectClosed(t, c)
		}
		// Literals count against the line: 70 literals of 1000 bytes.
		c := a.login(t, "alice", "secret")
		c.ok("SELECT INBOX")
		var sb strings.Builder
		sb.WriteString("a2 SEARCH")
		for range 70 {
			sb.WriteString(" TEXT {1000+}\r\n" + strings.Repeat("y", 1000))
		}
		go c.nc.Write([]byte(sb.String() + "\r\n"))
		// The literal that would go over the line's budget is refused
		// (and, being LITERAL+, discarded).
		if l := readUntilTag(t, c.br, "a2"); l != "* BYE Too long argument." && !strings.HasPrefix(l, "a2 NO [TOOBIG]") {
			t.Fatalf("line of literals: %q", l)
		}
	})
	testutil.CheckHeap(t, "overlong lines", before, 16<<20)
	a.control(t)
}

// TestAbuseIMAPNULAndBareLineEnds: NUL inside a command is refused with
// BAD, bare CR does not end a line, and a bare LF does (as Dovecot
// takes it); the session goes on.
func TestAbuseIMAPNULAndBareLineEnds(t *testing.T) {
	a := newAbuseEnv(t, nil)
	testutil.Bounded(t, 10*time.Second, func() {
		c := a.login(t, "alice", "secret")
		c.nc.Write([]byte("a1 SELECT IN\x00BOX\r\n"))
		if l := readUntilTag(t, c.br, "a1"); !strings.HasPrefix(l, "a1 BAD") && !strings.HasPrefix(l, "a1 NO") {
			t.Fatalf("NUL in a command: %q", l)
		}
		c.nc.Write([]byte("a2 NOOP\ra3 NOOP\r\n"))
		if l := readUntilTag(t, c.br, "a2"); !strings.HasPrefix(l, "a2 BAD") {
			t.Fatalf("bare CR inside a line: %q", l)
		}
		c.nc.Write([]byte("a4 NOOP\na5 NOOP\r\n"))
		if l := readUntilTag(t, c.br, "a4"); !strings.HasPrefix(l, "a4 OK") && !strings.HasPrefix(l, "a4 BAD") {
			t.Fatalf("bare LF: %q", l)
		}
		if l := readUntilTag(t, c.br, "a5"); !strings.HasPrefix(l, "a5 OK") {
			t.Fatalf("after a bare LF: %q", l)
		}
		// NUL in an APPENDed literal is stored; FETCH never sends it.
		c.appendRaw("INBOX", "Subject: n\r\n\r\na\x00b\r\n")
		c.ok("SELECT INBOX")
		lines := c.ok("FETCH * BODY.PEEK[]")
		if strings.Contains(strings.Join(lines, ""), "\x00") {
			t.Fatalf("NUL sent in a literal: %q", lines)
		}
	})
	a.control(t)
}

// TestAbuseIMAPPipelinedFlood: 200,000 pipelined commands from a client
// that never reads its replies: the server stops reading once its
// replies cannot be sent, drops the client after WriteTimeout, and its
// heap does not grow with the flood.
func TestAbuseIMAPPipelinedFlood(t *testing.T) {
	a := newAbuseEnv(t, func(s *Server) { s.WriteTimeout = 500 * time.Millisecond })
	before := testutil.HeapInUse()
	testutil.Bounded(t, 15*time.Second, func() {
		c := a.login(t, "alice", "secret")
		c.ok("SELECT INBOX")
		flood := []byte(strings.Repeat("x NOOP\r\nx CAPABILITY\r\n", 100_000))
		c.nc.SetWriteDeadline(time.Now().Add(8 * time.Second))
		_, err := c.nc.Write(flood)
		if err == nil {
			// Everything fit in the socket buffers; the server must
			// still give up on the non-reader.
			t.Log("the whole flood was written")
		}
		deadline := time.Now().Add(8 * time.Second)
		for a.srv.numConns() > 0 {
			if time.Now().After(deadline) {
				t.Fatal("server kept a client that never reads")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	testutil.CheckHeap(t, "pipelined flood", before, 16<<20)
	a.control(t)
}

// TestAbuseIMAPSlowloris: 500 connections from one address that send a
// byte now and then and never log in: LoginMaxConnectionsPerIP (50)
// are served, the rest refused at once with a BYE and logged; the slow
// ones are cut off by LoginTimeout; afterwards the address is served
// again.
func TestAbuseIMAPSlowloris(t *testing.T) {
	a := newAbuseEnv(t, func(s *Server) { s.LoginTimeout = 4 * time.Second })
	before := testutil.HeapInUse()
	var conns []net.Conn
	testutil.Bounded(t, 20*time.Second, func() {
		crowd := testutil.OpenCrowd(t, a.addr, 500, "* OK ", "* BYE ")
		conns = crowd.Conns
		greeted, refused, refusals := crowd.Greeted, crowd.Refused, crowd.Refusals
		if greeted != DefaultLoginMaxConnectionsPerIP || refused != 500-DefaultLoginMaxConnectionsPerIP {
			t.Fatalf("%d greeted, %d refused; want %d greeted", greeted, refused, DefaultLoginMaxConnectionsPerIP)
		}
		for r := range refusals {
			if r != "* BYE Too many connections from your IP address (login_max_connections_per_ip=50)." {
				t.Errorf("refusal %q", r)
			}
		}
		testutil.CheckHeap(t, "500 slow connections", before, 32<<20)
		// Slowloris: a byte every 300 ms never completes a command; the
		// login timeout ends them all.
		for _, nc := range conns {
			nc.Write([]byte("a"))
		}
		deadline := time.Now().Add(8 * time.Second)
		for a.srv.numConns() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d slow connections outlived LoginTimeout", a.srv.numConns())
			}
			for _, nc := range conns {
				nc.Write([]byte("x"))
			}
			time.Sleep(300 * time.Millisecond)
		}
	})
	for _, nc := range conns {
		nc.Close()
	}
	if n := strings.Count(a.logs.String(), "imap: connection refused"); n != 450 {
		t.Errorf("%d refusals logged, want 450", n)
	}
	a.control(t)
}

// TestAbuseIMAPParallelBruteForce: 200 connections from one address
// send wrong LOGINs as fast as they are answered for 1.5 s: the number
// of passwords checked per second stays within what the penalty allows
// one client after another (about 1/PenaltyMax), not 200 times that.
func TestAbuseIMAPParallelBruteForce(t *testing.T) {
	a := newAbuseEnv(t, func(s *Server) { s.LoginMaxConnectionsPerIP = -1 })
	before := testutil.HeapInUse()
	const attackers = 200
	run := 1500 * time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	testutil.Bounded(t, 20*time.Second, func() {
		for i := range attackers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc, err := net.Dial("tcp", a.addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(15 * time.Second))
				c := &client{t: t, nc: nc, br: newReader(nc, 1<<16).br}
				c.line()
				for n := 0; time.Since(start) < run; n++ {
					tag := fmt.Sprintf("g%d.%d", i, n)
					c.send(tag + " LOGIN alice guess" + tag)
					l := readUntilTag(t, c.br, tag)
					if !strings.HasPrefix(l, tag+" NO [") {
						t.Errorf("wrong password: %q", l)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
	elapsed := time.Since(start)
	guesses := a.db.guesses.Load()
	limit := elapsed.Seconds()/0.060 + 4
	t.Logf("%d passwords checked in %v (%.1f/s) for %d parallel connections", guesses, elapsed.Round(time.Millisecond), float64(guesses)/elapsed.Seconds(), attackers)
	if float64(guesses) > limit {
		t.Errorf("%d guesses in %v, want at most %.0f", guesses, elapsed, limit)
	}
	testutil.CheckHeap(t, "parallel brute force", before, 32<<20)
	a.control(t)
}

// TestAbuseIMAPLiteralEdges: literal sizes at and beyond the limits.
func TestAbuseIMAPLiteralEdges(t *testing.T) {
	a := newAbuseEnv(t, func(s *Server) { s.AppendLimit = 512 << 10 })
	before := testutil.HeapInUse()
	testutil.Bounded(t, 10*time.Second, func() {
		c := a.login(t, "alice", "secret")
		c.ok("SELECT INBOX")
		for _, tc := range []struct{ send, want string }{
			{"a1 LOGIN {4294967296}", "a1 BAD"}, // after login: wrong state
			{"a2 APPEND INBOX {99999999999}", "a2 NO [TOOBIG]"},
			{"a3 APPEND INBOX {18446744073709551616}", "a3 BAD"}, // overflows
			{"a4 APPEND INBOX {-1}", "a4 BAD"},
			{"a5 APPEND INBOX {1x}", "a5 BAD"},
			{"a6 APPEND INBOX ~{524289}", "a6 NO [TOOBIG]"},
			{"a7 APPEND INBOX {0}", "a7 "},
			{"a8 SEARCH TEXT {65537}", "a8 NO [TOOBIG]"},
		} {
			c.send(tc.send)
			l := c.line()
			if strings.HasPrefix(l, "+ ") {
				c.send("") // the empty literal of a7
				l = readUntilTag(t, c.br, strings.Fields(tc.send)[0])
			}
			if !strings.HasPrefix(l, tc.want) {
				t.Errorf("%s: %q, want %q", tc.send, l, tc.want)
			}
		}
		// Exactly the limit is stored.
		msg := "Subject: x\r\n\r\n" + strings.Repeat("z", 512<<10-16) + "\r\n"
		c.appendRaw("INBOX", msg)
		// A LITERAL+ over the limit is read and thrown away; one beyond
		// the discard bound (1 MiB) ends the session.
		c.send("a9 APPEND INBOX {600000+}")
		c.nc.Write([]byte(strings.Repeat("q", 600000) + "\r\n"))
		if l := readUntilTag(t, c.br, "a9"); !strings.HasPrefix(l, "a9 NO [TOOBIG]") {
			t.Errorf("LITERAL+ just over AppendLimit: %q", l)
		}
		c.send("a10 APPEND INBOX {1073741824+}")
		if l := readUntilTag(t, c.br, "a10"); !strings.HasPrefix(l, "* BYE") {
			t.Errorf("LITERAL+ of 1 GiB: %q", l)
		}
	})
	testutil.CheckHeap(t, "literal edges", before, 16<<20)
	a.control(t)
}

// TestAbuseIMAPNesting: deeply nested SEARCH keys and FETCH lists are
// refused with BAD, quickly and without exhausting the stack.
func TestAbuseIMAPNesting(t *testing.T) {
	a := newAbuseEnv(t, nil)
	before := testutil.HeapInUse()
	testutil.Bounded(t, 10*time.Second, func() {
		c := a.login(t, "alice", "secret")
		c.appendRaw("INBOX", "Subject: x\r\n\r\nbody\r\n")
		c.ok("SELECT INBOX")
		for _, cmd := range []string{
			"SEARCH " + strings.Repeat("(", 20000) + "ALL" + strings.Repeat(")", 20000),
			"SEARCH " + strings.Repeat("NOT ", 15000) + "ALL",
			"SEARCH " + strings.Repeat("OR ALL ", 9000) + "ALL",
			"FETCH 1 " + strings.Repeat("(", 20000) + "FLAGS" + strings.Repeat(")", 20000),
			"FETCH 1 (BODY[HEADER.FIELDS " + strings.Repeat("(", 20000) + "A" + strings.Repeat(")", 20000) + "])",
			"STORE 1 +FLAGS " + strings.Repeat("(", 20000) + "\\Seen" + strings.Repeat(")", 20000),
		} {
			if _, st := c.cmd(cmd); !strings.HasPrefix(st, "BAD") {
				t.Errorf("%.40s...: %q", cmd, st)
			}
		}
	})
	testutil.CheckHeap(t, "nesting", before, 16<<20)
	a.control(t)
}

// TestAbuseIMAPMailboxTraversal: mailbox names that would leave the
// user's Maildir or reach another user's are refused (or stay inside
// it), whatever the command, and nothing is created outside.
func TestAbuseIMAPMailboxTraversal(t *testing.T) {
	a := newAbuseEnv(t, nil)
	outside := filepath.Join(a.root, "bob")
	testutil.Bounded(t, 15*time.Second, func() {
		c := a.login(t, "alice", "secret")
		names := []string{
			"../bob", "../../etc", "..", ".", "a/../..", "a/./b", "/etc/passwd", "/tmp/x",
			"~bob", "~bob/INBOX", "~/x", "#shared/x", "#public", "#news.comp",
			"&AC4ALgAv-bob", "&AC4ALg-", "a/&AC4ALg-/b", "&AC8-etc", "INBOX/../../bob",
			"a//b", "a/", "\\..\\bob", "a\\b",
		}
		for _, n := range names {
			q := `"` + strings.ReplaceAll(n, `\`, `\\`) + `"`
			for _, cmd := range []string{"CREATE " + q, "SELECT " + q, "UNSELECT", "RENAME INBOX " + q,
				"STATUS " + q + " (MESSAGES)", "DELETE " + q, "SUBSCRIBE " + q} {
				// Whatever the answer, nothing may leave alice's
				// Maildir: checked on disk below.
				c.cmd(cmd)
			}
			c.send("x APPEND " + q + " {3+}\r\nx\r\n")
			readUntilTag(t, c.br, "x")
			c.cmd("UNSELECT")
		}
		// As Dovecot: '~' and traversal levels are refused at CREATE.
		for _, n := range []string{"~bob", "~bob/INBOX", "~/x", "../bob", "a/../..", "/etc/passwd", "&AC4ALgAv-bob"} {
			if _, st := c.cmd(`CREATE "` + n + `"`); !strings.HasPrefix(st, "NO ") {
				t.Errorf("CREATE %q: %s", n, st)
			}
		}
		// COPY to a traversal target.
		c.appendRaw("INBOX", "Subject: x\r\n\r\nbody\r\n")
		c.ok("SELECT INBOX")
		for _, n := range []string{"../bob", "~bob/INBOX", "/tmp/x", "&AC4ALgAv-bob"} {
			if _, st := c.cmd(`COPY 1 "` + n + `"`); strings.HasPrefix(st, "OK") {
				t.Errorf("COPY to %q: %s", n, st)
			}
		}
	})
	// Nothing was made for bob, nor beside the users.
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("%s exists", outside)
	}
	entries, _ := os.ReadDir(a.root)
	for _, e := range entries {
		if e.Name() != "alice" {
			t.Errorf("created outside alice's home: %s", e.Name())
		}
	}
	filepath.Walk(filepath.Join(a.root, "alice"), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() && strings.Contains(filepath.Base(p), "..") {
			t.Errorf("traversal-looking folder %s", p)
		}
		return nil
	})
	for _, p := range []string{"/tmp/x", "/etc/passwd/cur"} {
		if _, err := os.Stat(filepath.Join(p, "cur")); err == nil {
			t.Errorf("folder made at %s", p)
		}
	}
	a.control(t)
}

// TestAbuseIMAPAuthzid: AUTHENTICATE PLAIN with another user's name as
// authorization identity does not log in as that user (no master users
// are configured), nor does LOGIN with a NUL-joined name.
func TestAbuseIMAPAuthzid(t *testing.T) {
	a := newAbuseEnv(t, nil)
	testutil.Bounded(t, 10*time.Second, func() {
		c := a.dial(t)
		for _, resp := range []string{"bob\x00alice\x00secret", "bob\x00alice\x00wrong", "alice\x00bob\x00secret", "\x00bob\x00secret\x00x"} {
			_, st := c.cmd("AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte(resp)))
			if strings.HasPrefix(st, "OK") {
				t.Fatalf("AUTHENTICATE PLAIN %q: %s", resp, st)
			}
		}
		if _, st := c.cmd("LOGIN \"bob\\\\alice\" secret"); strings.HasPrefix(st, "OK") {
			t.Fatalf("LOGIN with a joined name: %s", st)
		}
		// authzid equal to authcid is the same user: allowed.
		_, st := c.cmd("AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("alice\x00alice\x00secret")))
		if !strings.HasPrefix(st, "OK") {
			t.Fatalf("authzid = authcid: %s", st)
		}
		lines := c.ok("NAMESPACE")
		_ = lines
	})
	a.control(t)
}

// TestAbuseIMAPSlowLoginNOOPs: a client that never logs in but keeps
// sending complete commands is still disconnected LoginTimeout after
// connecting (as by Dovecot's login processes); a logged-in client's
// commands keep it alive.
func TestAbuseIMAPSlowLoginNOOPs(t *testing.T) {
	a := newAbuseEnv(t, func(s *Server) { s.LoginTimeout = 600 * time.Millisecond })
	testutil.Bounded(t, 10*time.Second, func() {
		start := time.Now()
		c := a.dial(t)
		for {
			c.send("n NOOP")
			l := c.line()
			if l == "* BYE Disconnected for inactivity." {
				break
			}
			if !strings.HasPrefix(l, "n OK") {
				t.Fatalf("NOOP: %q", l)
			}
			if time.Since(start) > 5*time.Second {
				t.Fatal("NOOPs kept a client that never logs in")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if d := time.Since(start); d < 500*time.Millisecond || d > 3*time.Second {
			t.Errorf("disconnected after %v, want about 600ms", d)
		}
		c = a.login(t, "alice", "secret")
		for range 10 {
			c.ok("NOOP")
			time.Sleep(100 * time.Millisecond)
		}
	})
}
