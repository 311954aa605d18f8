package imap_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// exampleAuth accepts one user; a program would use *auth.Service.
type exampleAuth struct{}

func (exampleAuth) Mechanisms(*auth.ConnInfo) []string   { return nil }
func (exampleAuth) PlaintextAllowed(*auth.ConnInfo) bool { return true }
func (exampleAuth) NewSASL(context.Context, string, *auth.ConnInfo) (auth.SASLSession, error) {
	return nil, auth.ErrUnsupportedMechanism
}
func (exampleAuth) Login(_ context.Context, _ *auth.ConnInfo, user, pass string) (*auth.Identity, error) {
	if user == "alice" && pass == "secret" {
		return &auth.Identity{User: user}, nil
	}
	return nil, auth.ErrAuthFailed
}

// Serve Maildirs over IMAP on a loopback listener and talk to it.
func Example() {
	dir, _ := os.MkdirTemp("", "imap-example")
	defer os.RemoveAll(dir)
	srv := &imap.Server{
		Authenticator: exampleAuth{},
		Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
			return maildir.Open(filepath.Join(dir, user, "Maildir"), maildir.Options{})
		}),
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	c, _ := net.Dial("tcp", l.Addr().String())
	defer c.Close()
	r := bufio.NewReader(c)
	r.ReadString('\n') // greeting
	fmt.Fprint(c, "a LOGIN alice secret\r\nb STATUS INBOX (MESSAGES)\r\nc LOGOUT\r\n")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		if strings.HasPrefix(line, "a OK") {
			line = "a OK [CAPABILITY ...] Logged in\r\n"
		}
		fmt.Print(strings.TrimRight(line, "\r\n") + "\n")
	}
	// Output:
	// a OK [CAPABILITY ...] Logged in
	// * STATUS "INBOX" (MESSAGES 0)
	// b OK Status completed.
	// * BYE Logging out
	// c OK Logout completed.
}
