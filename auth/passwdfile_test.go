package auth

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

func goldenPasswd(t *testing.T) *PasswdFile {
	t.Helper()
	return &PasswdFile{Path: filepath.Join(testutil.SharedTestdata(t), "passwd-file")}
}

func loopbackCtx() context.Context {
	return WithConnInfo(context.Background(), &ConnInfo{Service: "imap",
		RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}})
}

// TestPasswdFileGolden authenticates every user of the golden passwd-file
// with "secret" and checks the userdb fields Dovecot returned for them.
func TestPasswdFileGolden(t *testing.T) {
	t.Parallel()
	p := goldenPasswd(t)
	ctx := loopbackCtx()
	for _, u := range []string{"sha512crypt", "sha256crypt", "blfcrypt", "argon2i", "ssha512", "sha512",
		"crammd5", "plain", "pbkdf2", "scramsha256", "md5crypt", "plainmd5", "rawcrypt", "alice", "bob", "passonly"} {
		user := u + "@example.org"
		id, err := p.Authenticate(ctx, user, "secret")
		if err != nil || id.User != user {
			t.Errorf("%s: %v %+v", user, err, id)
		}
		if raceEnabled && u == "argon2i" {
			continue // slow under -race; wrong passwords are covered by the other rows
		}
		if _, err := p.Authenticate(ctx, user, "wrong"); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s wrong password: %v", user, err)
		}
	}
	if errs := p.Errors(); len(errs) != 0 {
		t.Errorf("golden file errors: %v", errs)
	}
	if _, err := p.Authenticate(ctx, "guest@example.org", "anything"); err != nil {
		t.Errorf("nopassword: %v", err)
	}
	if _, err := p.Authenticate(ctx, "nosuch@example.org", "secret"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := p.Authenticate(ctx, "Alice@example.org", "secret"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("keys must be case-sensitive: %v", err)
	}
	// allow_nets=127.0.0.0/8,::1: the same password fails from elsewhere.
	far := WithConnInfo(context.Background(), &ConnInfo{RemoteAddr: &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9)}})
	if _, err := p.Authenticate(far, "alice@example.org", "secret"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("allow_nets not applied: %v", err)
	}
	if _, err := p.Authenticate(far, "bob@example.org", "secret"); err != nil {
		t.Errorf("bob from 10.9.9.9: %v", err)
	}

	if id, err := p.LookupPass(ctx, "alice@example.org"); err != nil || id.User != "alice@example.org" || len(id.Fields) != 0 {
		t.Errorf("LookupPass alice = %+v, %v", id, err)
	}
	alice, err := p.LookupUser(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if alice.UID != 5000 || alice.GID != 5000 || alice.Home != "/srv/mail/example.org/alice" ||
		alice.MailLocation != "maildir:~/Maildir" || alice.QuotaBytes != 1<<30 {
		t.Errorf("alice = %+v", alice)
	}
	bob, err := p.LookupUser(ctx, "bob@example.org")
	if err != nil || bob.UID != 5000 || bob.Home != "/srv/mail/example.org/bob" {
		t.Errorf("bob = %+v, %v", bob, err)
	}
	if _, err := p.LookupUser(ctx, "passonly@example.org"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("passonly userdb: %v", err)
	}
	cred, err := p.LookupCredentials(ctx, "plain@example.org", "CRAM-MD5")
	if err != nil || hexLower(cred) != "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56" {
		t.Errorf("PLAIN -> CRAM-MD5: %x %v", cred, err)
	}
	if _, err := p.LookupCredentials(ctx, "sha512crypt@example.org", "CRAM-MD5"); !errors.Is(err, ErrUnsupportedScheme) {
		t.Errorf("SHA512-CRYPT -> CRAM-MD5: %v", err)
	}
}

