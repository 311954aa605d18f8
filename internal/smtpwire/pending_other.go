//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package smtpwire

// peekFD is not available here: Pending reports nothing.
func peekFD(fd uintptr, buf []byte) int { return 0 }
