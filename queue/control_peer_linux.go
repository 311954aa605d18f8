package queue

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// controlPeerAllowed reports whether the peer of c runs as root or as
// this process's user (SO_PEERCRED), and its uid. Connections that are
// not Unix-domain sockets are allowed (the listener's owner chose them).
func controlPeerAllowed(c net.Conn) (bool, int) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return true, -1
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false, -1
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return false, -1
	}
	uid := int(cred.Uid)
	return uid == 0 || uid == os.Geteuid(), uid
}
