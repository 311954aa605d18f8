//go:build linux

package imap

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

const fdChildEnv = "YUBIN_IMAP_FD_CHILD"

// TestAbuseIMAPFDChild is the server half of
// TestAbuseIMAPDescriptorFlood: in the re-executed child it serves IMAP
// over Maildirs under the directory in $YUBIN_IMAP_FD_CHILD with
// RLIMIT_NOFILE lowered to 40, prints its address and runs until its
// standard input closes.
func TestAbuseIMAPFDChild(t *testing.T) {
	root := os.Getenv(fdChildEnv)
	if root == "" {
		t.Skip("the child half of TestAbuseIMAPDescriptorFlood")
	}
	lim := syscall.Rlimit{Cur: 40, Max: 40}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	env := newTestEnvAt(t, root, func(s *Server) {
		s.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	})
	os.Stdout.WriteString("ADDR " + env.addr + "\n")
	io.Copy(io.Discard, os.Stdin)
}

// TestAbuseIMAPDescriptorFlood: a server limited to 40 file descriptors
// is flooded with 300 connections from one address, so that Accept
// fails with EMFILE; once the flood is gone the same listener serves a
// login, SELECT and FETCH again.
func TestAbuseIMAPDescriptorFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	addr, stderr := testutil.StartChild(t, "TestAbuseIMAPFDChild", fdChildEnv, t.TempDir())
	testutil.Bounded(t, 20*time.Second, func() {
		testutil.FloodDescriptors(t, addr, 300, stderr)
		// The control client, on the same listener.
		nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("listener gone: %v", err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
		if g := c.line(); !strings.HasPrefix(g, "* OK") {
			t.Fatalf("greeting after the flood: %q", g)
		}
		c.ok("LOGIN alice secret")
		c.ok("SELECT INBOX")
		c.ok("LOGOUT")
	})
	if n := strings.Count(stderr.String(), "accept failed"); n != 1 {
		t.Errorf("accept errors logged %d times, want once per episode:\n%s", n, stderr.String())
	}
}
