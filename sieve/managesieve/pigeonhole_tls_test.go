package managesieve

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/sieve/sievestore"
)

// TestPigeonholeManageSieveSTARTTLS compares yubin and Dovecot's
// managesieved, both with TLS, around STARTTLS: the capabilities
// before (with STARTTLS), the answer to STARTTLS, the capabilities
// re-issued after the handshake (without it), login and CAPABILITY
// after login, a second STARTTLS. Normalised as in the differential
// test.
func TestPigeonholeManageSieveSTARTTLS(t *testing.T) {
	t.Parallel()
	if testutil.LookBinary("managesieve") == "" || testutil.LookBinary("managesieve-login") == "" {
		testutil.Unavailable(t, "Dovecot's managesieve not found (Debian package dovecot-managesieved)")
	}
	tlsf := testutil.NewTLS(t)
	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		Protocols: "sieve",
		Listeners: []string{"managesieve-login/sieve"},
		Extra: "ssl = yes\nssl_cert = <" + tlsf.CertFile + "\nssl_key = <" + tlsf.KeyFile + "\n" +
			"plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n",
	})
	srv := &Server{
		TLSConfig:     tlsf.ServerConfig(),
		Authenticator: &auth.Service{PassDB: anyPassword{}, AllowPlaintext: true, FailureDelay: -1, PenaltyBase: -1},
		Backend:       storeBackend(t.TempDir(), sievestore.Store{}),
	}
	yaddr := startServer(t, srv)
	dc, yc := dial(t, d.Addr(t, "managesieve-login/sieve")), dial(t, yaddr)
	same := func(what, dr, yr string) {
		t.Helper()
		t.Logf("%s: %q", what, dr)
		if dn, yn := normalize(dr), normalize(yr); dn != yn {
			t.Errorf("%s:\ndovecot:\n%s\nyubin:\n%s", what, dn, yn)
		}
	}
	dg, yg := dc.response(), yc.response()
	same("greeting", dg, yg)
	if !strings.Contains(yg, "\"STARTTLS\"\r\n") {
		t.Fatalf("no STARTTLS offered: %q", yg)
	}
	same("STARTTLS", dc.cmd("STARTTLS"), yc.cmd("STARTTLS"))
	for _, c := range []*client{dc, yc} {
		tc := tls.Client(c.conn, tlsf.ClientConfig())
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c.conn = tc
		c.r.Reset(tc)
	}
	same("capabilities after STARTTLS", dc.response(), yc.response())
	for _, cmd := range []string{
		"CAPABILITY",
		"STARTTLS",
		`AUTHENTICATE "PLAIN" "` + plainResp("tls", "pw") + `"`,
		"CAPABILITY",
		"LOGOUT",
	} {
		same(cmd, dc.cmd(cmd), yc.cmd(cmd))
	}
}
