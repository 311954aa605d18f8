package main

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/restrict"
)

// TestSmtplibSASLSecurityOptions: smtpd_sasl_security_options =
// noanonymous, noplaintext takes PLAIN and LOGIN away on a session
// without TLS (no AUTH in EHLO, AUTH PLAIN refused), while
// smtpd_sasl_tls_security_options = noanonymous offers them after
// STARTTLS; a submission/ override with noplaintext leaves submission
// without AUTH even after STARTTLS. submission/syslog_name names the
// submission listener's log lines as master.cf's -o does.
func TestSmtplibSASLSecurityOptions(t *testing.T) {
	t.Parallel()
	in := newInstance(t, `smtp/smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous, noplaintext
smtpd_sasl_tls_security_options = noanonymous
submission/smtpd_sasl_tls_security_options = noanonymous, noplaintext
submission/syslog_name = postfix/submission
`)
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo()
print('PLAIN-SESSION', s.esmtp_features.get('auth'))
print('AUTH-PLAIN', s.docmd('AUTH', 'PLAIN AGFsaWNlQGxvY2FsaG9zdABwdy1hbGljZQ=='))
s.starttls(context=ctx)
s.ehlo()
print('TLS-SESSION', s.esmtp_features.get('auth'))
s.login('alice@localhost', 'pw-alice')
print('LOGGED-IN')
s.quit()
s = smtplib.SMTP('127.0.0.1', P('SUB'))
s.starttls(context=ctx)
s.ehlo()
print('SUBMISSION-TLS', s.esmtp_features.get('auth'))
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "SUB="+strconv.Itoa(in.ports["submission"]))
	for _, want := range []string{
		"PLAIN-SESSION None",
		"AUTH-PLAIN (535, b'5.7.8 Error: authentication failed: Invalid authentication mechanism')",
		"TLS-SESSION  PLAIN LOGIN",
		"LOGGED-IN",
		"SUBMISSION-TLS None",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if log := in.errText(); !strings.Contains(log, " postfix/submission/smtpd[") || !strings.Contains(log, " yubin/smtpd[") {
		t.Errorf("log lines of the submission listener not named postfix/submission/smtpd:\n%s", log)
	}
}

// TestCheckRefusesUnknownSASLSecurityOption: a misspelt option is an
// error at its line, as Postfix's smtpd refuses it.
func TestCheckRefusesUnknownSASLSecurityOption(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte("data_directory = "+dir+"/data\nsmtpd_sasl_security_options = noanonymous, noplaintxt\n"), 0o644)
	code, _, stderr := runCmd(t, "", "-config", cf, "check")
	if code == 0 || !strings.Contains(stderr, cf+":2: smtpd_sasl_security_options = noanonymous, noplaintxt: unknown SASL security option \"noplaintxt\"") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

// TestSSLNoTurnsTLSOff: Dovecot's ssl = no leaves out the imaps and
// pop3s listeners and STARTTLS on IMAP, as Dovecot does; the SMTP
// listeners (Postfix's) keep theirs.
func TestSSLNoTurnsTLSOff(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "ssl = no\n")
	in.start()
	for svc, want := range map[string]bool{"imap": true, "imaps": false, "pop3": true, "pop3s": false, "smtp": true, "submissions": true} {
		if _, bound := in.ports[svc]; bound != want {
			t.Errorf("%s listening = %v, want %v", svc, bound, want)
		}
	}
	out := in.python(pyPrelude+`
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
print('IMAP', sorted(m.capabilities))
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo()
print('SMTP-STARTTLS', s.has_extn('starttls'))
`, "IMAP="+strconv.Itoa(in.ports["imap"]), "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if !strings.Contains(out, "IMAP [") || strings.Contains(out, "'STARTTLS'") || !strings.Contains(out, "SMTP-STARTTLS True") {
		t.Errorf("output:\n%s", out)
	}
}

