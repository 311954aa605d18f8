package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/pop3"
	"github.com/yubinmail/yubin/store"
)

// TestCannedMatchesYubin checks that the canned reference server sends
// the octets yubin's pop3 server sends for the same Maildir: the same
// STAT reply and the same RETR replies (compared as a set: the canned
// server numbers the files by name, yubin by UID).
func TestCannedMatchesYubin(t *testing.T) {
	root := filepath.Join(t.TempDir(), "alice", "Maildir")
	st, err := maildir.Open(root, maildir.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"Subject: a\n\n.\n..x\nend\n", ".starts with a dot\n\nbody", "Subject: crlf\r\n\r\nline\r\n"} {
		if _, err := mb.Append(context.Background(), strings.NewReader(m), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mb.Close()
	st.Close()

	srv := &pop3.Server{Authenticator: anyPassword{}, Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		return maildir.Open(root, maildir.Options{NoSync: true})
	}), MaxUserIPConnections: -1}
	yl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(yl)
	defer func() {
		// Wait for the sessions' ends (their stores write the index)
		// before the directory is removed.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := serveCanned(cl, root); err != nil {
		t.Fatal(err)
	}
	stat := func(addr string) (string, []string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		line := func() string {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		line()
		for _, cmd := range []string{"USER alice", "PASS x"} {
			fmt.Fprintf(c, "%s\r\n", cmd)
			line()
		}
		fmt.Fprintf(c, "STAT\r\n")
		s := line()
		var retr []string
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(c, "RETR %d\r\n", i)
			var b bytes.Buffer
			for !bytes.HasSuffix(b.Bytes(), []byte("\r\n.\r\n")) {
				b.WriteString(line())
			}
			retr = append(retr, b.String())
		}
		slices.Sort(retr)
		return s, retr
	}
	ys, yr := stat(yl.Addr().String())
	cs, cr := stat(cl.Addr().String())
	if ys != cs {
		t.Errorf("STAT: yubin %q, canned %q", ys, cs)
	}
	if !slices.Equal(yr, cr) {
		t.Errorf("RETR replies differ:\nyubin  %q\ncanned %q", yr, cr)
	}
}
