package pop3_test

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/pop3"
	"github.com/yubinmail/yubin/store"
)

// A POP3 server over per-user Maildirs, driven by a raw client.
func Example() {
	dir, _ := os.MkdirTemp("", "pop3-example")
	defer os.RemoveAll(dir)
	backend := store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
		return maildir.Open(filepath.Join(dir, user, "Maildir"), maildir.Options{})
	})
	st, _ := backend.Open(context.Background(), "alice")
	inbox, _ := st.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	inbox.Append(context.Background(), strings.NewReader("Subject: hi\n\nHello\n"), store.AppendOptions{})
	inbox.Close()
	st.Close()

	// Users and passwords from a Dovecot passwd-file; PLAIN passwords
	// also enable APOP through Credentials.
	os.WriteFile(filepath.Join(dir, "passwd"), []byte("alice:{PLAIN}secret::::::\n"), 0o600)
	users := &auth.PasswdFile{Path: filepath.Join(dir, "passwd")}
	srv := &pop3.Server{
		Authenticator: &auth.Service{PassDB: users},
		Credentials:   users,
		Backend:       backend,
		UIDLFormat:    "%08Xu%08Xv", // Dovecot's default, seed 000
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	c, _ := textproto.Dial("tcp", l.Addr().String())
	defer c.Close()
	c.ReadLine() // greeting
	for _, cmd := range []string{"USER alice", "PASS secret", "STAT", "RETR 1"} {
		c.PrintfLine("%s", cmd)
		line, _ := c.ReadLine()
		fmt.Println(line)
	}
	body, _ := c.ReadDotLines()
	fmt.Println(body)
	c.PrintfLine("QUIT")
	line, _ := c.ReadLine()
	fmt.Println(line)
	// Output:
	// +OK
	// +OK Logged in.
	// +OK 1 22
	// +OK 22 octets
	// [Subject: hi  Hello]
	// +OK Logging out.
}
