package auth

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU measures the CPU time of the calling goroutine's thread,
// which it locks: on a shared machine this is the work done, whatever
// the wall clock says.
type threadCPU struct{ start time.Duration }

const rusageThread = 1 // RUSAGE_THREAD

func threadCPUNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startThreadCPU() *threadCPU {
	runtime.LockOSThread()
	return &threadCPU{start: threadCPUNow()}
}

// report adds cpu-µs/hash (per thread) and hash/cpu-s to b, for perOp
// hashes per iteration, and unlocks the thread.
func (c *threadCPU) report(b *testing.B, perOp int) {
	d := threadCPUNow() - c.start
	runtime.UnlockOSThread()
	hashes := float64(b.N * perOp)
	b.ReportMetric(float64(d.Microseconds())/hashes, "cpu-µs/hash")
	b.ReportMetric(hashes/d.Seconds(), "hash/cpu-s")
}
