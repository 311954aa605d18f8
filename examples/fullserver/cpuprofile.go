package main

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// A CPU profile for benchmarks (bench/msgauth): with YUBIN_CPUPROFILE
// set to a file name the process profiles itself from the start and
// writes the profile when it gets SIGUSR2. Without the variable nothing
// happens and SIGUSR2 keeps its default action.
func init() {
	path := os.Getenv("YUBIN_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	go func() {
		<-ch
		pprof.StopCPUProfile()
		f.Close()
	}()
}
