package queue

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

func TestParseNexthop(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // String() of the result, "" for an error
		mx   bool
		port string
	}{
		{"example.jp", "example.jp", true, ""},
		{"Example.JP.", "example.jp", true, ""},
		{"example.jp:2525", "example.jp:2525", true, "2525"},
		{"[smtp.example.com]:587", "[smtp.example.com]:587", false, "587"},
		{"[smtp.example.com]:submission", "[smtp.example.com]:submission", false, "submission"},
		{"[smtp.example.com]", "[smtp.example.com]", false, ""},
		{"[192.0.2.1]", "[192.0.2.1]", false, ""},
		{"[192.0.2.1]:25", "[192.0.2.1]:25", false, "25"},
		{"[ipv6:2001:db8::1]:25", "[ipv6:2001:db8::1]:25", false, "25"},
		{"[2001:db8::1]", "[ipv6:2001:db8::1]", false, ""},
		{"", "", false, ""},
		{"[unclosed", "", false, ""},
		{"[host]x", "", false, ""},
		{"[host]:", "", false, ""},
		{"[host]:0", "", false, ""},
		{"[host]:70000", "", false, ""},
		{"host:a b", "", false, ""},
		{"2001:db8::1", "", false, ""},
		{"bad host", "", false, ""},
		{"-leading.example", "", false, ""},
		{"a..b", "", false, ""},
		{"[ipv6:192.0.2.1]", "", false, ""},
		{"[fe80::1%eth0]", "", false, ""},
		{strings.Repeat("a", 64) + ".example", "", false, ""},
	} {
		nh, err := parseSMTPNexthop(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("parseNexthop(%q) = %+v, want an error", tc.in, nh)
			}
			continue
		}
		if err != nil || nh.String() != tc.want || nh.mx != tc.mx || nh.port != tc.port || nh.dest != strings.TrimSpace(tc.in) {
			t.Errorf("parseNexthop(%q) = %+v %v, want %s mx=%v port=%q", tc.in, nh, err, tc.want, tc.mx, tc.port)
		}
	}
}

func TestParseSASLValue(t *testing.T) {
	for _, tc := range []struct{ in, user, pass string }{
		{"joe:secret", "joe", "secret"},
		{"joe@example.jp:pa:ss", "joe@example.jp", "pa:ss"},
		{"joe", "joe", ""},
		{"joe:", "joe", ""},
		{":secret", "", ""},
		{"joe:se\ncret", "", ""},
		{strings.Repeat("x", maxSASLValue+1), "", ""},
	} {
		u, p, err := parseSASLValue(tc.in)
		if tc.user == "" {
			if err == nil {
				t.Errorf("parseSASLValue(%q) = %q %q, want an error", tc.in, u, p)
			}
			continue
		}
		if err != nil || u != tc.user || p != tc.pass {
			t.Errorf("parseSASLValue(%q) = %q %q %v", tc.in, u, p, err)
		}
	}
	o := parseSASLOptions("noplaintext, noanonymous")
	if !o.noPlaintext || !o.noAnonymous {
		t.Errorf("options %+v", o)
	}
	if saslClient("PLAIN LOGIN", o, "u", "p") != nil {
		t.Error("noplaintext allowed PLAIN")
	}
	if saslClient("CRAM-MD5", saslOpts{}, "u", "p") != nil {
		t.Error("a mechanism this client lacks was chosen")
	}
	if c := saslClient("login", saslOpts{}, "u", "p"); c == nil {
		t.Error("LOGIN not chosen")
	} else if m, _, _ := c.Start(); m != "LOGIN" {
		t.Errorf("mechanism %s", m)
	}
}

