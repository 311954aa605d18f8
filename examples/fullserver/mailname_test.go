package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMyoriginFromMailnameFile: Debian's "myorigin = /etc/mailname" reads
// the domain from the file; a missing file is a warning (myorigin is then $myhostname), a
// bad one an error at file:line.
func TestMyoriginFromMailnameFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "mailname"), []byte("mail.example.jp\n"), 0o644)
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte("data_directory = "+dir+"/data\nmyorigin = "+dir+"/mailname\nmydestination = $myorigin, localhost\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"-config", cf, "config"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("config: exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"myorigin = mail.example.jp\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config lacks %q:\n%s", want, out.String())
		}
	}
	// adduser qualifies a bare name with it, as append_at_myorigin.
	out.Reset()
	errb.Reset()
	if code := run([]string{"-config", cf, "adduser", "bob"}, strings.NewReader("pw-bob\n"), &out, &errb); code != 0 {
		t.Fatalf("adduser: exit %d: %s", code, errb.String())
	}
	out.Reset()
	run([]string{"-config", cf, "users"}, strings.NewReader(""), &out, &errb)
	if !strings.Contains(out.String(), "bob@mail.example.jp") {
		t.Errorf("users: %s", out.String())
	}

	os.WriteFile(cf, []byte("data_directory = "+dir+"/data\nmyorigin = "+dir+"/nomailname\n"), 0o644)
	errb.Reset()
	out.Reset()
	if code := run([]string{"-config", cf, "check"}, strings.NewReader(""), &out, &errb); code != 0 || !strings.Contains(errb.String(), cf+":2: myorigin = "+dir+"/nomailname: no such file; using $myhostname (localhost)") {
		t.Errorf("missing mailname: exit %d: %s", code, errb.String())
	}
	os.WriteFile(filepath.Join(dir, "badname"), []byte("two words\n"), 0o644)
	os.WriteFile(cf, []byte("data_directory = "+dir+"/data\nmyorigin = "+dir+"/badname\n"), 0o644)
	errb.Reset()
	if code := run([]string{"-config", cf, "check"}, strings.NewReader(""), &out, &errb); code != 1 || !strings.Contains(errb.String(), cf+`:2: myorigin = `+dir+`/badname: the file's first line "two words" is not a domain name`) {
		t.Errorf("bad mailname: exit %d: %s", code, errb.String())
	}
}

// TestAuthDefaultRealmQualifiesLogin: with auth_default_realm, "alice"
// logs in as alice@REALM over IMAP, as with Dovecot.
func TestAuthDefaultRealmQualifiesLogin(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "auth_default_realm = localhost\ndisable_plaintext_auth = no\n")
	in.addUsers("alice")
	in.start()
	c, r := imapGreets(t, in.addr("imap"))
	defer c.Close()
	for _, step := range []struct{ cmd, want string }{
		{"a LOGIN alice pw-alice\r\n", "a OK"},
		{"b LOGOUT\r\n", "* BYE"},
	} {
		c.Write([]byte(step.cmd))
		var l string
		for {
			var err error
			if l, err = r.ReadString('\n'); err != nil {
				t.Fatalf("%s: %v", step.cmd, err)
			}
			if !strings.HasPrefix(l, "* ") || strings.HasPrefix(step.want, "* ") {
				break
			}
		}
		if !strings.HasPrefix(l, step.want) {
			t.Errorf("%s: %q, want %s", strings.TrimSpace(step.cmd), l, step.want)
		}
	}
}
