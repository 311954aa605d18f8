package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/smtpwire"
)

// logBuf is a goroutine-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits until the log contains s.
func (l *logBuf) waitLog(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if strings.Contains(l.String(), s) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("log lacks %q:\n%s", s, l.String())
}

// delivered is a message a test Session received.
type delivered struct {
	env  *Envelope
	data []byte
}

// sink collects delivered messages; fail makes Data return that error.
type sink struct {
	mu   sync.Mutex
	msgs []delivered
	fail error
	errs []error
}

func (k *sink) Data(ctx context.Context, env *Envelope, r io.Reader) error {
	b, err := io.ReadAll(r)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err != nil {
		k.errs = append(k.errs, err)
		return err
	}
	if k.fail != nil {
		return k.fail
	}
	k.msgs = append(k.msgs, delivered{env, b})
	return nil
}

func (k *sink) list() []delivered {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]delivered(nil), k.msgs...)
}

// startServer serves s on 127.0.0.1:0 (with implicit TLS when tlsConf is
// set) and returns the address; the server is shut down at cleanup.
func startServer(t *testing.T, s *Server, implicit *tls.Config) (string, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	if s.Hostname == "" {
		s.Hostname = "mail.example.jp"
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if implicit != nil {
		l = tls.NewListener(l, implicit)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	})
	return l.Addr().String(), logs
}

// rawConn is a line-level test client.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatal(err)
	}
}

// reply reads one reply and returns it as the raw lines joined by "\n".
func (rc *rawConn) reply() string {
	rc.t.Helper()
	var lines []string
	for {
		l, err := smtpwire.ReadLine(rc.r, 4096)
		if err != nil {
			rc.t.Fatalf("read reply: %v (got %q)", err, lines)
		}
		lines = append(lines, string(l))
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// expect sends cmd (when not "") and checks the reply starts with want.
func (rc *rawConn) expect(cmd, want string) string {
	rc.t.Helper()
	if cmd != "" {
		rc.send(cmd + "\r\n")
	}
	got := rc.reply()
	if !strings.HasPrefix(got, want) {
		rc.t.Fatalf("%q: got %q, want prefix %q", cmd, got, want)
	}
	return got
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// interopAuth is the real *auth.Service over a passwd-file holding
// alice with password "secret" (SHA512-CRYPT), without failure delays.
func interopAuth(t *testing.T) auth.Authenticator {
	t.Helper()
	stored, err := auth.Hash("SHA512-CRYPT", "secret")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, []byte("alice:"+stored+"::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &auth.Service{PassDB: &auth.PasswdFile{Path: path}, FailureDelay: -1, PenaltyBase: -1}
}
