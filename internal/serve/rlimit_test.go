//go:build linux

package serve

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

const rlimitChildEnv = "YUBIN_SERVE_RLIMIT_CHILD"

// TestRlimitChild is the server half of TestServeSurvivesDescriptorExhaustion:
// run alone it does nothing; in the re-executed child it lowers
// RLIMIT_NOFILE to 32, serves an echo Group on 127.0.0.1:0, prints the
// address and serves until its standard input closes.
func TestRlimitChild(t *testing.T) {
	if os.Getenv(rlimitChildEnv) != "1" {
		t.Skip("the child half of TestServeSurvivesDescriptorExhaustion")
	}
	lim := syscall.Rlimit{Cur: 32, Max: 32}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var g Group
	g.SetLogger(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	go g.Serve(l, func(c net.Conn) {
		defer c.Close()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			c.Write([]byte(line))
		}
	})
	os.Stdout.WriteString("ADDR " + l.Addr().String() + "\n")
	io.Copy(io.Discard, os.Stdin)
	g.Close()
}

// TestServeSurvivesDescriptorExhaustion: a server limited to 32 file
// descriptors is flooded with 200 connections from one client, so that
// Accept fails with EMFILE; once the client lets go, the same listener
// serves a new connection, and the episode was logged once.
func TestServeSurvivesDescriptorExhaustion(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	addr, stderr := testutil.StartChild(t, "TestRlimitChild", rlimitChildEnv, "1")
	testutil.FloodDescriptors(t, addr, 200, stderr)
	if !strings.Contains(stderr.String(), "accept failed") {
		t.Errorf("the EMFILE episode was not logged as an accept failure:\n%s", stderr.String())
	}

	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("listener gone after the flood: %v\n%s", err, stderr.String())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("ping\n"))
	if got, err := bufio.NewReader(c).ReadString('\n'); got != "ping\n" {
		t.Fatalf("after the flood the server answered %q, %v; stderr:\n%s", got, err, stderr.String())
	}
	logs := stderr.String()
	if n := strings.Count(logs, "accept failed"); n != 1 {
		t.Errorf("episode logged %d times, want once:\n%s", n, logs)
	}
	if n := strings.Count(logs, "accepting again"); n != 1 {
		t.Errorf("end of the episode logged %d times, want once:\n%s", n, logs)
	}
}
