//go:build unix

package queue

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spoolCPUTime is the user and system CPU time this process has used.
func spoolCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// spoolRunDelay is the time this process's threads have spent runnable
// but waiting for a CPU (Linux schedstat; 0 elsewhere): on a loaded
// machine it explains wall time beyond CPU time.
func spoolRunDelay() time.Duration {
	tasks, _ := filepath.Glob("/proc/self/task/*/schedstat")
	var total int64
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			total += n
		}
	}
	return time.Duration(total)
}
