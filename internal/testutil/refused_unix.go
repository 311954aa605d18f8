//go:build unix

package testutil

import (
	"fmt"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// RefusedAddr returns "127.0.0.1:port" where connections are refused
// for the rest of the test, for tests of "Connection refused" paths. A
// socket bound there that never listens holds the port: without
// SO_REUSEADDR on it no other program can bind the port (a listener
// closed at once would leave it free for another test to take, which
// would then answer).
func RefusedAddr(t testing.TB) string {
	t.Helper()
	// Not inherited by programs the test starts (SOCK_CLOEXEC is not on
	// every Unix: close-on-exec under the fork lock, as package net does).
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	in4, ok := sa.(*unix.SockaddrInet4)
	if !ok {
		t.Fatalf("getsockname: %T", sa)
	}
	return fmt.Sprintf("127.0.0.1:%d", in4.Port)
}
