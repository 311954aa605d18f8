package queue

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/dovecotauth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// relayPostfix is a real Postfix 3.7 smtpd acting as relayhost and as
// TLS server: STARTTLS with a certificate for relay.yubin.test and
// mx.sec.yubin.test, SASL through yubin's Dovecot auth-protocol server
// (smtpd_sasl_type = dovecot), relaying only for authenticated clients,
// one recipient refused with 550, a 20,000-byte message size limit, and
// mail it takes discarded.
type relayPostfix struct {
	pf   *testutil.SMTPPostfix
	cert *testutil.TLSFixture
}

func startRelayPostfix(t *testing.T) *relayPostfix {
	t.Helper()
	svc := &auth.Service{
		PassDB:         &auth.PasswdFile{Path: filepath.Join(testutil.SharedTestdata(t), "passwd-file")},
		AuthMechanisms: []string{"PLAIN", "LOGIN"},
		FailureDelay:   -1, PenaltyBase: -1,
	}
	dir := testutil.SharedDir(t)
	sock := filepath.Join(dir, "auth-client")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o666)
	srv := &dovecotauth.Server{Authenticator: svc}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	cert := testutil.NewTLSNames(t, "relay.yubin.test", "mx.sec.yubin.test")
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(`smtpd_tls_cert_file = %s
smtpd_tls_key_file = %s
smtpd_tls_security_level = may
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = %s
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access inline:{{bad@remote.test=550 5.1.1 User unknown}}
message_size_limit = 20000
default_transport = discard
relay_transport = discard
`, cert.CertFile, cert.KeyFile, sock))
	return &relayPostfix{pf: pf, cert: cert}
}

// smtpSASLMap is an in-memory smtp_sasl_password_maps that records the keys
// looked up.
type smtpSASLMap struct {
	mu   sync.Mutex
	m    map[string]string
	keys []string
}

func (s *smtpSASLMap) lookup(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, key)
	v, ok := s.m[key]
	return v, ok, nil
}

// TestPostfixRelayhostSASL relays through a real Postfix as relayhost
// "[relay.yubin.test]:port" (the host name resolved by the real nsd)
// with SASL credentials from a password map looked up in Postfix's order
// (host name, then the nexthop as written), over opportunistic TLS:
// Postfix logs the SASL login; the TLS session is logged in Postfix's
// words. A wrong password defers with Postfix's text and 4.7.8
// (smtp_sasl_auth_soft_bounce); without TLS, noplaintext leaves no
// mechanism and the mail is deferred.
func TestPostfixRelayhostSASL(t *testing.T) {
	t.Parallel()
	rp := startRelayPostfix(t)
	res := startSMTPDNS(t)
	nh := fmt.Sprintf("[relay.yubin.test]:%d", rp.pf.SMTPPort)
	sasl := &smtpSASLMap{m: map[string]string{nh: "plain@example.org:secret"}}
	log, lb := newSMTPLogger()
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, SASL: sasl.lookup, Logger: log}
	defer tr.Close()
	rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@remote.test", "b@remote.test"))
	for _, r := range rs {
		wantSMTPStatus(t, r, Sent, "2.0.0", " queued as ")
		if r.Relay != fmt.Sprintf("relay.yubin.test[127.0.0.1]:%d", rp.pf.SMTPPort) {
			t.Errorf("relay=%s", r.Relay)
		}
	}
	if got := strings.Join(sasl.keys, " "); got != "relay.yubin.test "+nh {
		t.Errorf("password map keys looked up: %q, want host then nexthop", got)
	}
	rp.pf.WaitLog(t, "sasl_method=PLAIN, sasl_username=plain@example.org", 10*time.Second)
	if !strings.Contains(lb.String(), fmt.Sprintf("Untrusted TLS connection established to relay.yubin.test[127.0.0.1]:%d: TLSv1.3 with cipher TLS_", rp.pf.SMTPPort)) {
		t.Errorf("TLS not logged as Postfix does:\n%s", lb)
	}

	// Wrong password: Postfix says 535 5.7.8; soft bounce makes it 4.7.8.
	bad := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, DisableConnectionCache: true,
		SASL: func(context.Context, string) (string, bool, error) { return "plain@example.org:wrong", true, nil }}
	rs = smtpDeliver(t, bad, newSMTPDelivery(nh, smtpTestMessage, "a@remote.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.7.8", fmt.Sprintf("SASL authentication failed; server relay.yubin.test[127.0.0.1]:%d said: 535 5.7.8 Error: authentication failed", rp.pf.SMTPPort))
	bad.SASLAuthHardBounce = true
	rs = smtpDeliver(t, bad, newSMTPDelivery(nh, smtpTestMessage, "a@remote.test"))
	wantSMTPStatus(t, rs[0], Bounced, "5.7.8", "SASL authentication failed")

	// No TLS: PLAIN and LOGIN are plaintext mechanisms; none is left.
	plain := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, TLSLevel: TLSNone, SASL: sasl.lookup, DisableConnectionCache: true}
	rs = smtpDeliver(t, plain, newSMTPDelivery(nh, smtpTestMessage, "a@remote.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.7.0", "SASL authentication failed; cannot authenticate to server relay.yubin.test[127.0.0.1]:")
	// Allowed explicitly, it authenticates in the clear.
	plain.SASLSecurityOptions = "noanonymous"
	rs = smtpDeliver(t, plain, newSMTPDelivery(nh, smtpTestMessage, "a@remote.test"))
	wantSMTPStatus(t, rs[0], Sent, "", "250")

	// Without credentials, Postfix refuses to relay
	// (smtpd_relay_restrictions = permit_sasl_authenticated, reject): a
	// 5xx bounce.
	anon := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, DisableConnectionCache: true}
	rs = smtpDeliver(t, anon, newSMTPDelivery(nh, smtpTestMessage, "a@remote.test"))
	wantSMTPStatus(t, rs[0], Bounced, "5.7.1", "Recipient address rejected: Access denied (in reply to RCPT TO command)")
}

