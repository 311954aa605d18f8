package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/config"
)

// The running server's process id is in $data_directory/fullserver.pid,
// which it holds locked (flock) while it runs, as Postfix's master holds
// master.lock: "fullserver reload" and "fullserver stop" signal the
// process only while the lock is held, so a stale file left by a crash
// never gets a signal sent to whatever process reuses its number.

// pidFile is the running server's locked pid file.
type pidFile struct {
	f    *os.File
	path string
}

func pidPath(cfg *config.Config) string { return pidPathIn(cfg.Get("data_directory")) }

func pidPathIn(dataDir string) string { return filepath.Join(dataDir, "fullserver.pid") }

// checkNotRunning fails when a server runs on cfg's data directory; a
// start asks before it binds anything, so that the error names the real
// problem rather than a listener in use.
func checkNotRunning(cfg *config.Config) error {
	pid, f, err := runningPID(pidPath(cfg))
	if err != nil {
		return nil
	}
	f.Close()
	return fmt.Errorf("another fullserver is running on %s (pid %d): stop it first (fullserver stop)", cfg.Get("data_directory"), pid)
}

// writePIDFile locks and writes the pid file; it fails when another
// server holds it.
func writePIDFile(cfg *config.Config) (*pidFile, error) {
	path := pidPath(cfg)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pid file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := readPID(f)
		f.Close()
		return nil, fmt.Errorf("another fullserver is running on %s (pid %d): stop it first (fullserver stop)", cfg.Get("data_directory"), pid)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("pid file: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("pid file: %w", err)
	}
	return &pidFile{f: f, path: path}, nil
}

// remove deletes the file and releases the lock.
func (p *pidFile) remove() {
	os.Remove(p.path)
	p.f.Close()
}

func readPID(f *os.File) (int, error) {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad contents", f.Name())
	}
	return pid, nil
}

// errNotRunning: no server holds the pid file.
var errNotRunning = errors.New("the mail system is not running")

// runningPID returns the pid of the server that holds the pid file
// path, and the open file (its lock shows when that server is gone).
func runningPID(path string) (int, *os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil, errNotRunning
	}
	if err != nil {
		return 0, nil, err
	}
	if !locked(f) {
		f.Close()
		return 0, nil, errNotRunning
	}
	pid, err := readPID(f)
	if err != nil {
		f.Close()
		return 0, nil, err
	}
	return pid, f, nil
}

// locked reports whether a server holds f's lock.
func locked(f *os.File) bool {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// controlCommand is "fullserver reload" (SIGHUP, as "postfix reload")
// and "fullserver stop" (SIGTERM, then wait until the server has
// drained and exited, as "postfix stop").
func controlCommand(cfg *config.Config, cmd string, stdout, stderr io.Writer) int {
	return signalServer(cfg.Get("data_directory"), cfg.Duration("shutdown_timeout"), cmd, stderr)
}

// stopDespiteErrors is "fullserver stop" when the configuration on disk
// has errors (they were printed): the data directory comes from -data or
// main.cf's own data_directory line, so that a server whose next
// configuration is broken can still be stopped. "reload" refuses, as
// "postfix reload" does after its check finds a fatal error.
func stopDespiteErrors(o *options, stderr io.Writer) int {
	dir := o.data
	if dir == "" && o.configFile != "" {
		if f, err := os.Open(o.configFile); err == nil {
			settings, _ := config.ParseSettings(o.configFile, f)
			f.Close()
			for _, st := range settings {
				if st.Name == "data_directory" && st.Service == "" && !strings.Contains(st.Value, "$") {
					dir = st.Value
				}
			}
		}
	}
	if dir == "" {
		dir = "./yubin-data"
	}
	return signalServer(dir, 30*time.Second, "stop", stderr)
}

// signalServer sends the server on dataDir SIGHUP (reload) or SIGTERM
// (stop, then waits up to timeout and ten seconds more for it to exit).
func signalServer(dataDir string, timeout time.Duration, cmd string, stderr io.Writer) int {
	pid, f, err := runningPID(pidPathIn(dataDir))
	if err != nil {
		fmt.Fprintf(stderr, "fullserver: fatal: %v\n", err)
		return 1
	}
	defer f.Close()
	sig, what := syscall.SIGHUP, "refreshing"
	if cmd == "stop" {
		sig, what = syscall.SIGTERM, "stopping"
	}
	if err := syscall.Kill(pid, sig); err != nil {
		fmt.Fprintf(stderr, "fullserver: fatal: signal pid %d: %v\n", pid, err)
		return 1
	}
	fmt.Fprintf(stderr, "fullserver: %s the mail system (pid %d)\n", what, pid)
	if cmd != "stop" {
		return 0
	}
	limit := timeout + 10*time.Second
	for deadline := time.Now().Add(limit); locked(f); {
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "fullserver: fatal: pid %d still running after %v\n", pid, limit)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0
}
