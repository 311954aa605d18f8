package auth

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/yubinmail/yubin/internal/testutil"
)

var (
	loopConn = &ConnInfo{Service: "imap", LocalAddr: tcpAddr("127.0.0.1:143"), RemoteAddr: tcpAddr("127.0.0.1:40000")}
	farConn  = &ConnInfo{Service: "imap", LocalAddr: tcpAddr("192.0.2.1:143"), RemoteAddr: tcpAddr("198.51.100.7:40000")}
)

func tcpAddr(s string) *net.TCPAddr {
	a, _ := net.ResolveTCPAddr("tcp", s)
	return a
}

func testService(t *testing.T) *Service {
	return &Service{PassDB: goldenPasswd(t), FailureDelay: -1, PenaltyBase: -1,
		AuthMechanisms: []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS",
			"SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "OAUTHBEARER", "XOAUTH2", "EXTERNAL", "ANONYMOUS"}}
}

// runClient drives a go-sasl client against a server session.
func runClient(t *testing.T, s Authenticator, c *ConnInfo, cl sasl.Client) (*Identity, error) {
	t.Helper()
	mech, ir, err := cl.Start()
	if err != nil {
		t.Fatal(err)
	}
	ss, err := s.NewSASL(context.Background(), mech, c)
	if err != nil {
		return nil, err
	}
	resp := ir
	for i := 0; i < 10; i++ {
		ch, done, err := ss.Next(context.Background(), resp)
		if err != nil {
			return nil, err
		}
		if done {
			return ss.Identity(), nil
		}
		if resp, err = cl.Next(ch); err != nil {
			// The client gave up (e.g. OAUTHBEARER error): send its reply.
			_, _, err = ss.Next(context.Background(), []byte("\x01"))
			return nil, err
		}
		if resp == nil {
			resp = []byte{}
		}
	}
	t.Fatal("too many steps")
	return nil, nil
}

func TestSASLPlainAndLogin(t *testing.T) {
	s := testService(t)
	for _, cl := range []func(u, p string) sasl.Client{
		func(u, p string) sasl.Client { return sasl.NewPlainClient("", u, p) },
		func(u, p string) sasl.Client { return sasl.NewLoginClient(u, p) },
	} {
		id, err := runClient(t, s, loopConn, cl("Plain@Example.ORG", "secret"))
		if err != nil || id.User != "plain@example.org" || id.Fields["original_user"] != "Plain@Example.ORG" {
			t.Errorf("success: %+v %v", id, err)
		}
		_, errWrong := runClient(t, s, loopConn, cl("plain@example.org", "wrong"))
		_, errUnknown := runClient(t, s, loopConn, cl("nobody@example.org", "secret"))
		if !errors.Is(errWrong, ErrAuthFailed) || errWrong != errUnknown {
			t.Errorf("wrong password %v and unknown user %v must be the same error", errWrong, errUnknown)
		}
	}
	// PLAIN without initial response gets an empty challenge.
	ss, _ := s.NewSASL(context.Background(), "PLAIN", loopConn)
	if ch, done, err := ss.Next(context.Background(), nil); len(ch) != 0 || done || err != nil {
		t.Errorf("PLAIN no IR: %q %v %v", ch, done, err)
	}
	if _, _, err := ss.Next(context.Background(), []byte("\x00plain@example.org\x00secret")); err != nil {
		t.Error(err)
	}
	if _, _, err := ss.Next(context.Background(), []byte("x")); !errors.Is(err, ErrMalformed) {
		t.Errorf("step after done: %v", err)
	}
	// Authorization identity different from the user: no master users.
	if _, err := runClient(t, s, loopConn, sasl.NewPlainClient("other@example.org", "plain@example.org", "secret")); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("authzid: %v", err)
	}
}

