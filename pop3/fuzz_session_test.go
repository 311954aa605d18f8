package pop3

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// panicCounter counts error-level records (a session logs a recovered
// panic at Error).
type panicCounter struct{ n atomic.Int64 }

func (p *panicCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (p *panicCounter) Handle(context.Context, slog.Record) error    { p.n.Add(1); return nil }
func (p *panicCounter) WithAttrs([]slog.Attr) slog.Handler           { return p }
func (p *panicCounter) WithGroup(string) slog.Handler                { return p }

// FuzzSession feeds arbitrary client input to a logged-in-capable session
// over a Maildir holding two messages: whatever arrives, the server
// answers or hangs up, and never panics.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"USER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\nRETR 1\r\nTOP 2 1\r\nUIDL\r\nDELE 1\r\nRSET\r\nQUIT\r\n",
		"USER alice\r\nPASS secret\r\nDELE 1\r\nDELE 1\r\nRETR 1\r\nLIST 0\r\nTOP 2 99999999999\r\nQUIT\r\n",
		"AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nRETR 2\r\n",
		"AUTH LOGIN\r\n*\r\nCAPA\r\nAPOP alice 00000000000000000000000000000000\r\n",
		"USER alice\r\nPASS secret\r\n" + strings.Repeat("x", 300) + "\nRETR\x00 1\r\nNOOP\r\n",
	} {
		f.Add([]byte(s))
	}
	root := f.TempDir()
	pc := &panicCounter{}
	srv := &Server{
		Authenticator: &testAuthenticator{users: map[string]string{"alice": "secret"}},
		Backend:       maildirBackend(root),
		Logger:        slog.New(pc),
		IdleTimeout:   time.Second,
		// No failure delay: fuzzing wants many executions.
		APOPFailureDelay: -1,
	}
	if err := srv.init(); err != nil {
		f.Fatal(err)
	}
	refill := func() {
		st, err := maildir.Open(root+"/alice/Maildir", maildir.Options{NoSync: true})
		if err != nil {
			f.Fatal(err)
		}
		defer st.Close()
		mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
		if err != nil {
			f.Fatal(err)
		}
		defer mb.Close()
		st2, _ := mb.Status(context.Background())
		for i := st2.Messages; i < 2; i++ {
			mb.Append(context.Background(), strings.NewReader(msg1), store.AppendOptions{})
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		refill()
		client, server := net.Pipe()
		sess := newSession(srv, server)
		srv.sessions.Track(sess)
		done := make(chan struct{})
		go func() { sess.serve(); close(done) }()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("session did not end")
		}
		if pc.n.Load() > 0 {
			t.Fatalf("session panicked on %q", in)
		}
	})
}
