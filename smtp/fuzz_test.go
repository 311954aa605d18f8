package smtp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/yubinmail/yubin/restrict"
)

// scriptConn is a net.Conn whose reads come from a fixed script and
// whose writes are dropped: a whole session run without a socket.
type scriptConn struct {
	r   *bytes.Reader
	out int
}

func (c *scriptConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) { c.out += len(p); return len(p), nil }
func (c *scriptConn) Close() error                { return nil }
func (c *scriptConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25} }
func (c *scriptConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000}
}
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServerSession runs arbitrary client input through a whole server
// session (commands, DATA, BDAT, content checks): it must never panic or
// hang, and must answer something.
func FuzzServerSession(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b.c> BODY=BINARYMIME\r\nRCPT TO:<d@e.f>\r\nBDAT 5\r\nabcdeBDAT 3 LAST\r\nxyzRSET\r\n",
		"HELO x\r\nMAIL FROM:<> SIZE=10\r\nRCPT TO:<postmaster>\r\nBDAT 100 LAST\r\nshort",
		"EHLO x\r\nAUTH PLAIN\r\n*\r\nSTARTTLS\r\n\x16\x03\x01garbage",
		"EHLO x\nMAIL FROM:<ü@x> SMTPUTF8\nRCPT TO:<a@[1.2.3.4]> NOTIFY=NEVER ORCPT=rfc822;a@b\nDATA\n.\n\r\n.\r\n",
	} {
		f.Add([]byte(s))
	}
	pol := PolicyFunc(func(ctx context.Context, st restrict.Stage, req *restrict.Request) (restrict.Decision, error) {
		return restrict.Decision{}, nil
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &Server{Hostname: "mx.example.jp", MaxMessageBytes: 4096, MaxHeaderBytes: 512, MaxBodyCheckBytes: 256,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Policy: struct {
				Policy
				ContentChecker
			}{pol, passChecker{edit: true}},
			Backend: DataFunc(func(ctx context.Context, env *Envelope, r io.Reader) error {
				_, err := io.Copy(io.Discard, r)
				return err
			})}
		c := &scriptConn{r: bytes.NewReader(in)}
		done := make(chan struct{})
		go func() { s.serveConn(c); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("session hangs on %q", in)
		}
		if c.out == 0 {
			t.Fatal("no greeting")
		}
	})
}
