//go:build !unix

package testutil

import (
	"net"
	"testing"
)

// RefusedAddr returns "127.0.0.1:port" where nothing listened a moment
// ago. Without Unix sockets to hold the port it is racy: another test
// may take the port meanwhile.
func RefusedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
