package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/smtp"
)

// TestSmtplibHoldRedirectFilter sends three messages with Python's
// smtplib whose senders an access table gives HOLD, REDIRECT and FILTER:
// the held one is kept in the queue's hold queue and reaches nobody, the
// redirected one reaches bob instead of alice, and the filtered one is
// handed to the content filter (an SMTP server on 127.0.0.1) with its
// envelope instead of being delivered.
func TestSmtplibHoldRedirectFilter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	filter := &smtp.Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Backend: smtp.DataFunc(func(ctx context.Context, env *smtp.Envelope, r io.Reader) error {
		b, err := io.ReadAll(r)
		mu.Lock()
		got = append(got, env.From+" -> "+env.To[0].Addr+"\n"+string(b))
		mu.Unlock()
		return err
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go filter.Serve(l)
	t.Cleanup(func() { filter.Close() })

	access := filepath.Join(testutil.SharedDir(t), "sender_access")
	host, port, _ := net.SplitHostPort(l.Addr().String())
	os.WriteFile(access, []byte("hold@example.org HOLD\nredirect@example.org REDIRECT bob@localhost\nfilter@example.org FILTER smtp:["+host+"]:"+port+"\n"), 0o644)
	in := newInstance(t, "smtpd_sender_restrictions = check_sender_access texthash:"+access+"\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice", "bob")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('client.example.org')
for who in ('hold', 'redirect', 'filter'):
    s.sendmail(who + '@example.org', ['alice@localhost'], 'Subject: ' + who + '\r\n\r\nbody\r\n')
    print('SENT', who)
s.quit()
wait_mail('bob', 1)
for user in ('alice', 'bob'):
    m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
    m.starttls(ssl_context=ctx)
    m.login(user + '@localhost', 'pw-' + user)
    typ, data = m.select('INBOX')
    subjects = []
    if int(data[0]) > 0:
        typ, msgs = m.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
        subjects = [x[1].decode().strip() for x in msgs if isinstance(x, tuple)]
    print('INBOX', user, data[0].decode(), subjects)
    m.logout()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]))
	for _, want := range []string{"SENT hold", "SENT redirect", "SENT filter", "INBOX alice 0 []", "INBOX bob 1 ['Subject: redirect']"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s\nserver log:\n%s", want, out, in.errText())
		}
	}
	// The held message is in the queue's hold queue.
	held, _ := filepath.Glob(filepath.Join(in.data, "queue", "hold", "*"))
	if len(held) != 1 {
		t.Fatalf("queue/hold/ holds %v", held)
	}
	data, _ := os.ReadFile(held[0])
	if !strings.Contains(string(data), "hold@example.org") || !strings.Contains(string(data), "alice@localhost") || !strings.Contains(string(data), "Subject: hold\r\n") {
		t.Errorf("held file:\n%q", data)
	}
	in.waitLog("relay=127.0.0.1[127.0.0.1]:" + port)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "filter@example.org -> alice@localhost\n") || !strings.Contains(got[0], "Subject: filter\r\n") {
		t.Errorf("content filter got %q", got)
	}
}