func TestSASLBadInput(t *testing.T) {
	s := testService(t)
	s.TokenVerifier = TokenVerifierFunc(func(context.Context, string, string) (*Identity, error) { return nil, ErrAuthFailed })
	for mech, resp := range map[string]string{
		"PLAIN":         "no-nuls",
		"LOGIN":         "",
		"CRAM-MD5":      "user",
		"SCRAM-SHA-256": "x,,n=a,r=b",
		"OAUTHBEARER":   "n,,\x01auth=Basic x\x01\x01",
		"XOAUTH2":       "auth=Bearer tok\x01\x01",
	} {
		ss, err := s.NewSASL(context.Background(), mech, loopConn)
		if err != nil {
			t.Fatalf("%s: %v", mech, err)
		}
		if mech == "CRAM-MD5" {
			ss.Next(context.Background(), nil)
		}
		if _, _, err := ss.Next(context.Background(), []byte(resp)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s %q: %v, want ErrMalformed", mech, resp, err)
		}
	}
	ss, _ := s.NewSASL(context.Background(), "PLAIN", loopConn)
	if _, _, err := ss.Next(context.Background(), make([]byte, DefaultMaxResponse+1)); !errors.Is(err, ErrMalformed) {
		t.Errorf("overlong: %v", err)
	}
	long := strings.Repeat("a", 300)
	if _, err := s.Login(context.Background(), loopConn, long, "x"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("overlong user: %v", err)
	}
	if _, err := s.Login(context.Background(), loopConn, "a b", "x"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("bad chars: %v", err)
	}
	if _, err := s.NewSASL(context.Background(), "NOPE", loopConn); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("unknown mech: %v", err)
	}
}

func TestPlaintextPolicy(t *testing.T) {
	s := testService(t)
	ctx := context.Background()
	if s.PlaintextAllowed(farConn) || !s.PlaintextAllowed(loopConn) {
		t.Error("plaintext must be refused off loopback without TLS")
	}
	if m := strings.Join(s.Mechanisms(farConn), " "); strings.Contains(m, "PLAIN") || strings.Contains(m, "LOGIN") || strings.Contains(m, "EXTERNAL") || strings.Contains(m, "-PLUS") || !strings.Contains(m, "CRAM-MD5") {
		t.Errorf("mechanisms off loopback: %s", m)
	}
	if _, err := s.NewSASL(ctx, "PLAIN", farConn); !errors.Is(err, ErrPlaintextNotAllowed) {
		t.Errorf("PLAIN off loopback: %v", err)
	}
	if _, err := s.Login(ctx, farConn, "plain@example.org", "secret"); !errors.Is(err, ErrPlaintextNotAllowed) {
		t.Errorf("Login off loopback: %v", err)
	}
	tlsConn := *farConn
	tlsConn.TLS = &tls.ConnectionState{HandshakeComplete: true}
	if _, err := s.Login(ctx, &tlsConn, "plain@example.org", "secret"); err != nil {
		t.Errorf("Login over TLS: %v", err)
	}
	s.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	if _, err := s.Login(ctx, farConn, "plain@example.org", "secret"); err != nil {
		t.Errorf("Login from trusted network: %v", err)
	}
	s2 := testService(t)
	s2.AllowPlaintext = true
	if _, err := s2.Login(ctx, farConn, "plain@example.org", "secret"); err != nil {
		t.Errorf("Login with AllowPlaintext: %v", err)
	}
	// Default mechanisms and ANONYMOUS off by default.
	s3 := &Service{PassDB: goldenPasswd(t)}
	if m := strings.Join(s3.Mechanisms(loopConn), " "); m != "PLAIN LOGIN" {
		t.Errorf("default mechanisms = %q", m)
	}
	s3.AuthMechanisms = []string{"ANONYMOUS", "PLAIN"}
	if m := strings.Join(s3.Mechanisms(loopConn), " "); m != "PLAIN" {
		t.Errorf("ANONYMOUS offered without AllowAnonymous: %q", m)
	}
}

