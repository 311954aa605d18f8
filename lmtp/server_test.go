package lmtp

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/smtpwire"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, network, addr string) *raw {
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &raw{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *raw) expect(cmd, want string) string {
	r.t.Helper()
	if cmd != "" {
		r.c.Write([]byte(cmd + "\r\n"))
	}
	var lines []string
	for {
		l, err := smtpwire.ReadLine(r.r, 4096)
		if err != nil {
			r.t.Fatalf("%q: %v (%q)", cmd, err, lines)
		}
		lines = append(lines, string(l))
		if len(l) < 4 || l[3] != '-' {
			break
		}
	}
	got := strings.Join(lines, "\n")
	if !strings.HasPrefix(got, want) {
		r.t.Fatalf("%q: got %q, want %q", cmd, got, want)
	}
	return got
}

func TestLMTPPerRecipient(t *testing.T) {
	dir := t.TempDir()
	d := maildirs(t, dir)
	addr, _ := startLMTP(t, &Server{Deliverer: d}, nil)
	// Create alice's "lists" folder for +detail delivery.
	st, err := d.Stores.Open(context.Background(), "alice@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMailbox(context.Background(), "lists", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 lmtp.example.jp LMTP ready")
	c.expect("MAIL FROM:<a@x.org>", "503 5.5.1")
	c.expect("EHLO x", "500 5.5.1")
	lhlo := c.expect("LHLO postfix.example.jp", "250-lmtp.example.jp")
	for _, ext := range []string{"PIPELINING", "ENHANCEDSTATUSCODES", "CHUNKING", "8BITMIME"} {
		if !strings.Contains(lhlo, ext) {
			t.Errorf("LHLO lacks %s: %q", ext, lhlo)
		}
	}
	c.expect("MAIL FROM:<sender@x.org>", "250 2.1.0")
	c.expect("RCPT TO:<alice@example.jp>", "250 2.1.5")
	c.expect("RCPT TO:<nobody@example.jp>", "550 5.1.1 <nobody@example.jp> User doesn't exist: nobody@example.jp")
	c.expect("RCPT TO:<bob@example.jp>", "250 2.1.5")
	c.expect("RCPT TO:<Alice+lists@Example.JP>", "250 2.1.5")
	c.expect("RCPT TO:<alice+nosuchbox@example.jp>", "250 2.1.5")
	c.expect("DATA", "354 ")
	body := "Subject: lmtp\r\n\r\n" + strings.Repeat("0123456789\r\n", 30) + ".\r\n"
	c.c.Write([]byte(body))
	c.expect("", "250 2.0.0 <alice@example.jp> ")
	c.expect("", "552 5.2.2 <bob@example.jp> Quota exceeded (mailbox for user is full)")
	c.expect("", "250 2.0.0 <Alice+lists@Example.JP> ")
	c.expect("", "250 2.0.0 <alice+nosuchbox@example.jp> ")
	// A userdb quota: the first message fits, the second would not.
	for _, want := range []string{"250 2.0.0 <dave@example.jp> ", "552 5.2.2 <dave@example.jp> Quota exceeded (mailbox for user is full)"} {
		c.expect("MAIL FROM:<sender@x.org>", "250 2.1.0")
		c.expect("RCPT TO:<dave@example.jp>", "250 2.1.5")
		c.expect("DATA", "354 ")
		c.c.Write([]byte(body))
		c.expect("", want)
	}
	c.expect("QUIT", "221 ")
	if n := len(files(t, filepath.Join(dir, "dave", "Maildir"))); n != 1 {
		t.Fatalf("dave (userdb quota) got %d", n)
	}

	inbox := files(t, filepath.Join(dir, "alice", "Maildir"))
	if len(inbox) != 2 {
		t.Fatalf("alice INBOX has %d messages", len(inbox))
	}
	for _, m := range inbox {
		if !strings.HasPrefix(m, "Return-Path: <sender@x.org>\r\nDelivered-To: alice") || !strings.Contains(m, "\r\nReceived: from postfix.example.jp ([127.0.0.1])\r\n\tby lmtp.example.jp with LMTP id ") {
			t.Fatalf("headers: %q", m[:200])
		}
	}
	lists := files(t, filepath.Join(dir, "alice", "Maildir", ".lists"))
	if len(lists) != 1 || !strings.Contains(lists[0], "Delivered-To: Alice+lists@Example.JP\r\n") {
		t.Fatalf("lists folder: %q", lists)
	}
	if n := len(files(t, filepath.Join(dir, "bob", "Maildir"))); n != 0 {
		t.Fatalf("bob over quota got %d", n)
	}
}

