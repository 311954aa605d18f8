package auth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
)

// Hash a password in one of Dovecot's schemes and check it, as
// "doveadm pw -s SHA512-CRYPT" and a login do.
func ExampleHash() {
	stored, err := auth.Hash("SHA512-CRYPT", "correct horse")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(stored, "{SHA512-CRYPT}$6$"))
	ok, _ := auth.Verify(stored, "correct horse")
	bad, _ := auth.Verify(stored, "wrong horse")
	fmt.Println(ok, bad)
	// Output:
	// true
	// true false
}

// SHACrypt is crypt(3)'s SHA-512 and SHA-256 methods: the same setting
// gives the same hash as glibc's and libxcrypt's (and openssl passwd -5).
func ExampleSHACrypt() {
	h, _ := auth.SHACrypt("$5$saltstring", "Hello world!")
	fmt.Println(h)
	// Output: $5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5
}

// A passwd-file passdb and userdb, the format of Dovecot's passwd-file
// (user:password:uid:gid:gecos:home:shell:extra fields).
func ExamplePasswdFile() {
	dir, _ := os.MkdirTemp("", "passwd")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "passwd")
	os.WriteFile(path, []byte("alice@example.org:{PLAIN}secret::::/srv/mail/alice::userdb_quota_rule=*:storage=1G\n"), 0o600)

	db := &auth.PasswdFile{Path: path}
	ctx := context.Background()
	if _, err := db.Authenticate(ctx, "alice@example.org", "secret"); err == nil {
		fmt.Println("password accepted")
	}
	u, _ := db.LookupUser(ctx, "alice@example.org")
	fmt.Println(u.Home, u.QuotaBytes)
	// Output:
	// password accepted
	// /srv/mail/alice 1073741824
}
