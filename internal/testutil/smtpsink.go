package testutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// SmtpSink is a running Postfix smtp-sink(1): a test SMTP server that
// accepts (or, with options, refuses or stalls) mail and dumps each
// message into a file under DumpDir.
type SmtpSink struct {
	// Addr is the "host:port" it listens on.
	Addr string
	// Port is its TCP port.
	Port int
	// DumpDir receives one file per message (-d), with smtp-sink's
	// X-Client-Addr, X-Helo-Args, X-Mail-Args and X-Rcpt-Args headers
	// before the content.
	DumpDir string
}

// StartSmtpSink starts smtp-sink listening on host ("127.0.0.1" or
// "::1") and a free port, as user nobody, dumping messages to a
// temporary directory, with the extra options given (for example "-r",
// "RCPT" for 4xx replies to RCPT, "-W", "EHLO:30" to stall). It is
// stopped by PID when the test ends. It skips (or fails under
// YUBIN_REQUIRE_INTEROP=1) when smtp-sink is missing.
func StartSmtpSink(t testing.TB, host string, opts ...string) *SmtpSink {
	t.Helper()
	bin := RequireBinary(t, "smtp-sink")
	dir := SharedDir(t)
	dump := filepath.Join(dir, "dump")
	if err := os.Mkdir(dump, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dump, 0o777)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePortOn(t, host)
		addr := net.JoinHostPort(host, fmt.Sprint(port))
		args := append([]string{}, opts...)
		if os.Geteuid() == 0 {
			args = append(args, "-u", "nobody")
		}
		args = append(args, "-d", dump+"/%Y%m%d%H%M%S.", "["+host+"]:"+fmt.Sprint(port), "64")
		cmd := exec.Command(bin, args...)
		out := &SyncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		stop := func() {
			cmd.Process.Kill()
			<-done
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			select {
			case <-done:
				lastErr = fmt.Errorf("smtp-sink exited: %s", out.String())
			default:
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				var d net.Dialer
				c, err := d.DialContext(ctx, "tcp", addr)
				cancel()
				if err == nil {
					c.Close()
					// Still running: the answer came from this smtp-sink,
					// not from another program that took the port first.
					select {
					case <-done:
						lastErr = fmt.Errorf("smtp-sink exited: %s", out.String())
					case <-time.After(50 * time.Millisecond):
						t.Cleanup(stop)
						return &SmtpSink{Addr: addr, Port: port, DumpDir: dump}
					}
					break
				}
				lastErr = err
				if time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				stop()
			}
			break
		}
	}
	t.Fatalf("smtp-sink: %v", lastErr)
	return nil
}

func freePortOn(t testing.TB, host string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Messages returns the dumped messages so far, oldest first by name.
func (s *SmtpSink) Messages(t testing.TB) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(s.DumpDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	msgs := make([]string, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(b))
	}
	return msgs
}

// WaitMessages waits until n messages were dumped (smtp-sink writes the
// file as it receives; it is complete once the client has its 250).
func (s *SmtpSink) WaitMessages(t testing.TB, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages(t)
		if len(msgs) >= n || time.Now().After(deadline) {
			return msgs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// HasLine reports whether a dumped message has a line equal to l.
func HasLine(msg, l string) bool {
	for _, x := range strings.Split(msg, "\n") {
		if strings.TrimRight(x, "\r") == l {
			return true
		}
	}
	return false
}