func TestLMTPBDATAndSize(t *testing.T) {
	dir := t.TempDir()
	d := maildirs(t, dir)
	d.KeepOpen = time.Minute // the second delivery reuses the open store
	defer d.Close()
	addr, _ := startLMTP(t, &Server{Deliverer: d, MaxMessageBytes: 100, MaxMemorySpool: 16}, nil)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	c.expect("LHLO x", "250-")
	c.expect("MAIL FROM:<> SIZE=1000", "552 5.3.4")
	c.expect("MAIL FROM:<>", "250 ")
	c.expect("RCPT TO:<alice@example.jp>", "250 ")
	c.c.Write([]byte("BDAT 20\r\nSubject: chunked\r\n\r\n"))
	c.expect("", "250 2.0.0 OK")
	c.c.Write([]byte("BDAT 6 LAST\r\nbody\r\n"))
	c.expect("", "250 2.0.0 <alice@example.jp>")
	c.expect("MAIL FROM:<>", "250 ")
	c.expect("RCPT TO:<alice@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.c.Write([]byte(strings.Repeat("x", 200) + "\r\n.\r\n"))
	c.expect("", "552 5.3.4 <alice@example.jp> Message too big")
	c.expect("QUIT", "221 ")
	got := files(t, filepath.Join(dir, "alice", "Maildir"))
	if len(got) != 1 || !strings.HasSuffix(got[0], "Subject: chunked\r\n\r\nbody\r\n") {
		t.Fatalf("delivered %q", got)
	}
}

func TestLMTPUnixSocketAndTLS(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "lmtp.sock")
	l, err := ListenUnix(sock, 0o660, "", "")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
	f := testutil.NewTLS(t)
	startLMTP(t, &Server{Deliverer: maildirs(t, dir), TLSConfig: f.ServerConfig()}, l)
	ctx := context.Background()
	c, err := Dial(ctx, "unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello(ctx, "client"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Extension("STARTTLS"); !ok {
		t.Fatal("no STARTTLS")
	}
	if err := c.StartTLS(ctx, f.ClientConfig()); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Extension("STARTTLS"); ok {
		t.Fatal("STARTTLS offered twice")
	}
	res, err := c.Send(ctx, "s@x.org", []string{"alice@example.jp", "ghost@example.jp", "bob@example.jp"}, strings.NewReader("Subject: t\n\n.dot\n"))
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if res[0] != nil || !errors.As(res[1], &e) || e.Code != 550 || res[2] != nil {
		t.Fatalf("results %v", res)
	}
	c.Quit(ctx)
	got := files(t, filepath.Join(dir, "alice", "Maildir"))
	if len(got) != 1 || !strings.HasSuffix(got[0], "Subject: t\r\n\r\n.dot\r\n") {
		t.Fatalf("delivered %q", got)
	}
	if os.Geteuid() == 0 {
		l2, err := ListenUnix(filepath.Join(dir, "owned.sock"), 0o600, "nobody", "")
		if err != nil {
			t.Fatal(err)
		}
		defer l2.Close()
		fi, _ := os.Stat(filepath.Join(dir, "owned.sock"))
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 65534 || fi.Mode().Perm() != 0o600 {
			t.Fatalf("owned socket: %v %+v", fi.Mode(), fi.Sys())
		}
	}
}

func TestLMTPClientVanishes(t *testing.T) {
	dir := t.TempDir()
	addr, logs := startLMTP(t, &Server{Deliverer: maildirs(t, dir)}, nil)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	c.expect("LHLO x", "250-")
	c.expect("MAIL FROM:<>", "250 ")
	c.expect("RCPT TO:<alice@example.jp>", "250 ")
	c.expect("DATA", "354 ")
	c.c.Write([]byte("Subject: half\r\n"))
	time.Sleep(30 * time.Millisecond)
	c.c.Close()
	for i := 0; i < 200 && !strings.Contains(logs.String(), "lost connection in DATA"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "lost connection in DATA") {
		t.Fatalf("log: %s", logs)
	}
	if n := len(files(t, filepath.Join(dir, "alice", "Maildir"))); n != 0 {
		t.Fatalf("%d delivered", n)
	}
}

func TestLMTPShutdown(t *testing.T) {
	s := &Server{Deliverer: maildirs(t, t.TempDir())}
	addr, _ := startLMTP(t, s, nil)
	c := dialRaw(t, "tcp", addr)
	c.expect("", "220 ")
	go s.Shutdown(context.Background())
	c.expect("", "421 4.3.2 Service shutting down")
}