// TestPasswdFileMalformedAndReload checks file:line errors, that the rest
// of the file is served, and that an edit is picked up.
func TestPasswdFileMalformedAndReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	content := "# comment\n\ngood:{PLAIN}pw:1000:1000::/home/good::\n:nouser\nbad:{PLAIN}x:notanumber\n" +
		"rel:{PLAIN}x:1:1::relative/home\nnul:{PLAIN}\x00\n" + strings.Repeat("x", MaxPasswdLine+10) + "\n" +
		"good:{PLAIN}dup\nlast:{PLAIN}pw"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &PasswdFile{Path: path}
	ctx := context.Background()
	for _, u := range []string{"good", "last"} {
		if _, err := p.Authenticate(ctx, u, "pw"); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	var lines []string
	for _, e := range p.Errors() {
		lines = append(lines, e.Error())
	}
	for i, want := range []string{path + ":4: empty user name", path + ":5: invalid uid/gid", path + ":6: home",
		path + ":7: NUL byte", path + ":8: line too long", path + ":9: duplicate user"} {
		if i >= len(lines) || !strings.HasPrefix(lines[i], want) {
			t.Errorf("error %d = %q, want prefix %q (all: %q)", i, lines, want, lines)
			break
		}
	}
	// Change the password; the new mtime/size triggers a reload.
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(path, []byte("good:{PLAIN}new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Authenticate(ctx, "good", "new"); err != nil {
		t.Errorf("after reload: %v", err)
	}
	if _, err := p.Authenticate(ctx, "last", "pw"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("removed user still there: %v", err)
	}
	// A vanished file keeps serving the last copy.
	os.Remove(path)
	if _, err := p.Authenticate(ctx, "good", "new"); err != nil {
		t.Errorf("after removal: %v", err)
	}
	if _, err := (&PasswdFile{Path: path}).Authenticate(ctx, "good", "new"); !errors.Is(err, ErrTempFail) {
		t.Errorf("missing file: %v", err)
	}
}

func TestStaticAndSystemUserDB(t *testing.T) {
	ctx := context.Background()
	s := &StaticUserDB{AllowAllUsers: true, Fields: map[string]string{"uid": "0", "gid": "root", "home": "/var/mail/%d/%n", "mail": "maildir:~/Maildir"}}
	u, err := s.LookupUser(ctx, "joe@example.jp")
	if err != nil || u.Home != "/var/mail/example.jp/joe" || u.UID != 0 || u.GID != 0 || u.MailLocation != "maildir:~/Maildir" {
		t.Errorf("static = %+v, %v", u, err)
	}
	s2 := &StaticUserDB{PassDB: goldenPasswd(t), Fields: map[string]string{"home": "/h/%u"}}
	if _, err := s2.LookupUser(ctx, "sha512crypt@example.org"); err != nil {
		t.Errorf("static with passdb check: %v", err)
	}
	if _, err := s2.LookupUser(ctx, "nosuch@example.org"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("static unknown: %v", err)
	}
	sys := &SystemUserDB{Fields: map[string]string{"mail": "maildir:%h/Maildir"}}
	r, err := sys.LookupUser(ctx, "root")
	if err != nil || r.UID != 0 || r.Home == "" || r.MailLocation != "maildir:"+r.Home+"/Maildir" {
		t.Errorf("system root = %+v, %v", r, err)
	}
	if _, err := sys.LookupUser(ctx, "no-such-user-yubin"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("system unknown: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"10M": 10 << 20, "1G": 1 << 30, "100": 100 << 10, "5b": 5, "x": 0} {
		if got := parseSize(in, 1024); got != want {
			t.Errorf("parseSize(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzParsePasswdFile(f *testing.F) {
	f.Add("user:{PLAIN}x:1:2:g:/h:/bin/sh:userdb_mail=maildir:~/M nopassword\n# c\n\n:x\n")
	f.Add("a:b\r\nb:c:d:e:f\n")
	f.Fuzz(func(t *testing.T, s string) {
		entries, _ := ParsePasswdFile(strings.NewReader(s), "fuzz")
		for _, e := range entries {
			expandedExtra(e, Vars{"user": e.User})
		}
	})
}

// TestPasswdFilePathTemplate serves one file per domain, as Dovecot's
// "args = /etc/dovecot/%d.passwd"; variable values cannot leave the
// directory.
func TestPasswdFilePathTemplate(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []struct{ name, body string }{
		{"example.org.passwd", "alice@example.org:{PLAIN}org:1000:1000::/home/org/alice::\n"},
		{"example.net.passwd", "alice@example.net:{PLAIN}net:1001:1001::/home/net/alice::\nbad line:x:y\n"},
		{"..passwd", "x@.:{PLAIN}dot:1::::\n"},
	} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A file outside the directory that "%Ld" with "/" or ".." could reach.
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "passwd"), []byte("root@..:{PLAIN}x:0:0::/root::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(filepath.Dir(dir), "passwd"))
	p := &PasswdFile{Path: filepath.Join(dir, "%Ld.passwd")}
	ctx := context.Background()
	for user, pw := range map[string]string{"alice@example.org": "org", "alice@example.net": "net"} {
		if _, err := p.Authenticate(ctx, user, pw); err != nil {
			t.Errorf("%s: %v", user, err)
		}
		if _, err := p.Authenticate(ctx, user, "wrong"); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s wrong password: %v", user, err)
		}
	}
	if u, err := p.LookupUser(ctx, "alice@example.net"); err != nil || u.Home != "/home/net/alice" || u.UID != 1001 {
		t.Errorf("LookupUser: %+v %v", u, err)
	}
	for _, user := range []string{"alice@example.com", "root@..", "x@.", "root@../x", "alice@example.org/x"} {
		if _, err := p.LookupUser(ctx, user); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("%s: %v, want ErrUnknownUser", user, err)
		}
	}
	if errs := p.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "example.net.passwd:2") {
		t.Errorf("Errors() = %v", errs)
	}
	if _, err := p.ListUsers(ctx); !errors.Is(err, ErrTempFail) {
		t.Errorf("ListUsers with a templated path: %v", err)
	}
	// The per-domain file is re-read when it changes.
	os.WriteFile(filepath.Join(dir, "example.org.passwd"), []byte("alice@example.org:{PLAIN}changed-password::::::\n"), 0o644)
	if _, err := p.Authenticate(ctx, "alice@example.org", "changed-password"); err != nil {
		t.Errorf("after change: %v", err)
	}
	p = &PasswdFile{Path: p.Path, MaxFiles: 1}
	for range 2 {
		for _, user := range []string{"alice@example.org", "alice@example.net"} {
			if _, err := p.LookupUser(ctx, user); err != nil {
				t.Error(err)
			}
		}
	}
	if n := len(p.tables); n != 1 {
		t.Errorf("MaxFiles 1: %d files loaded", n)
	}
}
