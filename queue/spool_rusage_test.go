//go:build unix

package queue

import (
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
