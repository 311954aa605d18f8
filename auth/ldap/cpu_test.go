package ldap

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat times on Linux.
const clockTick = 100

// procCPU returns the user+system CPU time of pid and, with tree, of all
// its descendants (from /proc; zero where unreadable).
func procCPU(pid int, tree bool) time.Duration {
	stats := map[int][2]int{} // pid -> ppid, ticks
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		p, err := strconv.Atoi(filepath.Base(d))
		if err != nil || (!tree && p != pid) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// Fields after the ")" of the command name: state ppid ... utime(14) stime(15).
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.Atoi(f[11])
		st, _ := strconv.Atoi(f[12])
		stats[p] = [2]int{ppid, ut + st}
	}
	in := map[int]bool{pid: true}
	for changed := true; changed && tree; {
		changed = false
		for p, s := range stats {
			if !in[p] && in[s[0]] {
				in[p], changed = true, true
			}
		}
	}
	var ticks int
	for p := range in {
		ticks += stats[p][1]
	}
	return time.Duration(ticks) * time.Second / clockTick
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
