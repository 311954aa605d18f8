package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartTestChild runs this test binary again as a child server process
// (no tests, env added to the environment, so that its TestMain or
// init starts a server), reads the "ADDR host:port" line the child
// prints first, and returns that address, the child's PID and a
// function that ends it: closing its stdin, which the child takes as
// its signal to stop, then killing it after 10 seconds. The stop also
// runs when the test ends. Benchmarks use it to measure a server's CPU
// in a process of its own.
func StartTestChild(t testing.TB, env ...string) (string, int, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			in.Close()
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if err != nil || !ok {
		t.Fatalf("child server process (%s) did not start: %q %v", strings.Join(env, " "), line, err)
	}
	return addr, cmd.Process.Pid, stop
}