func TestXtextAndORCPT(t *testing.T) {
	if got := smtpXtext("a+b=c d@x"); got != "a+2Bb+3Dc+20d@x" {
		t.Errorf("xtext: %s", got)
	}
	if got := smtpORCPT(Recipient{Addr: "x@y", Orig: "alias+1@y"}); got != "rfc822;alias+2B1@y" {
		t.Errorf("orcpt: %s", got)
	}
	if got := smtpORCPT(Recipient{Addr: "x@y", ORcpt: "rfc822;given@y", Orig: "o@y"}); got != "rfc822;given@y" {
		t.Errorf("orcpt given: %s", got)
	}
	for _, bad := range []string{"SUCCESS\r\nRSET", "a b", "x=y", strings.Repeat("x", 501)} {
		if esmtpValue(bad) != "" {
			t.Errorf("esmtpValue(%q) passed", bad)
		}
	}
	if esmtpValue("rfc822;a+2Bb@y") != "rfc822;a+2Bb@y" {
		t.Error("a valid xtext value refused")
	}
}

// TestLoadRootCAs reads smtp_tls_CAfile and smtp_tls_CApath (a directory
// with a PEM file, a file that is not PEM and a subdirectory).
func TestLoadRootCAs(t *testing.T) {
	a := testutil.NewTLSNames(t, "a.yubin.test")
	b := testutil.NewTLSNames(t, "b.yubin.test")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.pem"), b.CertPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a certificate"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	pool, err := LoadRootCAs(a.CertFile, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*testutil.TLSFixture{a, b} {
		leaf := f.Cert.Leaf
		if leaf == nil {
			t.Fatal("no leaf")
		}
		if _, err := leaf.Verify(smtpX509Opts(pool)); err != nil {
			t.Errorf("%s not trusted: %v", leaf.Subject.CommonName, err)
		}
	}
	if _, err := LoadRootCAs(filepath.Join(dir, "README"), ""); err == nil {
		t.Error("a CAfile without certificates was accepted")
	}
	if _, err := LoadRootCAs("", t.TempDir()); err == nil {
		t.Error("an empty CApath was accepted")
	}
}

func TestTLSSummary(t *testing.T) {
	cs := tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	got := tlsSummary(cs, TLSMay, tlsPeerTrust{}, "mx.example.jp[192.0.2.1]:25")
	if got != "Anonymous TLS connection established to mx.example.jp[192.0.2.1]:25: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)" {
		t.Errorf("summary: %s", got)
	}
	cs.CipherSuite = tls.TLS_CHACHA20_POLY1305_SHA256
	if got := tlsSummary(cs, TLSMay, tlsPeerTrust{}, "r"); !strings.HasSuffix(got, "(256/256 bits)") {
		t.Errorf("summary: %s", got)
	}
}

// TestSMTPTransportCancel: a delivery whose context ends while the
// server is silent returns at once, deferred.
func TestSMTPTransportCancel(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tr := &SMTPTransport{Hostname: "client.yubin.test"}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rs := tr.Deliver(ctx, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(l.Addr().(*net.TCPAddr).Port), smtpTestMessage, "a@yubin.test"))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
	wantSMTPStatus(t, rs[0], Deferred, "4.4.2", "")
}

// TestSmtpSinkBindAddress connects from smtp_bind_address; an
// address that cannot be bound defers with the connect error.
func TestSmtpSinkBindAddress(t *testing.T) {
	t.Parallel()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	tr := &SMTPTransport{Hostname: "client.yubin.test", BindAddress: "127.0.0.1"}
	defer tr.Close()
	rs := smtpDeliver(t, tr, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(sink.Port), smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Sent, "", "250")
	tr2 := &SMTPTransport{Hostname: "client.yubin.test", BindAddress: "192.0.2.1"}
	rs = smtpDeliver(t, tr2, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(sink.Port), smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Deferred, "4.4.1", "connect to 127.0.0.1[127.0.0.1]:"+smtpItoa(sink.Port)+": Cannot assign requested address")
	// A literal of a family Protocols excludes is not tried.
	tr3 := &SMTPTransport{Hostname: "client.yubin.test", Protocols: "ipv6"}
	rs = smtpDeliver(t, tr3, newSMTPDelivery("[127.0.0.1]:"+smtpItoa(sink.Port), smtpTestMessage, "a@yubin.test"))
	wantSMTPStatus(t, rs[0], Deferred, "", "address family not enabled")
}
