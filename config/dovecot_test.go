package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// flat lists a tree's settings as "section/path key=value@line".
func flat(s *DovecotSection, prefix string, out *[]string) {
	for _, st := range s.Settings {
		*out = append(*out, prefix+st.Key+"="+st.Value)
	}
	for _, sub := range s.Sections {
		flat(sub, prefix+label(sub)+"/", out)
	}
}

func label(s *DovecotSection) string {
	if s.Name == "" {
		return s.Type
	}
	return s.Type + " " + s.Name
}

func TestParseDovecotSyntax(t *testing.T) {
	conf := `# comment
protocols = imap pop3
mail_plugins = quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
auth_mechanisms = "plain login" # trailing comment
login_greeting = it's ok
ssl_cert = < /etc/ssl/a.pem
login_trusted_networks = 10.0.0.0/8 \
    192.168.0.0/16
service imap-login {
  inet_listener imaps {
    port = 993
  }
}
namespace inbox {
  mailbox "Sent Messages" {
    special_use = \Sent
    auto = subscribe
  }
}
postmaster_address='a\'b'
log_path=$ENV:HOME/x
protocols = $protocols sieve
`
	root, warns, err := ParseDovecot("dovecot.conf", strings.NewReader(conf), &DovecotOptions{Defaults: map[string]string{"protocols": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	var got []string
	flat(root, "", &got)
	want := []string{
		"protocols=imap pop3",
		"mail_plugins=quota",
		"auth_mechanisms=plain login",
		"login_greeting=it's ok",
		"ssl_cert=</etc/ssl/a.pem",
		"login_trusted_networks=10.0.0.0/8 192.168.0.0/16",
		"postmaster_address=a'b",
		"log_path=$ENV:HOME/x",
		"protocols=imap pop3 sieve",
		"protocol imap/mail_plugins=quota imap_quota",
		"service imap-login/inet_listener imaps/port=993",
		"namespace inbox/mailbox Sent Messages/special_use=\\Sent",
		"namespace inbox/mailbox Sent Messages/auto=subscribe",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := root.Sections[1].Sections[0]; s.Pos != (Pos{"dovecot.conf", 13}) {
		t.Errorf("inet_listener at %v, want dovecot.conf:13", s.Pos)
	}
	if st, _ := root.Get("login_trusted_networks"); st.Pos.Line != 10 {
		t.Errorf("continued line at %v, want line 10", st.Pos)
	}
}

func TestParseDovecotAmbiguousHashWarns(t *testing.T) {
	root, warns, err := ParseDovecot("d.conf", strings.NewReader("postmaster_address = a#b\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := root.Get("postmaster_address"); st.Value != "a" {
		t.Errorf("value %q, want a (doveconf cuts at the '#')", st.Value)
	}
	if len(warns) != 1 || warns[0].Pos.Line != 1 || !strings.Contains(warns[0].Msg, "ambiguous '#'") {
		t.Errorf("warnings %v", warns)
	}
}

// Every syntax error is reported, each at its file:line, in one list.
func TestParseDovecotErrorsAllAtOnce(t *testing.T) {
	// "x = 1 {" is a setting whose value is "1 {", so line 5 ends the
	// service and lines 6 and 7 end nothing.
	conf := "ssl = yes\nservice imap {\n  port 143\n  x = 1 {\n}\n}\n}\nmailbox Sent { x\nnamespace inbox {\n"
	_, _, err := ParseDovecot("d.conf", strings.NewReader(conf), nil)
	var el ErrorList
	if !errors.As(err, &el) {
		t.Fatalf("error %v, want an ErrorList", err)
	}
	want := []string{
		`d.conf:3: expecting '=' or '{' after "port"`,
		`d.conf:6: unexpected '}'`,
		`d.conf:7: unexpected '}'`,
		`d.conf:8: garbage after '{'`,
		`d.conf:9: missing '}' for the section namespace inbox started here`,
	}
	if got := el.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}

func TestLoadDovecotIncludes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dovecot.conf", "protocols = imap\n!include conf.d/*.conf\n!include_try local.conf\n!include_try nothing/*.conf\nssl = no\n")
	write("conf.d/10-a.conf", "mail_location = maildir:~/Maildir\n!include auth.conf.ext\n")
	write("conf.d/20-b.conf", "protocol imap {\n  mail_max_userip_connections = 3\n}\n")
	write("conf.d/auth.conf.ext", "passdb {\n  driver = passwd-file\n}\n")
	root, _, err := LoadDovecot(filepath.Join(dir, "dovecot.conf"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	flat(root, "", &got)
	want := "protocols=imap\nmail_location=maildir:~/Maildir\nssl=no\npassdb/driver=passwd-file\nprotocol imap/mail_max_userip_connections=3"
	if strings.Join(got, "\n") != want {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
	if st, _ := root.Get("mail_location"); st.Pos != (Pos{filepath.Join(dir, "conf.d/10-a.conf"), 1}) {
		t.Errorf("mail_location at %v", st.Pos)
	}

	write("bad.conf", "!include missing.conf\n!include self.conf\n")
	write("self.conf", "!include self.conf\n")
	_, _, err = LoadDovecot(filepath.Join(dir, "bad.conf"), nil)
	if err == nil || !strings.Contains(err.Error(), "bad.conf:1: !include "+filepath.Join(dir, "missing.conf")+": no matches") ||
		!strings.Contains(err.Error(), "nested more than") {
		t.Errorf("error %v", err)
	}
}

// FuzzParseDovecot: any input gives a tree or errors, never a panic, and
// every error names a line of the input.
func FuzzParseDovecot(f *testing.F) {
	for _, s := range []string{
		"protocols = imap\n", "service imap-login {\n inet_listener imap {\n port = 143\n }\n}\n",
		"a = \"x\\\"y\" # c\n", "x = $x y\n", "!include_try /nonexistent/*.conf\n", "}\n{\n", "a = b \\\n c\n",
		"mailbox \"Sent\" {\n special_use = \\Sent\n}\n", "k = <file\n", "a#b = c#d\n'x' {\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		opts := &DovecotOptions{
			Defaults: map[string]string{"x": "1"},
			ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
			Glob:     func(string) ([]string, error) { return nil, nil },
		}
		root, _, err := ParseDovecot("f.conf", strings.NewReader(s), opts)
		if root == nil {
			t.Fatal("nil tree")
		}
		var el ErrorList
		if err != nil && !errors.As(err, &el) {
			t.Fatalf("error %T", err)
		}
		lines := strings.Count(s, "\n") + 1
		for _, e := range el {
			if e.Pos.File != "f.conf" || e.Pos.Line < 1 || e.Pos.Line > lines {
				t.Fatalf("error at %v (input has %d lines): %v", e.Pos, lines, e)
			}
		}
	})
}