// TestSSLRequiredRefusesPlaintextAuth: ssl = required refuses plaintext
// authentication without TLS from a client that is not local, even with
// disable_plaintext_auth = no (Dovecot's rule); with ssl = yes that
// client may.
func TestSSLRequiredRefusesPlaintextAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	remote := &auth.ConnInfo{Service: "imap", RemoteAddr: &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}, LocalAddr: &net.TCPAddr{IP: net.ParseIP("198.51.100.1"), Port: 143}}
	for ssl, want := range map[string]bool{"yes": true, "required": false} {
		c, err := newSchema().Parse("main.cf", strings.NewReader("data_directory = "+dir+"\ndisable_plaintext_auth = no\nssl = "+ssl+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		u, err := newUsers(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := newAuthService(c, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.PlaintextAllowed(remote); got != want {
			t.Errorf("ssl = %s: plaintext allowed from 192.0.2.7 = %v, want %v", ssl, got, want)
		}
	}
}

// TestRestrictionClassDefinedInMainCF: a restriction class named in
// smtpd_restriction_classes and defined in main.cf (Postfix's
// RESTRICTION_CLASS_README) is accepted by the configuration and used
// by an access table's result.
func TestRestrictionClassDefinedInMainCF(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	protected := filepath.Join(dir, "protected")
	os.WriteFile(protected, []byte("staff@example.jp insiders_only\n"), 0o644)
	c, err := newSchema().Parse("main.cf", strings.NewReader(`data_directory = `+dir+`
mydestination = example.jp
mynetworks = 192.0.2.0/24
smtpd_restriction_classes = insiders_only
insiders_only = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access texthash:`+protected+`, permit_mynetworks, reject_unauth_destination
`))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := newPolicy(c.Service("smtp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ client, rcpt, want string }{
		{"203.0.113.5", "staff@example.jp", "554 5.7.1 <staff@example.jp>: Recipient address rejected: Access denied"},
		{"192.0.2.5", "staff@example.jp", "PERMIT"},
		{"203.0.113.5", "sales@example.jp", "DUNNO"},
	} {
		req := &restrict.Request{ClientAddr: netip.MustParseAddr(tc.client), ClientName: "unknown", Helo: "client.example", Sender: "a@example.org", Recipient: tc.rcpt}
		d, err := pol.Check(context.Background(), restrict.StageRecipient, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != tc.want {
			t.Errorf("client %s RCPT %s: %q, want %q", tc.client, tc.rcpt, got, tc.want)
		}
	}
}

// TestSmtplibMailboxSizeLimit: mailbox_size_limit bounds the file a
// local delivery writes (Postfix's local(8)): with message_size_limit =
// 0 the SMTP server takes a 10 kB message, and its delivery into a
// Maildir under a 4000-byte mailbox_size_limit bounces with 5.3.4
// while a small one arrives; a mailbox_size_limit below
// message_size_limit is refused by check, as Postfix refuses to start.
func TestSmtplibMailboxSizeLimit(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "message_size_limit = 0\nmailbox_size_limit = 4000\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
print('BIG', s.sendmail('someone@localhost', ['alice@localhost'], 'Subject: big\r\n\r\n' + ('x' * 70 + '\r\n') * 140))
print('SMALL', s.sendmail('someone@localhost', ['alice@localhost'], 'Subject: small\r\n\r\nhello\r\n'))
s.quit()
wait_mail('alice', 1)
import glob
print('FILES', len(glob.glob(os.path.join(os.environ['MAIL'], 'localhost', 'alice', 'Maildir', 'new', '*'))))
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	if !strings.Contains(out, "BIG {}") || !strings.Contains(out, "SMALL {}") || !strings.Contains(out, "FILES 1") {
		t.Errorf("output:\n%s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(in.errText(), "dsn=5.3.4, status=bounced") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if log := in.errText(); !strings.Contains(log, "dsn=5.3.4, status=bounced") {
		t.Errorf("no bounce of the big message in the log:\n%s", log)
	}

	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte("data_directory = "+dir+"/data\nmessage_size_limit = 20000\nmailbox_size_limit = 10000\n"), 0o644)
	code, _, stderr := runCmd(t, "", "-config", cf, "check")
	if code == 0 || !strings.Contains(stderr, cf+":3: mailbox_size_limit (10000) is smaller than message_size_limit (20000)") {
		t.Errorf("check: exit %d, stderr %s", code, stderr)
	}
}

// TestMynetworksStyle: mynetworks_style, set without mynetworks, makes
// mynetworks from the interfaces' addresses as Postfix does (host: the
// addresses, subnet: their networks, class: class A/B/C for IPv4); with
// mynetworks set it is not consulted.
func TestMynetworksStyle(t *testing.T) {
	t.Parallel()
	addrs := func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("127.0.0.1").To4(), Mask: net.CIDRMask(8, 32)},
			&net.IPNet{IP: net.ParseIP("172.20.3.4"), Mask: net.CIDRMask(22, 128)},
			&net.IPNet{IP: net.ParseIP("2001:db8:1::5"), Mask: net.CIDRMask(64, 128)},
		}, nil
	}
	for _, tc := range []struct{ text, want string }{
		{"mynetworks_style = host\n", "127.0.0.1/32 172.20.3.4/32 [2001:db8:1::5]/128"},
		{"mynetworks_style = subnet\n", "127.0.0.0/8 172.20.0.0/22 [2001:db8:1::]/64"},
		{"mynetworks_style = class\n", "127.0.0.0/8 172.20.0.0/16 [2001:db8:1::]/64"},
		{"mynetworks_style = subnet\nmynetworks = 192.0.2.0/24\n", ""},
		{"", ""},
	} {
		c, err := newSchema().Parse("main.cf", strings.NewReader(tc.text))
		if err != nil {
			t.Fatal(err)
		}
		got, err := styleNetworks(c, addrs)
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
}

// TestMynetworksStyleSubnetTrustsLoopbackNet: with mynetworks_style =
// subnet (and no mynetworks) a client at 127.0.0.2, on the loopback
// interface's 127.0.0.0/8, may relay; with this host's default
// mynetworks (127.0.0.1/32) it may not.
func TestMynetworksStyleSubnetTrustsLoopbackNet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for text, want := range map[string]string{
		"mynetworks_style = subnet\n": "DUNNO", // relay permitted, nothing else to check
		"":                            "554 5.7.1 <friend@example.com>: Relay access denied",
	} {
		c, err := newSchema().Parse("main.cf", strings.NewReader("data_directory = "+dir+"\n"+text))
		if err != nil {
			t.Fatal(err)
		}
		pol, err := newPolicy(c.Service("smtp"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req := &restrict.Request{ClientAddr: netip.MustParseAddr("127.0.0.2"), ClientName: "unknown", Helo: "client.example", Sender: "a@example.org", Recipient: "friend@example.com"}
		d, err := pol.Check(context.Background(), restrict.StageRecipient, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.String(); got != want {
			t.Errorf("%q: RCPT from 127.0.0.2: %q, want %q", text, got, want)
		}
	}
}

// TestHomeMailbox: Postfix's home_mailbox = Maildir/ without
// mail_location puts each user's mail in ~/Maildir (the userdb's home);
// mail_location, when set, decides; an mbox home_mailbox is refused.
func TestHomeMailbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	os.WriteFile(passwd, []byte("alice@localhost:{PLAIN}pw:1000:1000::"+dir+"/home/alice::\n"), 0o600)
	for text, want := range map[string]string{
		"home_mailbox = Maildir/\n":                                filepath.Join(dir, "home", "alice", "Maildir"),
		"home_mailbox = Mail/box/\n":                               filepath.Join(dir, "home", "alice", "Mail", "box"),
		"home_mailbox = Maildir/\nmail_location = maildir:/m/%n\n": "/m/alice",
		"": filepath.Join(dir, "mail", "localhost", "alice", "Maildir"),
	} {
		c, err := newSchema().Parse("main.cf", strings.NewReader("data_directory = "+dir+"\npassdb = passwd-file:"+passwd+"\nuserdb = passwd-file:"+passwd+"\n"+text))
		if err != nil {
			t.Fatal(err)
		}
		u, err := newUsers(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		usr, err := u.LookupUser(context.Background(), "alice@localhost")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := mailRoot(usr, usr.Name); err != nil || got != want {
			t.Errorf("%q: mail root %q, %v; want %q", text, got, err, want)
		}
	}
	_, err := newSchema().Parse("main.cf", strings.NewReader("home_mailbox = Mailbox\n"))
	if err == nil || !strings.Contains(err.Error(), "main.cf:1: home_mailbox = Mailbox: only the Maildir form") {
		t.Errorf("mbox home_mailbox: %v", err)
	}
}
