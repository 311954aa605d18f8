//go:build linux

package serve

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
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
	cmd := exec.Command(os.Args[0], "-test.run=^TestRlimitChild$")
	cmd.Env = append(os.Environ(), rlimitChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	br := bufio.NewReader(stdout)
	line, err := br.ReadString('\n')
	go func() {
		io.Copy(io.Discard, br)
		done <- cmd.Wait()
	}()
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
		t.Fatalf("child said %q, %v; stderr:\n%s", line, err, stderr.String())
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))

	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for range 200 {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			break // the backlog is full: flooded enough
		}
		flood = append(flood, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "accept failed") {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections did not exhaust the child's descriptors; stderr:\n%s", len(flood), stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "too many open files") {
		t.Errorf("the accept error is not EMFILE:\n%s", stderr.String())
	}
	for _, c := range flood {
		c.Close()
	}
	flood = nil

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
