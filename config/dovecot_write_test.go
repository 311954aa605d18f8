package config

import (
	"strings"
	"testing"
)

// TestWriteDovecotReadsBack: what WriteDovecot prints, read again, is
// the same tree (settings, sections, names that need quotes, values
// with a "#" or outer spaces), and prints the same again.
func TestWriteDovecotReadsBack(t *testing.T) {
	in := `protocols = imap pop3 lmtp
ssl_cert = </etc/ssl/certs/mail.pem
mail_location = maildir:~/Maildir
login_greeting = "  spaced # not a comment"
service lmtp {
  unix_listener /var/spool/postfix/private/dovecot-lmtp {
    mode = 0600
    user = postfix
  }
}
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT /etc/dovecot/users
}
namespace inbox {
  mailbox "Sent Messages" {
    special_use = \Sent
  }
}
`
	root, _, err := ParseDovecot("dovecot.conf", strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := WriteDovecot(&out, root); err != nil {
		t.Fatal(err)
	}
	root2, _, err := ParseDovecot("out.conf", strings.NewReader(out.String()), nil)
	if err != nil {
		t.Fatalf("output does not read back: %v\n%s", err, out.String())
	}
	var out2 strings.Builder
	WriteDovecot(&out2, root2)
	if out2.String() != out.String() {
		t.Errorf("second print differs:\n%s\n---\n%s", out.String(), out2.String())
	}
	for _, want := range []string{"service lmtp {\n  unix_listener /var/spool/postfix/private/dovecot-lmtp {\n    mode = 0600\n", "  mailbox \"Sent Messages\" {\n", "ssl_cert = </etc/ssl/certs/mail.pem\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if v, _ := root2.Get("login_greeting"); v.Value != "  spaced # not a comment" {
		t.Errorf("quoted value read back as %q", v.Value)
	}
	if v, _ := root2.Sections[2].Sections[0].Get("special_use"); v.Value != `\Sent` {
		t.Errorf(`\Sent read back as %q`, v.Value)
	}
}
