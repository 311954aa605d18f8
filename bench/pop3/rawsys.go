//go:build linux

package main

import (
	"syscall"
	"unsafe"
)

// The load generator's socket calls are raw system calls: they do not
// tell the Go scheduler they may block. A call through package syscall
// does, and then the runtime's monitor thread (sysmon) is woken from its
// deep sleep at nearly every call of a client that waits for each reply,
// and polls every 20 µs for a while after: CPU time of the load
// generator's own, which lowers every server's sessions/s. The load
// generator runs one thread of clients with nothing else to schedule, so
// holding its processor while the kernel blocks costs nothing; the
// blocking reads are bounded by SO_RCVTIMEO and epoll_wait by its
// timeout, so a stop of the world (GC) waits at most that long.

// rawRead is read(2).
func rawRead(fd int, p []byte) (int, error) { return rawIO(syscall.SYS_READ, fd, p) }

// rawWrite is write(2).
func rawWrite(fd int, p []byte) (int, error) { return rawIO(syscall.SYS_WRITE, fd, p) }

// rawIO is read(2) or write(2), by trap.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawEpollWait is epoll_wait(2).
func rawEpollWait(ep int, events []syscall.EpollEvent, msec int) (int, error) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