// TestFailureDelayDoesNotBlock checks that a failing attempt waits the
// failure delay while a concurrent good login on the same Service
// completes at once, and that unknown users take as long as wrong
// passwords.
func TestFailureDelayDoesNotBlock(t *testing.T) {
	s := testService(t)
	s.FailureDelay = 400 * time.Millisecond
	ctx := context.Background()
	var wg sync.WaitGroup
	durations := make([]time.Duration, 2)
	for i, user := range []string{"plain@example.org", "nosuch@example.org"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if _, err := s.Login(ctx, loopConn, user, "wrong"); !errors.Is(err, ErrAuthFailed) {
				t.Errorf("%s: %v", user, err)
			}
			durations[i] = time.Since(start)
		}()
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if _, err := s.Login(ctx, loopConn, "plain@example.org", "secret"); err != nil {
		t.Error(err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("good login blocked for %v by failing ones", d)
	}
	wg.Wait()
	for i, d := range durations {
		if d < 400*time.Millisecond {
			t.Errorf("failure %d answered after %v, before the delay", i, d)
		}
	}
}

func TestPenaltyGrows(t *testing.T) {
	s := testService(t)
	s.PenaltyBase, s.PenaltyMax = 10*time.Millisecond, 35*time.Millisecond
	sleeps := recordSleeps(s)
	ctx := context.Background()
	for range 4 {
		s.Login(ctx, loopConn, "plain@example.org", "wrong")
	}
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 35 * time.Millisecond}
	if got := sleeps.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("penalties = %v, want %v", got, want)
	}
	// A success clears the penalty; trusted networks have none.
	s.Login(ctx, loopConn, "plain@example.org", "secret")
	sleeps.take()
	s.Login(ctx, loopConn, "plain@example.org", "wrong")
	s.Login(ctx, loopConn, "plain@example.org", "wrong")
	s.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	s.Login(ctx, loopConn, "plain@example.org", "wrong")
	if got := sleeps.take(); fmt.Sprint(got) != "[10ms]" {
		t.Errorf("penalties after success = %v", got)
	}
}

func TestCRAMMD5(t *testing.T) {
	s := testService(t)
	for _, user := range []string{"crammd5@example.org", "plain@example.org"} {
		for _, pw := range []string{"secret", "wrong"} {
			ss, err := s.NewSASL(context.Background(), "CRAM-MD5", farConn)
			if err != nil {
				t.Fatal(err)
			}
			ch, _, err := ss.Next(context.Background(), nil)
			if err != nil || !strings.HasPrefix(string(ch), "<") {
				t.Fatalf("challenge %q %v", ch, err)
			}
			resp := fmt.Sprintf("%s %x", user, hmacSum(md5New, []byte(pw), ch))
			_, done, err := ss.Next(context.Background(), []byte(resp))
			if (pw == "secret") != (err == nil && done) {
				t.Errorf("%s/%s: %v %v", user, pw, done, err)
			}
		}
	}
}

// scramClient is a minimal RFC 5802 client for tests.
type scramClient struct {
	h                     func() hash.Hash
	user, pw, gs2, cnonce string
	cb                    []byte
	clientFirstBare       string
	serverSig             []byte
}

func (c *scramClient) first() []byte {
	c.cnonce = "fyko+d2lbbFgONRv9qkxdawL"
	c.clientFirstBare = "n=" + c.user + ",r=" + c.cnonce
	return []byte(c.gs2 + c.clientFirstBare)
}

