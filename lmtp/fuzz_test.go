package lmtp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// scriptConn is a net.Conn whose reads come from a fixed script and
// whose writes are dropped.
type scriptConn struct {
	r   *bytes.Reader
	out int
}

func (c *scriptConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error)      { c.out += len(p); return len(p), nil }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "lmtp.sock", Net: "unix"} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "@", Net: "unix"} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// dropDeliverer accepts recipients in example.jp and reads each message.
type dropDeliverer struct{}

func (dropDeliverer) Rcpt(ctx context.Context, env *Envelope, rcpt string) error {
	if !strings.HasSuffix(rcpt, "@example.jp") {
		return &Error{Code: 550, Enhanced: Enhanced{5, 1, 1}, Message: "<" + rcpt + "> User doesn't exist: " + rcpt}
	}
	return nil
}

func (dropDeliverer) Deliver(ctx context.Context, env *Envelope, rcpt string, msg io.Reader) error {
	_, err := io.Copy(io.Discard, msg)
	return err
}

// FuzzServerSession runs arbitrary client input through a whole LMTP
// session: it must never panic or hang.
func FuzzServerSession(f *testing.F) {
	for _, s := range []string{
		"LHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<u@example.jp>\r\nRCPT TO:<v@x.org>\r\nDATA\r\nSubject: x\r\n\r\n.\r\nQUIT\r\n",
		"LHLO x\r\nMAIL FROM:<a@b.c> SIZE=99999\r\nRCPT TO:<u@example.jp>\r\nBDAT 4\r\nabcdBDAT 2 LAST\r\nxy",
		"LHLO x\r\nSTARTTLS\r\n\x16\x03garbage",
		"MAIL FROM:<>\nLHLO y\nMAIL FROM:<ü@x>\nRSET\nVRFY x\nNOOP\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &Server{Hostname: "lmtp.example.jp", MaxMessageBytes: 4096, MaxMemorySpool: 512, SpoolDir: t.TempDir(),
			Deliverer: dropDeliverer{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		c := &scriptConn{r: bytes.NewReader(in)}
		ss := newSession(s, c)
		done := make(chan struct{})
		go func() { ss.serve(); close(done) }()
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
