package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Proc is one process as /proc/PID/stat shows it.
type Proc struct {
	PID, PPID int
	Comm      string // the name in parentheses (at most 15 bytes)
	State     string // "R", "S", "T", ...
}

// Procs lists the processes in /proc (none where there is no /proc).
func Procs() []Proc {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	out := make([]Proc, 0, len(stats))
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and ')'.
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 {
			continue
		}
		pid, err1 := strconv.Atoi(strings.TrimSpace(s[:open]))
		ppid, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, Proc{PID: pid, PPID: ppid, Comm: s[open+1 : close], State: f[0]})
	}
	return out
}

// WaitChild waits up to timeout for a child of parent that match
// accepts and returns its PID, or 0 when none appeared.
func WaitChild(parent int, timeout time.Duration, match func(Proc) bool) int {
	deadline := time.Now().Add(timeout)
	for {
		for _, p := range Procs() {
			if p.PPID == parent && match(p) {
				return p.PID
			}
		}
		if time.Now().After(deadline) {
			return 0
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Cmdline returns pid's command line with its NULs turned to spaces
// ("" once the process is gone).
func Cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ")
}

// processTree returns root and its descendants with their states.
func processTree(root int) map[int]string {
	all := Procs()
	out := map[int]string{}
	for _, p := range all {
		if p.PID == root {
			out[root] = p.State
		}
	}
	if len(out) == 0 {
		return out
	}
	for grew := true; grew; {
		grew = false
		for _, p := range all {
			if _, in := out[p.PID]; !in {
				if _, parentIn := out[p.PPID]; parentIn {
					out[p.PID] = p.State
					grew = true
				}
			}
		}
	}
	return out
}