func (c *scramClient) final(serverFirst []byte) ([]byte, error) {
	var nonce, salt string
	var iter int
	for _, a := range strings.Split(string(serverFirst), ",") {
		switch {
		case strings.HasPrefix(a, "r="):
			nonce = a[2:]
		case strings.HasPrefix(a, "s="):
			salt = a[2:]
		case strings.HasPrefix(a, "i="):
			fmt.Sscan(a[2:], &iter)
		}
	}
	if !strings.HasPrefix(nonce, c.cnonce) {
		return nil, errors.New("bad nonce")
	}
	s, _ := base64.StdEncoding.DecodeString(salt)
	creds, err := NewSCRAMCredentials(c.h, c.pw, s, iter)
	if err != nil {
		return nil, err
	}
	noProof := "c=" + base64.StdEncoding.EncodeToString(append([]byte(c.gs2), c.cb...)) + ",r=" + nonce
	authMsg := c.clientFirstBare + "," + string(serverFirst) + "," + noProof
	sig := hmacSum(c.h, creds.StoredKey, []byte(authMsg))
	// ClientKey is recomputed from the password.
	salted, _ := pbkdf2Key(c.h, c.pw, s, iter)
	ck := hmacSum(c.h, salted, []byte("Client Key"))
	proof := make([]byte, len(ck))
	for i := range ck {
		proof[i] = ck[i] ^ sig[i]
	}
	c.serverSig = hmacSum(c.h, creds.ServerKey, []byte(authMsg))
	return []byte(noProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

func runSCRAM(t *testing.T, s *Service, mech string, c *ConnInfo, cl *scramClient) (*Identity, error) {
	t.Helper()
	ctx := context.Background()
	ss, err := s.NewSASL(ctx, mech, c)
	if err != nil {
		return nil, err
	}
	sf, _, err := ss.Next(ctx, cl.first())
	if err != nil {
		return nil, err
	}
	fin, err := cl.final(sf)
	if err != nil {
		return nil, err
	}
	v, done, err := ss.Next(ctx, fin)
	if err != nil {
		return nil, err
	}
	if done || string(v) != "v="+base64.StdEncoding.EncodeToString(cl.serverSig) {
		t.Errorf("server-final %q (done %v), want v=%x", v, done, cl.serverSig)
	}
	if _, done, err = ss.Next(ctx, []byte{}); err != nil || !done {
		return nil, fmt.Errorf("final step: %v %v", done, err)
	}
	return ss.Identity(), nil
}

// tlsStates makes a real TLS connection over a pipe and returns both
// sides' connection states.
func tlsStates(t testing.TB, version uint16, clientCert bool) (server, client tls.ConnectionState) {
	fx := testutil.NewTLS(t)
	sc, cc := fx.ServerConfig(), fx.ClientConfig()
	sc.MaxVersion, cc.MaxVersion = version, version
	if clientCert {
		sc.ClientAuth, sc.ClientCAs = tls.RequireAndVerifyClientCert, fx.Pool
		cc.Certificates = []tls.Certificate{fx.Cert}
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srv, cli := tls.Server(a, sc), tls.Client(b, cc)
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return srv.ConnectionState(), cli.ConnectionState()
}

func TestSCRAM(t *testing.T) {
	s := testService(t)
	for _, tc := range []struct {
		mech, user string
		h          func() hash.Hash
	}{
		{"SCRAM-SHA-256", "scramsha256@example.org", sha256.New},
		{"SCRAM-SHA-256", "plain@example.org", sha256.New},
		{"SCRAM-SHA-1", "plain@example.org", sha1.New},
	} {
		id, err := runSCRAM(t, s, tc.mech, farConn, &scramClient{h: tc.h, user: tc.user, pw: "secret", gs2: "n,,"})
		if err != nil || id.User != tc.user {
			t.Errorf("%s %s: %+v %v", tc.mech, tc.user, id, err)
		}
		for _, u := range []string{tc.user, "nosuch@example.org"} {
			if _, err := runSCRAM(t, s, tc.mech, farConn, &scramClient{h: tc.h, user: u, pw: "wrong", gs2: "n,,"}); !errors.Is(err, ErrAuthFailed) {
				t.Errorf("%s %s wrong: %v", tc.mech, u, err)
			}
		}
	}
	// Stored SHA512-CRYPT cannot do SCRAM: fails like a wrong password.
	if _, err := runSCRAM(t, s, "SCRAM-SHA-256", farConn, &scramClient{h: sha256.New, user: "sha512crypt@example.org", pw: "secret", gs2: "n,,"}); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("no SCRAM credentials: %v", err)
	}
}

func TestSCRAMPlus(t *testing.T) {
	s := testService(t)
	for _, tc := range []struct {
		version uint16
		cbType  string
	}{{tls.VersionTLS13, "tls-exporter"}, {tls.VersionTLS12, "tls-exporter"}, {tls.VersionTLS12, "tls-unique"}} {
		srv, cli := tlsStates(t, tc.version, false)
		c := &ConnInfo{Service: "imap", RemoteAddr: farConn.RemoteAddr, TLS: &srv}
		var cb []byte
		if tc.cbType == "tls-unique" {
			cb = cli.TLSUnique
		} else {
			cb, _ = cli.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
		}
		cl := &scramClient{h: sha256.New, user: "plain@example.org", pw: "secret", gs2: "p=" + tc.cbType + ",,", cb: cb}
		if _, err := runSCRAM(t, s, "SCRAM-SHA-256-PLUS", c, cl); err != nil {
			t.Errorf("%x %s: %v", tc.version, tc.cbType, err)
		}
		cl.cb = append([]byte{}, cb...)
		cl.cb[0] ^= 1
		if _, err := runSCRAM(t, s, "SCRAM-SHA-256-PLUS", c, cl); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("%x %s wrong binding: %v", tc.version, tc.cbType, err)
		}
		// "y": the client thinks we cannot bind although we offer -PLUS.
		cl = &scramClient{h: sha256.New, user: "plain@example.org", pw: "secret", gs2: "y,,"}
		if _, err := runSCRAM(t, s, "SCRAM-SHA-256", c, cl); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("downgrade accepted: %v", err)
		}
	}
	srv, _ := tlsStates(t, tls.VersionTLS13, false)
	c := &ConnInfo{RemoteAddr: farConn.RemoteAddr, TLS: &srv}
	// Without -PLUS enabled, a client that could bind says "y" on TLS,
	// and that is no downgrade.
	noPlus := testService(t)
	noPlus.AuthMechanisms = []string{"SCRAM-SHA-256"}
	cl := &scramClient{h: sha256.New, user: "plain@example.org", pw: "secret", gs2: "y,,"}
	if _, err := runSCRAM(t, noPlus, "SCRAM-SHA-256", c, cl); err != nil {
		t.Errorf("\"y\" on TLS without -PLUS offered: %v", err)
	}
	cl = &scramClient{h: sha256.New, user: "plain@example.org", pw: "secret", gs2: "p=tls-unique,,", cb: []byte("x")}
	if _, err := runSCRAM(t, s, "SCRAM-SHA-256-PLUS", c, cl); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("tls-unique on TLS 1.3: %v", err)
	}
}

