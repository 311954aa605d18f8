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

// oneUser is a stand-in Authenticator for the example; a program uses
// an *auth.Service.
type oneUser struct{}

func (oneUser) Mechanisms(*auth.ConnInfo) []string   { return nil }
func (oneUser) PlaintextAllowed(*auth.ConnInfo) bool { return true }
func (oneUser) NewSASL(context.Context, string, *auth.ConnInfo) (auth.SASLSession, error) {
	return nil, auth.ErrUnsupportedMechanism
}
func (oneUser) Login(_ context.Context, _ *auth.ConnInfo, user, pass string) (*auth.Identity, error) {
	if user == "alice" && pass == "secret" {
		return &auth.Identity{User: user}, nil
	}
	return nil, auth.ErrAuthFailed
}

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

	srv := &pop3.Server{Authenticator: oneUser{}, Backend: backend}
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
