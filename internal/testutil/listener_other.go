//go:build !linux

package testutil

// holdsTCPListener cannot tell without Linux's /proc: known is false and
// callers fall back to a dial and a short wait for the program to exit.
func holdsTCPListener(pid, port int) (held, known bool) { return false, false }

// holdsUDPSocket cannot tell without Linux's /proc either.
func holdsUDPSocket(pid, port int) (held, known bool) { return false, false }
