//go:build !linux

package queue

import "net"

// controlPeerAllowed allows every peer where the system does not tell
// the peer's user: the socket's mode (0600) is the only guard.
func controlPeerAllowed(net.Conn) (bool, int) { return true, -1 }
