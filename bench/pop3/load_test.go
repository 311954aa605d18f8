package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/pop3"
	"github.com/yubinmail/yubin/store"
)

// TestClientsAgree runs both load generator clients against yubin's
// server on messages with dot-stuffed lines, an empty body and one
// larger than the blocking client's buffer: both must finish the
// session and count the same octets (the sizes RETR announces).
func TestClientsAgree(t *testing.T) {
	home := t.TempDir()
	st, err := maildir.Open(filepath.Join(home, "alice", "Maildir"), maildir.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []string{
		"Subject: dots\n\n.\n..\n.x\nend\n",
		"Subject: empty body\n\n",
		"Subject: big\n\n" + strings.Repeat(".line starting with a dot\n"+strings.Repeat("y", 200)+"\n", 700),
		"Subject: no final newline\n\nlast.",
	}
	var want int64
	for _, m := range msgs {
		if _, err := mb.Append(context.Background(), strings.NewReader(m), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
		want += int64(len(m) + strings.Count(m, "\n"))
	}
	mb.Close()
	st.Close()
	srv := &pop3.Server{Authenticator: anyPassword{}, Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		return maildir.Open(filepath.Join(home, user, "Maildir"), maildir.Options{NoSync: true})
	}), MaxUserIPConnections: -1}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	for _, kind := range []string{"block", "net"} {
		if err := SetClient(kind); err != nil {
			t.Fatal(err)
		}
		got, err := Session(l.Addr().String(), "alice", "x")
		if err != nil {
			t.Fatalf("%s client: %v", kind, err)
		}
		if got != want {
			t.Errorf("%s client counted %d octets, want %d", kind, got, want)
		}
	}
	SetClient("block")
	// Several clients in eventLoad's one thread.
	r := Load(context.Background(), l.Addr().String(), "alice", "x", 3, 300*time.Millisecond)
	if r.Errors != 0 || r.Sessions < 3 || r.Bytes != r.Sessions*want {
		t.Errorf("eventLoad: %v (first error %v), %d octets; want no errors and %d octets per session", r, r.FirstErr, r.Bytes, want)
	}
}

// TestBlockClientSplitReplies feeds blockSession and eventLoad a
// scripted server that
// writes its replies a few bytes at a time, so the status lines and the
// ends of the multi-line replies straddle reads.
func TestBlockClientSplitReplies(t *testing.T) {
	addr := scriptedServer(t, "+OK 2 14\r\n", 7)
	n, err := blockSession(addr, "u", "p")
	if err != nil || n != 14 {
		t.Fatalf("blockSession = %d, %v; want 14 octets", n, err)
	}
	r := eventLoad(context.Background(), addr, "u", "p", 2, 100*time.Millisecond)
	if r.Errors != 0 || r.Sessions < 2 || r.Bytes != 14*r.Sessions {
		t.Fatalf("eventLoad: %v (first error %v), %d octets", r, r.FirstErr, r.Bytes)
	}
}

// TestBlockClientChecksSizes: the load generator does not read the
// bodies but fails a session whose server sends fewer octets than its
// RETR reply gives, or RETR sizes that do not add up to STAT's.
func TestBlockClientChecksSizes(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		size       int
	}{
		{"short body", "+OK 2 18\r\n", 9},
		{"STAT total", "+OK 2 20\r\n", 7},
	} {
		addr := scriptedServer(t, tc.stat, tc.size)
		if n, err := blockSession(addr, "u", "p"); err == nil {
			t.Errorf("%s: blockSession = %d octets, want an error", tc.name, n)
		}
		r := eventLoad(context.Background(), addr, "u", "p", 2, 100*time.Millisecond)
		if r.Errors == 0 || r.Sessions != 0 {
			t.Errorf("%s: eventLoad: %v; want only errors", tc.name, r)
		}
	}
}

// scriptedServer serves sessions that answer STAT with stat and RETR of
// any message with "+OK size octets" and the same dot-stuffed body of 8
// octets on the wire (7 unstuffed), writing three bytes at a time.
func scriptedServer(t *testing.T, stat string, size int) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	body := "a\r\n..b\r\n.\r\n"
	serve := func(c net.Conn) {
		defer c.Close()
		r := bufio.NewReader(c)
		send := func(s string) {
			for i := 0; i < len(s); i += 3 {
				c.Write([]byte(s[i:min(i+3, len(s))]))
			}
		}
		send("+OK hi\r\n")
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.TrimSpace(l); {
			case strings.HasPrefix(cmd, "USER"), strings.HasPrefix(cmd, "PASS"):
				send("+OK\r\n")
			case cmd == "STAT":
				send(stat)
			case cmd == "UIDL":
				send("+OK\r\n1 a\r\n2 b\r\n.\r\n")
			case strings.HasPrefix(cmd, "RETR"):
				send(fmt.Sprintf("+OK %d octets\r\n%s", size, body))
			case cmd == "QUIT":
				send("+OK bye\r\n")
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return l.Addr().String()
}
