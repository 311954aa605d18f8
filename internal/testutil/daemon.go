package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// daemon is a server program a test started in the foreground: its
// output is collected, and stop ends it by PID (an interrupt, then a
// kill after 5 seconds).
type daemon struct {
	cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{}
}

// startDaemon starts bin with args.
func startDaemon(bin string, args ...string) (*daemon, error) {
	cmd := exec.Command(bin, args...)
	d := &daemon{cmd: cmd, out: &SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.out, d.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); close(d.done) }()
	return d, nil
}

// pid is the daemon's process id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// exited reports whether the daemon has ended.
func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop interrupts the daemon and waits for it, killing it after 5
// seconds.
func (d *daemon) stop() {
	d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(5 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// startOnPorts calls start with a port from choosePort until it
// succeeds, up to 5 times (a server that binds its port itself can lose
// it to another test between the choice and the bind), and fails the
// test with the last error otherwise.
func startOnPorts[T any](t testing.TB, name string, choosePort func() int, start func(port int) (T, error)) T {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port := choosePort()
		v, err := start(port)
		if err == nil {
			return v
		}
		lastErr = err
		t.Logf("%s on port %d: %s; starting again on another port", name, port, strings.TrimSpace(err.Error()))
	}
	t.Fatalf("%s: %v", name, lastErr)
	var zero T
	return zero
}