// TestPostfixRecipientsAndSize: the real Postfix refuses one of three
// recipients with 550 (only that one bounces), and a message over its
// SIZE limit bounces with 5.3.4 before MAIL FROM; a recipient that needs
// SMTPUTF8 goes through (Postfix offers it).
func TestPostfixRecipientsAndSize(t *testing.T) {
	t.Parallel()
	rp := startRelayPostfix(t)
	nh := fmt.Sprintf("[127.0.0.1]:%d", rp.pf.SMTPPort)
	tr := &SMTPTransport{Hostname: "client.yubin.test",
		SASL: func(context.Context, string) (string, bool, error) { return "plain@example.org:secret", true, nil }}
	defer tr.Close()
	d := newSMTPDelivery(nh, smtpTestMessage, "a@remote.test", "bad@remote.test", "c@remote.test")
	rs := smtpDeliver(t, tr, d)
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "queued as")
	wantSMTPStatus(t, rs[1], Bounced, "5.1.1", "said: 550 5.1.1 <bad@remote.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)")
	wantSMTPStatus(t, rs[2], Sent, "2.0.0", "queued as")
	if !rs[1].Remote || rs[1].Code != 550 || rs[1].RemoteMTA != "127.0.0.1" {
		t.Errorf("rejected recipient: %+v", rs[1])
	}

	big := strings.Repeat("x", 70) + "\r\n"
	big = "Subject: big\r\n\r\n" + strings.Repeat(big, 400)
	rs = smtpDeliver(t, tr, newSMTPDelivery(nh, big, "a@remote.test"))
	wantSMTPStatus(t, rs[0], Bounced, "5.3.4", "message size 28816 exceeds size limit 20000 of server 127.0.0.1[127.0.0.1]:")

	u := newSMTPDelivery(nh, smtpTestMessage, "ユーザー@remote.test")
	u.Envelope.UTF8 = true
	rs = smtpDeliver(t, tr, u)
	wantSMTPStatus(t, rs[0], Sent, "", "queued as")
	rp.pf.WaitLog(t, "to=<ユーザー@remote.test>", 10*time.Second)
}

