package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/pop3"
	"github.com/yubinmail/yubin/store"
)

// anyPassword accepts every login, as the private Dovecot's static
// passdb (nopassword) does, so both servers do the same auth work.
type anyPassword struct{}

func (anyPassword) Mechanisms(*auth.ConnInfo) []string   { return nil }
func (anyPassword) PlaintextAllowed(*auth.ConnInfo) bool { return true }
func (anyPassword) NewSASL(context.Context, string, *auth.ConnInfo) (auth.SASLSession, error) {
	return nil, auth.ErrUnsupportedMechanism
}
func (anyPassword) Login(_ context.Context, _ *auth.ConnInfo, user, _ string) (*auth.Identity, error) {
	return &auth.Identity{User: user}, nil
}

// keepOpen is a Store whose Close does nothing: the cached Backend owns
// the real Store.
type keepOpen struct{ store.Store }

func (keepOpen) Close() error { return nil }

// cachedBackend keeps one maildir.Store per user for the life of the
// server, as a long-running program would; sessions share it.
func cachedBackend(home func(string) string) store.Backend {
	var mu sync.Mutex
	stores := map[string]*maildir.Store{}
	return store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		mu.Lock()
		defer mu.Unlock()
		st, ok := stores[user]
		if !ok {
			var err error
			if st, err = maildir.Open(filepath.Join(home(user), "Maildir"), maildir.Options{}); err != nil {
				return nil, err
			}
			stores[user] = st
		}
		return keepOpen{st}, nil
	})
}

// setup fills alice's Maildir with 100 × 10 KiB messages and starts both
// servers on it (yubin twice: opening the user's Store per session, and
// with a Store cached per user).
func setup(b *testing.B) (yubinAddr, dovecotAddr string) {
	y, _, dv := setup3(b)
	return y, dv
}

func setup3(b *testing.B) (yubinAddr, yubinCachedAddr, dovecotAddr string) {
	port := testutil.FreePort(b)
	d := testutil.StartDovecot(b, testutil.DovecotConfig{
		Protocols: "pop3",
		Extra: fmt.Sprintf(`pop3_uidl_format = %%08Xu%%08Xv
mail_max_userip_connections = 1000
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %d
  }
  inet_listener pop3s {
    port = 0
  }
}
`, port),
	})
	dovecotAddr = fmt.Sprintf("127.0.0.1:%d", port)
	root := filepath.Join(d.Home("alice"), "Maildir")
	st, err := maildir.Open(root, maildir.Options{})
	if err != nil {
		b.Fatal(err)
	}
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	line := strings.Repeat("x", 78) + "\n"
	body := strings.Repeat(line, 10*1024/len(line))
	for i := 0; i < 100; i++ {
		msg := fmt.Sprintf("From: a@example.org\nTo: alice@example.org\nSubject: message %d\n\n%s", i, body)
		if _, err := mb.Append(context.Background(), strings.NewReader(msg), store.AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	mb.Close()
	st.Close()
	testutil.ChownTree(b, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)

	srv := &pop3.Server{
		Authenticator: anyPassword{},
		Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
			return maildir.Open(filepath.Join(d.Home(user), "Maildir"), maildir.Options{})
		}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	srv2 := &pop3.Server{Authenticator: anyPassword{}, Backend: cachedBackend(d.Home)}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv2.Serve(l2)
	b.Cleanup(func() { srv2.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err1 := Session(dovecotAddr, "alice", "x")
		_, err2 := Session(l.Addr().String(), "alice", "x")
		_, err3 := Session(l2.Addr().String(), "alice", "x")
		if err1 == nil && err2 == nil && err3 == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("servers not ready: dovecot %v, yubin %v, yubin cached %v", err1, err2, err3)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return l.Addr().String(), l2.Addr().String(), dovecotAddr
}

// BenchmarkCompare runs the load against yubin and Dovecot in turn with
// 1 and 10 clients and logs sessions/s, MB/s and the ratio. The duration
// of each run is POP3_BENCH_SECONDS (default 5).
func BenchmarkCompare(b *testing.B) {
	y, yc, dv := setup3(b)
	secs := 5
	if s := os.Getenv("POP3_BENCH_SECONDS"); s != "" {
		fmt.Sscan(s, &secs)
	}
	dur := time.Duration(secs) * time.Second
	for i := 0; i < b.N; i++ {
		for _, clients := range []int{1, 10} {
			ry := Load(context.Background(), y, "alice", "x", clients, dur)
			rd := Load(context.Background(), dv, "alice", "x", clients, dur)
			rc := Load(context.Background(), yc, "alice", "x", clients, dur)
			b.Logf("yubin          %v", ry)
			b.Logf("dovecot        %v", rd)
			b.Logf("yubin (cached) %v", rc)
			if ry.FirstErr != nil || rd.FirstErr != nil || rc.FirstErr != nil {
				b.Logf("errors: yubin %v, dovecot %v, yubin cached %v", ry.FirstErr, rd.FirstErr, rc.FirstErr)
			}
			b.Logf("clients=%d ratio yubin/dovecot: %.1fx sessions/s, %.1fx MB/s; cached store: %.1fx", clients,
				ry.SessionsPerSec()/rd.SessionsPerSec(), ry.MBPerSec()/rd.MBPerSec(), rc.SessionsPerSec()/rd.SessionsPerSec())
			b.ReportMetric(ry.SessionsPerSec(), fmt.Sprintf("yubin-sessions/s-%dc", clients))
			b.ReportMetric(rd.SessionsPerSec(), fmt.Sprintf("dovecot-sessions/s-%dc", clients))
		}
	}
}

// BenchmarkYubinSession measures one full session against yubin alone.
func BenchmarkYubinSession(b *testing.B) {
	y, _ := setup(b)
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		n, err := Session(y, "alice", "x")
		if err != nil {
			b.Fatal(err)
		}
		bytes = n
	}
	b.SetBytes(bytes)
}

// BenchmarkYubinLoad runs the 10-client load against yubin alone (for
// profiling).
func BenchmarkYubinLoad(b *testing.B) {
	y, _ := setup(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := Load(context.Background(), y, "alice", "x", 10, 5*time.Second)
		b.Logf("yubin %v", r)
	}
}
