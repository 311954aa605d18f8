//go:build linux

package maildir

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setFileTimes sets f's access and modification times to tv through its
// descriptor: utimensat(2) with a NULL path, as glibc's futimens(3).
// unix.Futimes names /proc/self/fd/N instead, a path lookup through
// procfs on every delivery.
func setFileTimes(f *os.File, tv unix.Timeval) error {
	ts := [2]unix.Timespec{{Sec: tv.Sec, Nsec: tv.Usec * 1000}, {Sec: tv.Sec, Nsec: tv.Usec * 1000}}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, f.Fd(), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return os.NewSyscallError("utimensat", e)
	}
	return nil
}
