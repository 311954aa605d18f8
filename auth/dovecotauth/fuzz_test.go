package dovecotauth

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
)

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"a\tb", "\x01", "\x00\r\n", "\x01x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := unescape(escape(s)); got != s {
			t.Fatalf("unescape(escape(%q)) = %q", s, got)
		}
		params([]string{s, "k=" + s})
	})
}

// FuzzServerLines feeds arbitrary client lines to the auth-client server.
func FuzzServerLines(f *testing.F) {
	f.Add("VERSION\t1\t0\nCPID\t1\nAUTH\t1\tPLAIN\tservice=smtp\tresp=AHVAZABwdw==\n")
	f.Add("VERSION\t1\t0\nAUTH\t2\tLOGIN\tservice=imap\tsecured\nCONT\t2\tdUBk\nCONT\t2\tcHc=\n")
	f.Add("AUTH\t3\tPLAIN\tservice=smtp\tresp=!!\nCANCEL\t3\nCONT\t9\t\nAUTH\tx\n")
	svc := &auth.Service{PassDB: memDB{"u@d": "pw"}, FailureDelay: -1, PenaltyBase: -1, AllowPlaintext: true}
	s := &Server{Authenticator: svc, StepTimeout: 50 * time.Millisecond}
	f.Fuzz(func(t *testing.T, in string) {
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() { s.handleClient(a); a.Close(); close(done) }()
		go func() { io.Copy(io.Discard, bufio.NewReader(b)) }()
		b.SetDeadline(time.Now().Add(2 * time.Second))
		b.Write([]byte(in))
		time.Sleep(time.Millisecond)
		b.Close()
		<-done
	})
}

type memDB map[string]string

func (m memDB) Authenticate(_ context.Context, user, password string) (*auth.Identity, error) {
	if pw, ok := m[user]; ok && pw == password {
		return &auth.Identity{User: user}, nil
	}
	return nil, auth.ErrAuthFailed
}
