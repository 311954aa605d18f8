package main

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/dovecotauth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// TestAuthClientSocketLoginNotLoggedAsIMAP: a login on the auth-client
// socket (a Dovecot-protocol client naming service=imap) writes no
// "imap-login: Login:" line, as Dovecot's auth process writes none;
// only the host's own IMAP login does.
func TestAuthClientSocketLoginNotLoggedAsIMAP(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(testutil.SharedDir(t), "auth-client")
	in := newInstance(t, "auth_client_listener = "+sock+"\ndisable_plaintext_auth = no\n")
	in.addUsers("alice")
	in.start()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := &dovecotauth.Client{Path: sock, AllowPlaintext: true}
	defer cl.Close()
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 143}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	if _, err := cl.Login(ctx, &auth.ConnInfo{Service: "imap", LocalAddr: local, RemoteAddr: remote}, "alice@localhost", "pw-alice"); err != nil {
		t.Fatalf("login on the auth-client socket: %v", err)
	}
	nc, err := net.DialTimeout("tcp", in.addr("imap"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(nc)
	br.ReadString('\n')
	nc.Write([]byte("a LOGIN alice@localhost pw-alice\r\n"))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("IMAP login: %v", err)
		}
		if strings.HasPrefix(line, "a ") {
			if !strings.HasPrefix(line, "a OK") {
				t.Fatalf("IMAP login: %q", line)
			}
			break
		}
	}
	in.waitLog("imap-login: Login:")
	if n := strings.Count(in.errText(), "imap-login: Login:"); n != 1 {
		t.Errorf("%d imap-login lines for one IMAP login and one auth-client login:\n%s", n, in.errText())
	}
}
