package dovecotauth

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
)

// BenchmarkCachedLogin measures the auth-client server's own cost of a
// login answered from the auth cache: a PLAIN AUTH over the socket
// through auth.Service and auth.Cache, from parallel goroutines over one
// connection, as Postfix or a login process multiplexes it.
func BenchmarkCachedLogin(b *testing.B) {
	svc := &auth.Service{PassDB: &auth.Cache{PassDB: memDB{"alice@example.com": "secret"}}, FailureDelay: -1,
		PenaltyBase: -1, AllowPlaintext: true}
	s := &Server{Authenticator: svc}
	path := filepath.Join(b.TempDir(), "auth-client")
	l, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(l)
	b.Cleanup(func() { s.Close() })
	cl := &Client{Path: path, AllowPlaintext: true, NoPenalty: true, Timeout: 10 * time.Second}
	b.Cleanup(func() { cl.Close() })
	ci := &auth.ConnInfo{Service: "imap", RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000},
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 143}}
	if _, err := cl.Login(context.Background(), ci, "alice@example.com", "secret"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cl.Login(context.Background(), ci, "alice@example.com", "secret"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