func TestOAuthAndExternalAndAnonymous(t *testing.T) {
	s := testService(t)
	s.TokenVerifier = TokenVerifierFunc(func(_ context.Context, user, token string) (*Identity, error) {
		if token == "good" && (user == "" || user == "plain@example.org") {
			return &Identity{User: "plain@example.org"}, nil
		}
		return nil, ErrAuthFailed
	})
	tlsConn := *farConn
	srv, _ := tlsStates(t, tls.VersionTLS13, true)
	tlsConn.TLS = &srv
	for _, tok := range []string{"good", "bad"} {
		id, err := runClient(t, s, &tlsConn, sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: "plain@example.org", Token: tok}))
		if (tok == "good") != (err == nil && id.User == "plain@example.org") {
			t.Errorf("OAUTHBEARER %s: %+v %v", tok, id, err)
		}
		ss, _ := s.NewSASL(context.Background(), "XOAUTH2", &tlsConn)
		ch, done, err := ss.Next(context.Background(), []byte("user=plain@example.org\x01auth=Bearer "+tok+"\x01\x01"))
		if tok == "good" && (!done || err != nil) || tok == "bad" && (done || !strings.Contains(string(ch), "invalid_token")) {
			t.Errorf("XOAUTH2 %s: %q %v %v", tok, ch, done, err)
		}
	}
	id, err := runClient(t, s, &tlsConn, sasl.NewExternalClient(""))
	if err != nil || id.User != "127.0.0.1" {
		t.Errorf("EXTERNAL: %+v %v", id, err)
	}
	if _, err := runClient(t, s, &tlsConn, sasl.NewExternalClient("someone")); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("EXTERNAL other authzid: %v", err)
	}
	if _, err := runClient(t, s, loopConn, sasl.NewExternalClient("")); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("EXTERNAL without certificate: %v", err)
	}
	if _, err := runClient(t, s, loopConn, sasl.NewAnonymousClient("trace")); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("ANONYMOUS default: %v", err)
	}
	s.AllowAnonymous = true
	if id, err := runClient(t, s, loopConn, sasl.NewAnonymousClient("trace")); err != nil || id.User != "anonymous" {
		t.Errorf("ANONYMOUS: %+v %v", id, err)
	}
}

