package queuebench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadResult is one run of the load generator.
type loadResult struct {
	elapsed time.Duration // first smtp-source started to last exited
	cpu     time.Duration // the smtp-source processes' user+system time
}

// goClientName is the file name of bench/smtp's load tool when
// QUEUE_BENCH_CLIENT=go puts it in smtp-source's place.
const goClientName = "yubin-smtp-load"

// runSource sends messages of size payload bytes to addr with
// smtp-source, one message per connection (no -d), over sessions
// parallel sessions spread across the recipients: one smtp-source
// process per recipient (smtp-source sends every message to its one -t
// address), each with its share of the sessions and messages.
// With lmtp it speaks LMTP (smtp-source -L).
func runSource(ctx context.Context, bin, addr string, sessions, messages, size int, rcpts []string, lmtp bool) (loadResult, error) {
	procs := min(len(rcpts), sessions)
	type part struct{ s, m int }
	parts := make([]part, procs)
	for i := range parts {
		parts[i].s = sessions / procs
		if i < sessions%procs {
			parts[i].s++
		}
		parts[i].m = messages / procs
		if i < messages%procs {
			parts[i].m++
		}
	}
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*strings.Builder, procs)
	for i, p := range parts {
		outs[i] = &strings.Builder{}
		args := []string{"-4", "-s", strconv.Itoa(p.s), "-m", strconv.Itoa(p.m),
			"-l", strconv.Itoa(size), "-f", "bench@example.org", "-t", rcpts[i], "-M", "load.example.org", addr}
		if lmtp {
			args = append([]string{"-L"}, args...)
		}
		if filepath.Base(bin) == goClientName {
			// bench/smtp's load tool: yubin's smtp.Client, PIPELINING
			// and BDAT when offered, one message per connection.
			proto := "smtp"
			if lmtp {
				proto = "lmtp"
			}
			args = []string{"-proto", proto, "-addr", addr, "-rcpt", rcpts[i], "-c", strconv.Itoa(p.s),
				"-n", strconv.Itoa(p.m), "-size", strconv.Itoa(size)}
		}
		cmds[i] = exec.CommandContext(ctx, bin, args...)
		cmds[i].Stdout = outs[i]
		cmds[i].Stderr = outs[i]
	}
	start := time.Now()
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			for _, c := range cmds[:i] {
				c.Process.Kill()
				c.Wait()
			}
			return loadResult{}, err
		}
	}
	var r loadResult
	var first error
	for i, c := range cmds {
		err := c.Wait()
		if err != nil && first == nil {
			first = fmt.Errorf("smtp-source -t %s: %v: %s", rcpts[i], err, strings.TrimSpace(outs[i].String()))
		}
		if c.ProcessState != nil {
			r.cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
		}
	}
	r.elapsed = time.Since(start)
	return r, first
}

// buildGoClient builds bench/smtp's load tool into dir.
func buildGoClient(b testing.TB, dir string) string {
	bin := filepath.Join(dir, goClientName)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBinary(), "build", "-o", bin, "./bench/smtp")
	cmd.Dir = repoRoot(b)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./bench/smtp: %v\n%s", err, out)
	}
	return bin
}

// countMaildirs counts the messages in new/ and cur/ of every Maildir
// that matches the glob pattern.
func countMaildirs(pattern string) int {
	n := 0
	dirs, _ := filepath.Glob(pattern)
	for _, d := range dirs {
		for _, sub := range []string{"new", "cur"} {
			f, err := os.Open(filepath.Join(d, sub))
			if err != nil {
				continue
			}
			names, _ := f.Readdirnames(-1)
			f.Close()
			n += len(names)
		}
	}
	return n
}

// waitCount polls count until it reaches want, for at most timeout.
func waitCount(count func() int, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got := count()
		if got >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d messages delivered after %v", got, want, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncCalls are the system calls counted as "fsyncs".
const syncCalls = "fsync,fdatasync,sync_file_range,syncfs,sync,msync"

// isSyncCall reports whether a system call is one of syncCalls.
func isSyncCall(name string) bool {
	for _, c := range strings.Split(syncCalls, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// straceSyncs counts the sync-class system calls that the processes
// pids (with their threads, and the processes and threads they start
// meanwhile: strace -f) make while run runs.
// With all, every system call is counted, not only syncCalls.
func straceSyncs(ctx context.Context, bin string, pids []int, all bool, run func() error) (map[string]int, error) {
	out, err := os.CreateTemp("", "queuebench-strace-")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	trace := syncCalls
	if all {
		trace = "all"
	}
	args := []string{"-f", "-c", "-e", "trace=" + trace, "-o", out.Name()}
	for _, p := range pids {
		args = append(args, "-p", strconv.Itoa(p))
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// "Process N attached" once per -p before tracing starts.
	attached := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		n := 0
		for sc.Scan() {
			if strings.Contains(sc.Text(), " attached") {
				if n++; n == len(pids) {
					close(attached)
				}
			}
		}
		if n < len(pids) {
			close(attached)
		}
	}()
	select {
	case <-attached:
	case <-time.After(10 * time.Second):
	}
	runErr := run()
	cmd.Process.Signal(syscall.SIGINT) // detach and write the summary
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-waited
	}
	if runErr != nil {
		return nil, runErr
	}
	summary, err := os.ReadFile(out.Name())
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(summary)) == "" {
		return map[string]int{}, nil // strace -c writes nothing when no call was made
	}
	counts := parseStraceSummary(string(summary))
	if counts == nil {
		return nil, errors.New("no strace summary: " + string(summary))
	}
	return counts, nil
}

// parseStraceSummary reads strace -c's table: calls per system call
// (the "total" row left out), or nil when there is no table.
func parseStraceSummary(s string) map[string]int {
	var counts map[string]int
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == "%" {
			counts = map[string]int{}
			continue
		}
		if counts == nil || len(f) < 5 || strings.HasPrefix(f[0], "-") {
			continue
		}
		name := f[len(f)-1]
		calls, err := strconv.Atoi(f[3])
		if err != nil || name == "total" {
			continue
		}
		counts[name] = calls
	}
	return counts
}

// sumCounts is the total of a count map.
func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
