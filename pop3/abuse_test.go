package pop3

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// The abuse suite: what an attacker from one address tries against the
// POP3 server, over real sockets, each probe bounded in seconds. Every
// probe checks the refusal, that the server's heap stayed bounded, and
// that a well-behaved client is still served afterwards.

// TestAbusePOP3OverlongLine: a 1 MiB line is answered with one -ERR and
// never held; MaxBadCommands of them end the session.
func TestAbusePOP3OverlongLine(t *testing.T) {
	a := newAbuseEnv(t, &Server{})
	before := testutil.HeapInUse()
	testutil.Bounded(t, 10*time.Second, func() {
		c := a.dial()
		go c.conn.Write([]byte("USER " + strings.Repeat("x", 1<<20) + "\r\nNOOP\r\n"))
		c.expect("-ERR Command line too long (the limit is 255 octets with CRLF).")
		c.expect("-ERR ") // NOOP before login
		for range DefaultMaxBadCommands - 2 {
			c.send("X" + strings.Repeat("y", 300))
			c.expect("-ERR Command line too long")
		}
		c.expect("-ERR Too many bad commands, closing connection.")
		if !c.closed() {
			t.Fatal("connection open after too many bad commands")
		}
	})
	testutil.CheckHeap(t, "overlong lines", before, 16<<20)
	a.control(t)
}

// TestAbusePOP3NULAndBareLineEnds: NUL in a command is refused; a bare
// CR does not end a line; a bare LF does, as Dovecot takes it.
func TestAbusePOP3NULAndBareLineEnds(t *testing.T) {
	a := newAbuseEnv(t, &Server{})
	testutil.Bounded(t, 10*time.Second, func() {
		c := a.login("alice", "secret")
		c.conn.Write([]byte("NO\x00OP\r\n"))
		c.expect("-ERR")
		c.conn.Write([]byte("STAT\rSTAT\r\n"))
		c.expect("-ERR")
		c.conn.Write([]byte("STAT\nSTAT\r\n"))
		c.expect("+OK 1 ")
		c.expect("+OK 1 ")
		c.cmd("USER al\x00ice", "-ERR")
	})
	a.control(t)
}

