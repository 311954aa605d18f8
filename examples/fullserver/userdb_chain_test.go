package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/auth"
)

// TestUserDBChain: "userdb = passwd-file, passwd" asks the passwd-file
// first and then the system's users (Dovecot's two userdb blocks): a
// virtual user gets the file's home, a system user (root) the system's,
// and a user neither knows is unknown.
func TestUserDBChain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte("alice@example.org:{PLAIN}pw::::/srv/mail/alice::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := newSchema().Parse("main.cf", strings.NewReader("data_directory = "+dir+"\npassdb = passwd-file:"+passwd+"\nuserdb = passwd-file, passwd\n"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := newUsers(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if usr, err := u.LookupUser(ctx, "alice@example.org"); err != nil || usr.Home != "/srv/mail/alice" {
		t.Errorf("virtual user: %+v, %v", usr, err)
	}
	if usr, err := u.LookupUser(ctx, "root"); err != nil || usr.Home != "/root" {
		t.Errorf("system user through the second userdb: %+v, %v", usr, err)
	}
	if _, err := u.LookupUser(ctx, "no-such-user-anywhere"); !errors.Is(err, auth.ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}

	c, err = newSchema().Parse("main.cf", strings.NewReader("data_directory = "+dir+"\npassdb = passwd-file:"+passwd+"\nuserdb = passwd-file, nosuch:x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newUsers(c, nil); err == nil || !strings.Contains(err.Error(), "nosuch:x") {
		t.Errorf("a bad member of the chain: %v", err)
	}
}
