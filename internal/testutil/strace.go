package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// StraceCounts runs cmd (not yet started) under strace -f -c, counting
// the given system calls in cmd and its threads and children, and
// returns how many of each were made (missing: none). It skips the test
// when strace is missing (fails with YUBIN_REQUIRE_INTEROP=1). cmd's
// exit status is returned as err.
func StraceCounts(t testing.TB, cmd *exec.Cmd, syscalls ...string) (map[string]int, error) {
	t.Helper()
	strace := RequireBinary(t, "strace")
	out := filepath.Join(t.TempDir(), "strace.out")
	args := append([]string{"-f", "-c", "-o", out, "-e", "trace=" + strings.Join(syscalls, ","), "--", cmd.Path}, cmd.Args[1:]...)
	cmd.Path, cmd.Args = strace, append([]string{strace}, args...)
	cmd.Err = nil
	err := cmd.Run()
	b, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("strace wrote no summary: %v (run: %v)", rerr, err)
	}
	counts := map[string]int{}
	// "% time     seconds  usecs/call     calls    errors syscall" rows.
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 || f[len(f)-1] == "total" || f[len(f)-1] == "syscall" {
			continue
		}
		name := f[len(f)-1]
		calls, cerr := strconv.Atoi(f[3])
		if cerr != nil {
			continue
		}
		counts[name] = calls
	}
	return counts, err
}
