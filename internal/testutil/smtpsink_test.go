package testutil

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSmtpSinkStartRetriesBusyPort: when another program listens on the
// port chosen for smtp-sink by the time smtp-sink binds it (here a Go
// listener that accepts connections, so a dial there succeeds), the sink
// is started again on another port instead of being taken to listen on
// the busy one or failing the test.
func TestSmtpSinkStartRetriesBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	go func() {
		for {
			c, err := busy.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	tries := 0
	s := startSmtpSink(t, SmtpSinkConfig{}, "127.0.0.1", func() int {
		tries++
		if tries == 1 {
			return busyPort
		}
		return freePortOn(t, "127.0.0.1")
	})
	if tries != 2 || s.Port == busyPort {
		t.Fatalf("%d tries, port %d (busy %d)", tries, s.Port, busyPort)
	}
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if !strings.HasPrefix(line, "220 ") {
		t.Fatalf("greeting %q, %v", line, err)
	}
}

// TestSmtpSinkOutputAndNoDump: -v output reaches both Output and
// SmtpSink.Output, and NoDump leaves DumpDir empty.
func TestSmtpSinkOutputAndNoDump(t *testing.T) {
	var mu SyncBuffer
	s := StartSmtpSinkConfig(t, SmtpSinkConfig{Options: []string{"-v"}, NoDump: true, Output: &mu})
	if s.DumpDir != "" {
		t.Errorf("DumpDir %q with NoDump", s.DumpDir)
	}
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	br.ReadString('\n')
	c.Write([]byte("NOOP\r\n"))
	br.ReadString('\n')
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Output(), "NOOP") || !strings.Contains(mu.String(), "NOOP") {
		if time.Now().After(deadline) {
			t.Fatalf("no NOOP in the output: %q / %q", s.Output(), mu.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
