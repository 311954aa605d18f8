package testutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	// before the content. It is empty when SmtpSinkConfig.NoDump was set.
	DumpDir string
	// PID is the smtp-sink process.
	PID int
	out *SyncBuffer
}

// SmtpSinkConfig says how StartSmtpSinkConfig runs smtp-sink.
type SmtpSinkConfig struct {
	// Host is the address it listens on: "127.0.0.1" (the default) or
	// "::1".
	Host string
	// Options are smtp-sink options put before the endpoint, for
	// example "-L" (LMTP), "-v" (log every command), "-c" (counters on
	// standard output), "-r", "RCPT" (4xx replies to RCPT).
	Options []string
	// DumpTemplate is the -d template (strftime(3) text to which
	// smtp-sink appends a random number), for example DIR+"/msg-";
	// DumpDir is then its directory. Empty means "dump/%Y%m%d%H%M%S."
	// under a fresh shared directory.
	DumpTemplate string
	// NoDump runs it without -d: nothing is written per message (for
	// benchmarks).
	NoDump bool
	// Backlog is its listen backlog; 0 means 64.
	Backlog int
	// Output, when set, receives everything it writes to its standard
	// output and error as it writes it (for -c counters); it is also
	// kept for SmtpSink.Output.
	Output io.Writer
}

// StartSmtpSink starts smtp-sink listening on host ("127.0.0.1" or
// "::1") and a free port, as user nobody, dumping messages to a
// temporary directory, with the extra options given (for example "-r",
// "RCPT" for 4xx replies to RCPT, "-W", "EHLO:30" to stall). It is
// stopped by PID when the test ends. It skips (or fails under
// YUBIN_REQUIRE_INTEROP=1) when smtp-sink is missing. See
// StartSmtpSinkConfig for how it copes with another program taking the
// port first.
func StartSmtpSink(t testing.TB, host string, opts ...string) *SmtpSink {
	t.Helper()
	return StartSmtpSinkConfig(t, SmtpSinkConfig{Host: host, Options: opts})
}

// smtpSinkAttempts bounds the starts of StartSmtpSinkConfig.
const smtpSinkAttempts = 5

// StartSmtpSinkConfig starts smtp-sink as c says (as user nobody when
// the test runs as root) and stops it by PID when the test ends.
// smtp-sink binds the port itself and cannot be handed a bound socket,
// so the port chosen may be taken by another program before it binds
// it: it is ready only when the smtp-sink process itself holds a socket
// listening on the port (read from /proc; elsewhere, when a dial
// succeeds and it is still running 1.5 s later). When it exits instead
// (bind: Address already in use), it is started again on another port,
// up to 5 times. It skips (or fails under YUBIN_REQUIRE_INTEROP=1) when
// smtp-sink is missing.
func StartSmtpSinkConfig(t testing.TB, c SmtpSinkConfig) *SmtpSink {
	t.Helper()
	host := c.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return startSmtpSink(t, c, host, func() int { return freePortOn(t, host) })
}

// startSmtpSink is StartSmtpSinkConfig with the port chooser given.
func startSmtpSink(t testing.TB, c SmtpSinkConfig, host string, choosePort func() int) *SmtpSink {
	t.Helper()
	bin := RequireBinary(t, "smtp-sink")
	backlog := c.Backlog
	if backlog <= 0 {
		backlog = 64
	}
	var dump, dumpDir string
	switch {
	case c.NoDump:
	case c.DumpTemplate != "":
		dump, dumpDir = c.DumpTemplate, filepath.Dir(c.DumpTemplate)
	default:
		dumpDir = filepath.Join(SharedDir(t), "dump")
		if err := os.Mkdir(dumpDir, 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dumpDir, 0o777)
		dump = dumpDir + "/%Y%m%d%H%M%S."
	}
	var lastErr error
	for attempt := 0; attempt < smtpSinkAttempts; attempt++ {
		port := choosePort()
		addr := net.JoinHostPort(host, fmt.Sprint(port))
		args := append([]string{}, c.Options...)
		if os.Geteuid() == 0 {
			args = append(args, "-u", "nobody")
		}
		if dump != "" {
			args = append(args, "-d", dump)
		}
		args = append(args, "["+host+"]:"+fmt.Sprint(port), fmt.Sprint(backlog))
		cmd := exec.Command(bin, args...)
		out := &SyncBuffer{}
		var w io.Writer = out
		if c.Output != nil {
			w = io.MultiWriter(out, c.Output)
		}
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		stop := func() {
			cmd.Process.Kill()
			<-done
		}
		if lastErr = waitListening(cmd.Process.Pid, addr, port, done, 10*time.Second); lastErr == nil {
			t.Cleanup(stop)
			return &SmtpSink{Addr: addr, Port: port, DumpDir: dumpDir, PID: cmd.Process.Pid, out: out}
		}
		stop()
		lastErr = fmt.Errorf("%v: %s", lastErr, strings.TrimSpace(out.String()))
		t.Logf("smtp-sink on %s: %v; starting again on another port", addr, lastErr)
	}
	t.Fatalf("smtp-sink did not start in %d attempts: %v", smtpSinkAttempts, lastErr)
	return nil
}

// waitListening waits until process pid (whose exit closes done)
// listens on addr (port), and returns an error when it exited or did not
// within timeout.
func waitListening(pid int, addr string, port int, done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-done:
			return errors.New("exited")
		default:
		}
		held, known := holdsTCPListener(pid, port)
		if held {
			return nil
		}
		if !known {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", addr)
			cancel()
			if err == nil {
				c.Close()
				// Still running: the answer most likely came from
				// this process, not from another that took the port
				// (Postfix's programs sleep a second before they exit
				// on a fatal error such as a failed bind).
				select {
				case <-done:
					return errors.New("exited")
				case <-time.After(1500 * time.Millisecond):
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %v", addr, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Output returns what smtp-sink wrote to its standard output and error
// so far (with -v, every command it received).
func (s *SmtpSink) Output() string {
	if s.out == nil {
		return ""
	}
	return s.out.String()
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

// WaitMessages waits until n messages were dumped. smtp-sink writes a
// file as it receives the message, and the test cannot see when the
// client got its 250: a dump counts once it is not empty and has not
// changed for 100 ms.
func (s *SmtpSink) WaitMessages(t testing.TB, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []string
	var stableSince time.Time
	for {
		msgs := s.Messages(t)
		complete := len(msgs) >= n
		for _, m := range msgs {
			if m == "" {
				complete = false
			}
		}
		if !complete || !slices.Equal(msgs, last) {
			stableSince = time.Now()
		}
		last = msgs
		if complete && time.Since(stableSince) >= 100*time.Millisecond || time.Now().After(deadline) {
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
