package auth_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/auth"
)

func ExampleVerify() {
	ok, err := auth.Verify("{SHA512-CRYPT}$6$abcdefghijklmnop$J/AWykHqo2Tx5UtavGnFc3ytI33la50JpzLTarSWVhkIXK6wOjNwwZjsrIw2UgmrER2EKrSHCeQyAINEEXAk1/", "secret")
	fmt.Println(ok, err)
	ok, err = auth.Verify("{SHA256.HEX}2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", "wrong")
	fmt.Println(ok, err)
	// Output:
	// true <nil>
	// false <nil>
}

func ExampleService() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	stored, _ := auth.Hash("SHA512-CRYPT", "secret")
	path := filepath.Join(dir, "passwd")
	os.WriteFile(path, []byte("joe@example.jp:"+stored+":5000:5000::/srv/mail/joe::userdb_mail=maildir:~/Maildir\n"), 0o600)

	svc := &auth.Service{
		PassDB:         &auth.PasswdFile{Path: path},
		AuthMechanisms: []string{"PLAIN", "LOGIN", "SCRAM-SHA-256"},
	}
	c := &auth.ConnInfo{Service: "imap",
		RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}}
	fmt.Println(svc.Mechanisms(c))

	ss, _ := svc.NewSASL(context.Background(), "PLAIN", c)
	_, done, err := ss.Next(context.Background(), []byte("\x00Joe@Example.JP\x00secret"))
	fmt.Println(done, err, ss.Identity().User)
	// Output:
	// [PLAIN LOGIN SCRAM-SHA-256]
	// true <nil> joe@example.jp
}
