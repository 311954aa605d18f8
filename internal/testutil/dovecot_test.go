package testutil

import (
	"bufio"
	"net"
	"os"
	"strings"
	"testing"
	"time"
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

// TestDovecotListenersHandedOver: Dovecot serves IMAP and POP3 on the
// sockets the starter bound before writing their ports into the config.
// Dovecot cannot have bound them itself: the handed-over sockets listen
// there already, so its own bind would fail (Address already in use)
// and it would exit.
func TestDovecotListenersHandedOver(t *testing.T) {
	d := StartDovecot(t, DovecotConfig{
		Protocols: "imap pop3",
		Listeners: []string{"imap-login/imap", "pop3-login/pop3"},
		Extra:     "service imap-login {\n  inet_listener imaps {\n    port = 0\n  }\n}\nservice pop3-login {\n  inet_listener pop3s {\n    port = 0\n  }\n}\n",
	})
	for name, greeting := range map[string]string{"imap-login/imap": "* OK ", "pop3-login/pop3": "+OK "} {
		c, err := net.DialTimeout("tcp", d.Addr(t, name), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(line, greeting) {
			t.Errorf("%s greets %q, %v", name, line, err)
		}
	}
	if strings.Contains(string(readFile(d.Log)), "Address already in use") {
		t.Errorf("dovecot bound a port itself:\n%s", readFile(d.Log))
	}
}

func readFile(name string) []byte {
	b, _ := os.ReadFile(name)
	return b
}