// TestPostfixTLSLevels delivers to the real Postfix at each TLS level,
// trusting its certificate (LoadRootCAs of its PEM file, as
// smtp_tls_CAfile) or not: encrypt logs Trusted; verify matches the MX
// host name and logs Verified; secure matches the nexthop domain (a host
// in it: dot-nexthop); a name mismatch or an untrusted chain defers at
// verify, as does a server without STARTTLS at encrypt.
func TestPostfixTLSLevels(t *testing.T) {
	t.Parallel()
	rp := startRelayPostfix(t)
	res := startSMTPDNS(t)
	roots, err := LoadRootCAs(rp.cert.CertFile, "")
	if err != nil {
		t.Fatal(err)
	}
	port := smtpItoa(rp.pf.SMTPPort)
	creds := func(context.Context, string) (string, bool, error) { return "plain@example.org:secret", true, nil }
	for _, tc := range []struct {
		level   TLSLevel
		nexthop string
		roots   bool
		status  Status
		text    string // in the log for Sent, in the result otherwise
	}{
		{TLSMay, "tls.yubin.test", false, Sent, "Untrusted TLS connection established to mx.yubin.test[127.0.0.1]:" + port + ": TLSv1.3 with cipher"},
		{TLSEncrypt, "tls.yubin.test", true, Sent, "Trusted TLS connection established to mx.yubin.test[127.0.0.1]:" + port},
		{TLSVerify, "[relay.yubin.test]:" + port, true, Sent, "Verified TLS connection established to relay.yubin.test[127.0.0.1]:" + port},
		{TLSSecure, "sec.yubin.test", true, Sent, "Verified TLS connection established to mx.sec.yubin.test[127.0.0.1]:" + port},
		{TLSVerify, "tls.yubin.test", true, Deferred, "Server certificate not verified"},
		{TLSSecure, "[relay.yubin.test]:" + port, false, Deferred, "Server certificate not trusted"},
	} {
		t.Run(string(tc.level)+"-"+tc.nexthop, func(t *testing.T) {
			log, lb := newSMTPLogger()
			tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, Port: port, TLSLevel: tc.level, SASL: creds, Logger: log, DisableConnectionCache: true}
			if tc.roots {
				tr.RootCAs = roots
			}
			rs := smtpDeliver(t, tr, newSMTPDelivery(tc.nexthop, smtpTestMessage, "a@remote.test"))
			if tc.status == Sent {
				wantSMTPStatus(t, rs[0], Sent, "", "queued as")
				if !strings.Contains(lb.String(), tc.text) {
					t.Errorf("log lacks %q:\n%s", tc.text, lb)
				}
			} else {
				wantSMTPStatus(t, rs[0], tc.status, "4.7.5", tc.text)
			}
		})
	}
}

// TestPostfixWrapperMode delivers to a real Postfix smtpd running with
// smtpd_tls_wrappermode = yes (port 465 style): TLS from the first byte,
// logged as Postfix does; without WrapperMode the client gets no
// greeting and defers.
func TestPostfixWrapperMode(t *testing.T) {
	t.Parallel()
	cert := testutil.NewTLSNames(t, "relay.yubin.test")
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(`smtpd_tls_cert_file = %s
smtpd_tls_key_file = %s
smtpd_tls_wrappermode = yes
smtpd_tls_security_level = encrypt
default_transport = discard
relay_transport = discard
`, cert.CertFile, cert.KeyFile))
	roots, err := LoadRootCAs(cert.CertFile, "")
	if err != nil {
		t.Fatal(err)
	}
	log, lb := newSMTPLogger()
	tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: startSMTPDNS(t), WrapperMode: true, TLSLevel: TLSVerify, RootCAs: roots, Logger: log}
	defer tr.Close()
	nh := fmt.Sprintf("[relay.yubin.test]:%d", pf.SMTPPort)
	rs := smtpDeliver(t, tr, newSMTPDelivery(nh, smtpTestMessage, "a@remote.test"))
	wantSMTPStatus(t, rs[0], Sent, "2.0.0", "queued as")
	if !strings.Contains(lb.String(), fmt.Sprintf("Verified TLS connection established to relay.yubin.test[127.0.0.1]:%d: TLSv1.3", pf.SMTPPort)) {
		t.Errorf("log:\n%s", lb)
	}
	plain := &SMTPTransport{Hostname: "client.yubin.test", Resolver: tr.Resolver, HeloTimeout: time.Second, DisableConnectionCache: true}
	rs = smtpDeliver(t, plain, newSMTPDelivery(nh, smtpTestMessage, "a@remote.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.4.2", "while receiving the initial server greeting")
}