// sleepLog records the waits a Service asks for instead of sleeping.
type sleepLog struct {
	mu sync.Mutex
	d  []time.Duration
}

// recordSleeps makes s record its waits in the returned log instead of
// sleeping; s's clock moves on by each wait, as if it had slept.
func recordSleeps(s *Service) *sleepLog {
	l := &sleepLog{}
	now := time.Now()
	s.nowFunc = func() time.Time {
		l.mu.Lock()
		defer l.mu.Unlock()
		return now
	}
	s.sleepFor = func(_ context.Context, d time.Duration) error {
		l.mu.Lock()
		l.d = append(l.d, d)
		if d > 0 {
			now = now.Add(d)
		}
		l.mu.Unlock()
		return nil
	}
	return l
}

// take returns the waits recorded since the last take.
func (l *sleepLog) take() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.d
	l.d = nil
	return d
}

// DefaultRealm qualifies a bare login name before the passdb sees it,
// as Dovecot's auth_default_realm; a name with '@' is left alone.
func TestSASLDefaultRealm(t *testing.T) {
	s := testService(t)
	s.DefaultRealm = "Example.ORG"
	id, err := runClient(t, s, loopConn, sasl.NewPlainClient("", "plain", "secret"))
	if err != nil || id.User != "plain@example.org" || id.Fields["original_user"] != "plain" {
		t.Errorf("bare name: %+v %v", id, err)
	}
	if _, err := runClient(t, s, loopConn, sasl.NewPlainClient("", "plain@other.example", "secret")); err == nil {
		t.Error("a qualified name was re-qualified into the realm")
	}
	s.DefaultRealm = ""
	if _, err := runClient(t, s, loopConn, sasl.NewPlainClient("", "plain", "secret")); err == nil {
		t.Error("without a realm, a bare name matched plain@example.org")
	}
}

// TestSASLPlainFraming checks PLAIN's authzid\0authcid\0password framing:
// exactly two NULs and a non-empty authcid, else ErrMalformed.
func TestSASLPlainFraming(t *testing.T) {
	s := testService(t)
	s.FailureDelay = -1
	for resp, want := range map[string]error{
		"\x00plain@example.org\x00secret":                  nil,
		"plain@example.org\x00plain@example.org\x00secret": nil,
		"\x00plain@example.org\x00wrong":                   ErrAuthFailed,
		"\x00plain@example.org\x00secret\x00":              ErrMalformed,
		"\x00\x00secret":                                   ErrMalformed,
		"\x00plain@example.org":                            ErrMalformed,
		"plain@example.org\x00secret":                      ErrMalformed,
		"\x00plain@example.org\x00\x00":                    ErrMalformed,
		"":                                                 ErrMalformed,
		"\x00\x00":                                         ErrMalformed,
		"\x00plain@example.org\x00sec\x00ret":              ErrMalformed,
	} {
		ss, err := s.NewSASL(context.Background(), "PLAIN", loopConn)
		if err != nil {
			t.Fatal(err)
		}
		_, done, err := ss.Next(context.Background(), []byte(resp))
		if done != (want == nil) || !errors.Is(err, want) {
			t.Errorf("PLAIN %q: done %v, %v; want %v", resp, done, err, want)
		}
	}
}
