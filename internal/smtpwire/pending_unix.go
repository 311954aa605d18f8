//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package smtpwire

import "syscall"

// peekFD copies what is waiting on the (non-blocking) socket fd into buf
// without consuming it; 0 when nothing is waiting or on error.
func peekFD(fd uintptr, buf []byte) int {
	n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
