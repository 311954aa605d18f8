package dovecotauth

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
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

// FuzzParamList: looking parameters up in the list gives what params'
// map gives, for every key the fields name and for some they do not.
func FuzzParamList(f *testing.F) {
	f.Add("service=smtp\trip=1.2.3.4\tsecured\tresp=AA==\trip=5.6.7.8\t\tservicex=1\tk=a\x01tb")
	f.Add("resp\tresp=x\t=v\tre")
	f.Fuzz(func(t *testing.T, line string) {
		fields := strings.Split(line, "\t")
		m := params(fields)
		keys := []string{"", "resp", "rip", "secured", "service", "x"}
		for _, fl := range fields {
			k, _, _ := strings.Cut(fl, "=")
			keys = append(keys, k, k+"x")
			if k != "" {
				keys = append(keys, k[:len(k)-1])
			}
		}
		for _, k := range keys {
			v, ok := paramList(fields).get(k)
			w, wok := m[k]
			if v != w || ok != wok {
				t.Fatalf("%q in %q: %q, %v; params gives %q, %v", k, line, v, ok, w, wok)
			}
		}
	})
}