// TestAbusePOP3PipelinedFlood: 300,000 pipelined commands from a client
// that never reads: the server stops reading once its replies cannot be
// sent and drops the client after WriteTimeout; its heap does not grow
// with the flood.
func TestAbusePOP3PipelinedFlood(t *testing.T) {
	a := newAbuseEnv(t, &Server{WriteTimeout: 500 * time.Millisecond})
	before := testutil.HeapInUse()
	testutil.Bounded(t, 15*time.Second, func() {
		c := a.login("alice", "secret")
		flood := []byte(strings.Repeat("LIST\r\nUIDL\r\nRETR 1\r\n", 100_000))
		c.conn.SetWriteDeadline(time.Now().Add(8 * time.Second))
		c.conn.Write(flood)
		deadline := time.Now().Add(8 * time.Second)
		for a.srv.sessions.Len() > 0 {
			if time.Now().After(deadline) {
				t.Fatal("server kept a client that never reads")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	testutil.CheckHeap(t, "pipelined flood", before, 16<<20)
	if n := len(a.inbox("alice")); n != 1 {
		t.Fatalf("flood changed the mailbox: %d messages", n)
	}
	a.control(t)
}

// TestAbusePOP3Slowloris: 500 connections from one address that never
// log in: LoginMaxConnectionsPerIP (50) are greeted, the rest refused
// at once with -ERR [SYS/TEMP] and logged; the slow ones end at
// LoginTimeout; then the address is served again.
func TestAbusePOP3Slowloris(t *testing.T) {
	a := newAbuseEnv(t, &Server{LoginTimeout: 4 * time.Second})
	before := testutil.HeapInUse()
	var conns []net.Conn
	testutil.Bounded(t, 20*time.Second, func() {
		crowd := testutil.OpenCrowd(t, a.addr, 500, "+OK ", "-ERR ")
		conns = crowd.Conns
		greeted, refused, refusals := crowd.Greeted, crowd.Refused, crowd.Refusals
		if greeted != DefaultLoginMaxConnectionsPerIP || refused != 500-DefaultLoginMaxConnectionsPerIP {
			t.Fatalf("%d greeted, %d refused; want %d greeted", greeted, refused, DefaultLoginMaxConnectionsPerIP)
		}
		for r := range refusals {
			if r != "-ERR [SYS/TEMP] Too many connections from your IP address (login_max_connections_per_ip=50)." {
				t.Errorf("refusal %q", r)
			}
		}
		testutil.CheckHeap(t, "500 slow connections", before, 32<<20)
		deadline := time.Now().Add(8 * time.Second)
		for a.srv.sessions.Len() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d slow connections outlived IdleTimeout", a.srv.sessions.Len())
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
	if n := strings.Count(a.logs.String(), "pop3: connection refused"); n != 450 {
		t.Errorf("%d refusals logged, want 450", n)
	}
	a.control(t)
}

// TestAbusePOP3MaxConnections: MaxConnections (process_limit) holds for
// connections from many sessions at once; the refusal names it.
func TestAbusePOP3MaxConnections(t *testing.T) {
	a := newAbuseEnv(t, &Server{MaxConnections: 3})
	var held []*client
	for range 3 {
		held = append(held, a.dial())
	}
	c := a.dial0()
	c.expect("-ERR [SYS/TEMP] Maximum number of connections exceeded (process_limit=3).")
	for _, h := range held {
		h.cmd("QUIT", "+OK")
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.srv.sessions.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	a.control(t)
}

// TestAbusePOP3ParallelBruteForce: 200 connections from one address
// send wrong USER/PASS pairs as fast as they are answered for 1.5 s:
// the passwords checked per second stay within what the penalty allows
// one client after another (about 1/PenaltyMax).
func TestAbusePOP3ParallelBruteForce(t *testing.T) {
	a := newAbuseEnv(t, &Server{LoginMaxConnectionsPerIP: -1, MaxBadCommands: 1 << 20})
	before := testutil.HeapInUse()
	const attackers = 200
	run := 1500 * time.Millisecond
	start := time.Now()
	testutil.Bounded(t, 20*time.Second, func() {
		var wg sync.WaitGroup
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
				c := rawClient(t, nc)
				c.r.ReadString('\n')
				for n := 0; time.Since(start) < run; n++ {
					fmt.Fprintf(nc, "USER alice\r\nPASS guess%d.%d\r\n", i, n)
					c.r.ReadString('\n')
					l, err := c.r.ReadString('\n')
					if err != nil || !strings.HasPrefix(l, "-ERR [") {
						t.Errorf("wrong password: %q %v", l, err)
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

// TestAbusePOP3AuthEdges: SASL lines at the edges: an initial response
// or continuation over MaxAuthLineLength, bad base64, an abort.
func TestAbusePOP3AuthEdges(t *testing.T) {
	a := newAbuseEnv(t, &Server{})
	before := testutil.HeapInUse()
	testutil.Bounded(t, 10*time.Second, func() {
		c := a.dial()
		c.cmd("AUTH PLAIN "+strings.Repeat("A", 300), "-ERR") // over the command line limit
		c.cmd("AUTH PLAIN", "+ ")
		c.send(strings.Repeat("A", DefaultMaxAuthLineLength+10))
		c.expect("-ERR")
		c.cmd("AUTH PLAIN", "+ ")
		c.cmd("!!!not base64!!!", "-ERR")
		c.cmd("AUTH PLAIN", "+ ")
		c.cmd("*", "-ERR")
		c.cmd("AUTH NOSUCH", "-ERR")
		c.cmd("STAT", "-ERR")
	})
	testutil.CheckHeap(t, "auth edges", before, 16<<20)
	a.control(t)
}

// TestAbusePOP3Authzid: AUTH PLAIN with another user's name as
// authorization identity does not log in as that user, nor do user
// names with traversal or NUL; nothing is created for them.
func TestAbusePOP3Authzid(t *testing.T) {
	a := newAbuseEnv(t, &Server{})
	testutil.Bounded(t, 10*time.Second, func() {
		c := a.dial()
		for _, resp := range []string{"bob\x00alice\x00secret", "alice\x00bob\x00secret", "\x00bob\x00secret\x00x"} {
			c.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte(resp)), "-ERR")
		}
		for _, user := range []string{"../bob", "alice/../bob", "~bob", "/etc/passwd", "alice\\bob", "ALICE/.."} {
			c.cmd("USER "+user, "+OK")
			c.cmd("PASS secret", "-ERR")
		}
		c.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("alice\x00alice\x00secret")), "+OK")
		c.cmd("QUIT", "+OK")
	})
	entries, _ := os.ReadDir(a.root)
	for _, e := range entries {
		if e.Name() != "alice" {
			t.Errorf("created under the users' root: %s", e.Name())
		}
	}
	a.control(t)
}

// TestAbusePOP3SlowLoginCommands: a client that never logs in but keeps
// sending commands is still disconnected LoginTimeout after connecting
// (as by Dovecot's login processes); a logged-in client's commands keep
// it alive.
func TestAbusePOP3SlowLoginCommands(t *testing.T) {
	a := newAbuseEnv(t, &Server{LoginTimeout: 600 * time.Millisecond})
	testutil.Bounded(t, 10*time.Second, func() {
		start := time.Now()
		c := a.dial()
		for {
			c.send("CAPA")
			l := c.line()
			if l == "-ERR Disconnected for inactivity." {
				break
			}
			if !strings.HasPrefix(l, "+OK") {
				t.Fatalf("CAPA: %q", l)
			}
			c.multi()
			if time.Since(start) > 5*time.Second {
				t.Fatal("commands kept a client that never logs in")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if d := time.Since(start); d < 500*time.Millisecond || d > 3*time.Second {
			t.Errorf("disconnected after %v, want about 600ms", d)
		}
		c = a.login("alice", "secret")
		for range 10 {
			c.cmd("NOOP", "+OK")
			time.Sleep(100 * time.Millisecond)
		}
	})
}
