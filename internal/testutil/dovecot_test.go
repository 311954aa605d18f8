package testutil

import (
	"strings"
	"testing"
)

// TestDovecotFixture proves the private Dovecot starts and doveadm talks
// to it: a message saved with doveadm save is fetched back.
func TestDovecotFixture(t *testing.T) {
	d := StartDovecot(t, DovecotConfig{})
	d.Doveadm(t, []byte("From: a@example.org\nSubject: fixture\n\nbody\n"), "save", "-u", "alice")
	out := d.Doveadm(t, nil, "fetch", "-u", "alice", "uid hdr.subject", "all")
	if !strings.Contains(out, "uid: 1") || !strings.Contains(out, "fixture") {
		t.Fatalf("doveadm fetch = %q", out)
	}
}

// TestDovecotPreauthIMAP runs Dovecot's imap binary on a fresh Maildir.
func TestDovecotPreauthIMAP(t *testing.T) {
	home := SharedDir(t)
	ChownTree(t, home, PlainUID, PlainGID)
	out := PreauthIMAP(t, "bob", home, "maildir:~/Maildir", "a select INBOX\r\nb logout\r\n")
	if !strings.Contains(out, "a OK") {
		t.Fatalf("imap said %q", out)
	}
}

func TestNewTLS(t *testing.T) {
	f := NewTLS(t)
	if f.ServerConfig().Certificates == nil || f.ClientConfig().RootCAs == nil {
		t.Fatal("empty TLS configs")
	}
}
