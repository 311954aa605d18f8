//go:build !linux

package maildir

import (
	"os"

	"golang.org/x/sys/unix"
)

// setFileTimes sets f's access and modification times to tv.
func setFileTimes(f *os.File, tv unix.Timeval) error {
	return os.NewSyscallError("futimes", unix.Futimes(int(f.Fd()), []unix.Timeval{tv, tv}))
}
