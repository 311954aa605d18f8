package testutil

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// systemUser returns the uid and gid of a Debian system user (mysql,
// postgres) that a database server runs as, or marks the test
// unavailable.
func systemUser(t testing.TB, name string) (int, int) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		Unavailable(t, "system user %s missing (its Debian package creates it): %v", name, err)
		return 0, 0
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// asUser makes cmd run as uid:gid when the test runs as root (servers
// that refuse root), and in its own process group so that only it and
// its children are ended.
func asUser(cmd *exec.Cmd, uid, gid int) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
}

// chownTree gives dir and everything below it to uid:gid (as root).
func chownTree(t testing.TB, dir string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stopProcess ends a server started by a fixture: sig (its fast
// shutdown) to it, then SIGKILL to its process group after wait.
func stopProcess(cmd *exec.Cmd, done <-chan struct{}, sig syscall.Signal, wait time.Duration) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// suspend stops (SIGSTOP) a server started by a fixture and all its
// descendants (PostgreSQL's backends each lead a process group of their
// own), as a database that no longer answers, and waits (at most 15s)
// until all are stopped; the returned func resumes them.
func suspend(t testing.TB, cmd *exec.Cmd) func() {
	t.Helper()
	root := cmd.Process.Pid
	var stopped []int
	resume := func() {
		for _, pid := range stopped {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		running := false
		for pid, state := range processTree(root) {
			// Z: exited, waiting for its stopped parent to reap it.
			if state != "T" && state != "t" && state != "Z" && state != "X" {
				running = true
				syscall.Kill(pid, syscall.SIGSTOP)
				stopped = append(stopped, pid)
			}
		}
		if !running {
			return resume
		}
		if time.Now().After(deadline) {
			resume()
			t.Fatalf("process tree of %d did not stop", root)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
