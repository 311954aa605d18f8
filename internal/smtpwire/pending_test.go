package smtpwire

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// TestPending: nothing before the peer writes (and no wait), the waiting
// bytes afterwards, still there for the next Read; nil for a connection
// without a socket.
func TestPending(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
	default:
		t.Skip("no non-blocking peek on " + runtime.GOOS)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cl, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	sv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Close()
	start := time.Now()
	if got := Pending(sv, 10); got != nil {
		t.Fatalf("pending before any write: %q", got)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("Pending waited %v", d)
	}
	cl.Write([]byte("EHLO x\r\nMAIL FROM:<>\r\n"))
	var got []byte
	for i := 0; i < 100 && got == nil; i++ {
		got = Pending(sv, 10)
		if got == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if string(got) != "EHLO x\r\nMA" {
		t.Fatalf("pending %q", got)
	}
	buf := make([]byte, 22)
	sv.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(sv, buf); err != nil || string(buf) != "EHLO x\r\nMAIL FROM:<>\r\n" {
		t.Fatalf("read after peek: %q, %v", buf, err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := Pending(a, 10); got != nil {
		t.Fatalf("pipe: %q", got)
	}
}
