package dovecotauth_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/dovecotauth"
)

// Serve yubin's users to Postfix (smtpd_sasl_type = dovecot,
// smtpd_sasl_path = <socket>) and authenticate through the same socket.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "passwd")
	os.WriteFile(path, []byte("joe@example.jp:{PLAIN}secret:5000:5000::/srv/mail/joe::\n"), 0o600)
	svc := &auth.Service{PassDB: &auth.PasswdFile{Path: path}}

	sock := filepath.Join(dir, "auth-client")
	l, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &dovecotauth.Server{Authenticator: svc}
	go srv.Serve(l)
	defer srv.Close()

	cl := &dovecotauth.Client{Path: sock}
	defer cl.Close()
	c := &auth.ConnInfo{Service: "smtp", RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	id, err := cl.Login(context.Background(), c, "joe@example.jp", "secret")
	fmt.Println(id.User, err)
	// Output:
	// joe@example.jp <nil>
}
