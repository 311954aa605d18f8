//go:build linux

package pop3

import (
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

const fdChildEnv = "YUBIN_POP3_FD_CHILD"

// TestAbusePOP3FDChild is the server half of
// TestAbusePOP3DescriptorFlood: in the re-executed child it serves POP3
// with RLIMIT_NOFILE lowered to 40, prints its address and runs until
// its standard input closes.
func TestAbusePOP3FDChild(t *testing.T) {
	if os.Getenv(fdChildEnv) != "1" {
		t.Skip("the child half of TestAbusePOP3DescriptorFlood")
	}
	lim := syscall.Rlimit{Cur: 40, Max: 40}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	e := startServer(t, &Server{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	os.Stdout.WriteString("ADDR " + e.addr + "\n")
	io.Copy(io.Discard, os.Stdin)
}

// TestAbusePOP3DescriptorFlood: a server limited to 40 file descriptors
// is flooded with 300 connections from one address, so that Accept
// fails with EMFILE; once the flood is gone the same listener serves a
// login again.
func TestAbusePOP3DescriptorFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	addr, stderr := testutil.StartChild(t, "TestAbusePOP3FDChild", fdChildEnv, "1")
	testutil.Bounded(t, 20*time.Second, func() {
		testutil.FloodDescriptors(t, addr, 300, stderr)
		nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("listener gone: %v", err)
		}
		defer nc.Close()
		c := rawClient(t, nc)
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		c.expect("+OK ")
		c.cmd("USER alice", "+OK")
		c.cmd("PASS secret", "+OK Logged in.")
		c.cmd("STAT", "+OK 0 0")
		c.cmd("QUIT", "+OK")
	})
	if n := strings.Count(stderr.String(), "accept failed"); n != 1 {
		t.Errorf("accept errors logged %d times, want once per episode:\n%s", n, stderr.String())
	}
}
