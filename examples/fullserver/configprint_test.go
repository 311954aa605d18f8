package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/config"
)

// TestConfigPrintsDovecotConfInItsSyntax: "config" prints main.cf's
// settings as main.cf lines and dovecot.conf's as Dovecot syntax
// (sections and all, as doveconf -n), not as main.cf lines; the Dovecot
// half reads back as the same dovecot.conf.
func TestConfigPrintsDovecotConfInItsSyntax(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "dovecot.conf")
	os.WriteFile(conf, []byte("mail_location = maildir:~/Maildir\nservice imap-login {\n  inet_listener imap {\n    port = 0\n  }\n}\nprotocol imap {\n  mail_max_userip_connections = 20\n}\n"), 0o644)
	mainCF := filepath.Join(dir, "main.cf")
	os.WriteFile(mainCF, []byte("data_directory = "+filepath.Join(dir, "data")+"\nmyhostname = mx.example.jp\ndovecot_config_file = "+conf+"\n"), 0o644)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-config", mainCF, "config"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("config: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	mainPart, dovecotPart, ok := strings.Cut(out, "\n# "+conf+"\n")
	if !ok {
		t.Fatalf("no dovecot.conf part in\n%s", out)
	}
	if !strings.Contains(mainPart, "myhostname = mx.example.jp\n") {
		t.Errorf("main.cf part lacks myhostname:\n%s", mainPart)
	}
	for _, bad := range []string{"mail_location", "imap_port", "mail_max_userip_connections"} {
		if strings.Contains(mainPart, bad) {
			t.Errorf("main.cf part prints dovecot.conf's %s as a main.cf line:\n%s", bad, mainPart)
		}
	}
	want := "mail_location = maildir:~/Maildir\nservice imap-login {\n  inet_listener imap {\n    port = 0\n  }\n}\nprotocol imap {\n  mail_max_userip_connections = 20\n}\n"
	if dovecotPart != want {
		t.Errorf("dovecot.conf part:\n%s\nwant:\n%s", dovecotPart, want)
	}
	if _, _, err := config.ParseDovecot("printed", strings.NewReader(dovecotPart), nil); err != nil {
		t.Errorf("printed dovecot.conf does not read back: %v", err)
	}
}
