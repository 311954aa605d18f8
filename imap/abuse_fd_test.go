//go:build linux

package imap

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestAbuseIMAPFDChild$")
	cmd.Env = append(os.Environ(), fdChildEnv+"="+t.TempDir())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr syncLog
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	line, err := br.ReadString('\n')
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, br); cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("child said %q, %v:\n%s", line, err, stderr.String())
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))

	var (
		mu    sync.Mutex
		flood []net.Conn
	)
	bounded(t, 20*time.Second, func() {
		var wg sync.WaitGroup
		for range 300 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
				if err != nil {
					return
				}
				mu.Lock()
				flood = append(flood, nc)
				mu.Unlock()
			}()
		}
		wg.Wait()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(stderr.String(), "too many open files") {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections did not exhaust the descriptors:\n%s", len(flood), stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, nc := range flood {
			nc.Close()
		}
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
