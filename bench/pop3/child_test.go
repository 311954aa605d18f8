package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/pop3"
)

// In BenchmarkCompare each yubin server runs in a process of its own
// (this test binary started again with POP3_BENCH_CHILD set), as Dovecot
// does: the load generator then never shares the Go scheduler with the
// server it measures, and both servers' CPU time can be read from /proc.

const childEnv = "POP3_BENCH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(serveChild())
	}
	os.Exit(m.Run())
}

// serveChild serves POP3 with the wiring POP3_BENCH_CHILD names over the
// homes under POP3_BENCH_HOME (and POP3_BENCH_PASSWD when set), writes
// "ADDR host:port" to stdout and runs until stdin is closed. With
// POP3_BENCH_CPUPROFILE=prefix set it writes a CPU profile of the whole
// run to prefix.<wiring>.
func serveChild() int {
	wiring, home, passwd := os.Getenv(childEnv), os.Getenv("POP3_BENCH_HOME"), os.Getenv("POP3_BENCH_PASSWD")
	homeOf := func(user string) string { return filepath.Join(home, user) }
	if wiring == cannedName {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err == nil {
			err = serveCanned(l, filepath.Join(homeOf("alice"), "Maildir"))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Printf("ADDR %s\n", l.Addr())
		io.Copy(io.Discard, os.Stdin)
		return 0
	}
	for _, w := range wirings {
		if w.name != wiring {
			continue
		}
		a, err := newAuthenticator(passwd)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		srv := &pop3.Server{Authenticator: a, Backend: w.backend(homeOf), MaxUserIPConnections: -1}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if prefix := os.Getenv("POP3_BENCH_CPUPROFILE"); prefix != "" {
			f, err := os.Create(prefix + "." + wiring)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
			defer pprof.StopCPUProfile()
		}
		go srv.Serve(l)
		fmt.Printf("ADDR %s\n", l.Addr())
		io.Copy(io.Discard, os.Stdin)
		srv.Close()
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown wiring %q\n", wiring)
	return 2
}

// startChild starts a yubin server process for wiring and returns its
// address and PID; it is stopped when the benchmark ends.
func startChild(b *testing.B, wiring, home, passwd string) (string, int) {
	addr, pid, _ := testutil.StartTestChild(b, childEnv+"="+wiring, "POP3_BENCH_HOME="+home, "POP3_BENCH_PASSWD="+passwd)
	return addr, pid
}

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procTimes returns utime+stime and cutime+cstime of a process.
func procTimes(pid int) (self, children time.Duration, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, false
	}
	// The command name is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
	if len(f) < 15 {
		return 0, 0, 0, false
	}
	n := func(k int) int64 { v, _ := strconv.ParseInt(f[k-3], 10, 64); return v }
	return time.Duration(n(14)+n(15)) * clockTick, time.Duration(n(16)+n(17)) * clockTick, int(n(4)), true
}

// cpuOf is the CPU time a process has used.
func cpuOf(pid int) time.Duration {
	self, _, _, _ := procTimes(pid)
	return self
}

// selfCPU is the CPU time this process (the load generator; the
// servers run in other processes) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dovecotMaster finds the PID of the Dovecot master started with conf.
func dovecotMaster(conf string) int {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cl, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := strings.Split(string(cl), "\x00")
		if len(args) > 2 && filepath.Base(args[0]) == "dovecot" && args[1] == "-c" && args[2] == conf {
			return pid
		}
	}
	return 0
}

// dovecotCPU is the CPU time of a Dovecot instance: the master with its
// reaped children (every finished login and pop3 process) plus the
// children still running (auth, anvil, log, config, stats, sessions in
// progress). Differences between two readings give the CPU of what ran
// in between.
func dovecotCPU(master int) time.Duration {
	self, reaped, _, _ := procTimes(master)
	total := self + reaped
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == master {
			continue
		}
		s, c, ppid, ok := procTimes(pid)
		if ok && ppid == master {
			total += s + c
		}
	}
	return total
}
