package auth

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
)

// FuzzParseStored feeds arbitrary stored passwords to the parsers and,
// for schemes that are cheap to compute, to Verify.
func FuzzParseStored(f *testing.F) {
	for _, s := range []string{
		"{SHA512-CRYPT}$6$rounds=5000$abc$" + strings.Repeat("a", 86), "{SHA256.HEX}00", "{PLAIN.B64}c2VjcmV0",
		"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "{PBKDF2}$1$salt$5000$00",
		"{SCRAM-SHA-1}4096,AA==,AA==,AA==", "{BLF-CRYPT}$2y$05$" + strings.Repeat(".", 53), "$1$salt$hash",
		"{CRAM-MD5}" + strings.Repeat("0", 64), "{SSHA}AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "{PLAIN-TRUNC}3-abc", "{", "{OTP}md5 10 seed 0011223344556677",
	} {
		f.Add(s, "secret")
	}
	cheap := map[string]bool{"PLAIN": true, "SHA1": true, "SHA256": true, "SHA512": true, "SSHA": true,
		"SSHA256": true, "SSHA512": true, "SMD5": true, "PLAIN-MD5": true, "LDAP-MD5": true, "PLAIN-MD4": true,
		"CRAM-MD5": true, "PLAIN-TRUNC": true, "MD5-CRYPT": true, "OTP": true}
	f.Fuzz(func(t *testing.T, stored, pw string) {
		st, err := ParseStored(stored, "")
		if err != nil {
			return
		}
		if cheap[st.Scheme] {
			VerifyWith(stored, pw, VerifyOptions{User: "u@d"})
		}
		if st.Scheme == "SHA512-CRYPT" || st.Scheme == "SHA256-CRYPT" {
			s, err := parseSHACrypt(string(st.Data))
			if err == nil && s.rounds <= 2000 {
				shaCrypt(s, []byte(pw))
			}
		}
	})
}

// memDB is a fast in-memory PassDB for the SASL fuzz targets.
type memDB map[string]string

func (m memDB) Authenticate(_ context.Context, user, password string) (*Identity, error) {
	pw, ok := m[user]
	if !ok {
		return nil, ErrUnknownUser
	}
	if !eqs(pw, password) {
		return nil, ErrAuthFailed
	}
	return &Identity{User: user}, nil
}

func (m memDB) LookupCredentials(_ context.Context, user, scheme string) ([]byte, error) {
	pw, ok := m[user]
	if !ok {
		return nil, ErrUnknownUser
	}
	return Credentials("{PLAIN}"+pw, "", user, scheme)
}

func fuzzService() *Service {
	return &Service{PassDB: memDB{"u@d": "pw"}, FailureDelay: -1, PenaltyBase: -1, AllowAnonymous: true,
		AuthMechanisms: []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2", "ANONYMOUS"},
		TokenVerifier: TokenVerifierFunc(func(_ context.Context, user, tok string) (*Identity, error) {
			if tok == "tok" {
				return &Identity{User: "u@d"}, nil
			}
			return nil, ErrAuthFailed
		})}
}

// fuzzMech runs up to three client responses through mechanism mech and
// checks the session's invariants.
func fuzzMech(t *testing.T, s *Service, mech string, r1, r2, r3 []byte) {
	fuzzMechOn(t, s, mech, loopConn, r1, r2, r3)
}

// fuzzMechOn is fuzzMech on connection c.
func fuzzMechOn(t *testing.T, s *Service, mech string, c *ConnInfo, r1, r2, r3 []byte) {
	ss, err := s.NewSASL(context.Background(), mech, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][]byte{nil, r1, r2, r3} {
		ch, done, err := ss.Next(context.Background(), r)
		if err != nil {
			return
		}
		if done {
			if id := ss.Identity(); id == nil || id.User == "" {
				t.Fatalf("%s done without identity", mech)
			}
			return
		}
		_ = ch
	}
}

func addSASLSeeds(f *testing.F, seeds ...[3]string) {
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]), []byte(s[2]))
	}
}

func FuzzSASLPlain(f *testing.F) {
	addSASLSeeds(f, [3]string{"\x00u@d\x00pw", "", ""}, [3]string{"u@d\x00u@d\x00pw", "", ""}, [3]string{"\x00\x00", "", ""})
	s := fuzzService()
	f.Fuzz(func(t *testing.T, a, b, c []byte) { fuzzMech(t, s, "PLAIN", a, b, c) })
}

func FuzzSASLLogin(f *testing.F) {
	addSASLSeeds(f, [3]string{"u@d", "pw", ""}, [3]string{"", "", ""})
	s := fuzzService()
	f.Fuzz(func(t *testing.T, a, b, c []byte) { fuzzMech(t, s, "LOGIN", a, b, c) })
}

func FuzzSASLCRAMMD5(f *testing.F) {
	addSASLSeeds(f, [3]string{"u@d 0123456789abcdef0123456789abcdef", "", ""}, [3]string{" ", "", ""})
	s := fuzzService()
	f.Fuzz(func(t *testing.T, a, b, c []byte) { fuzzMech(t, s, "CRAM-MD5", a, b, c) })
}

func FuzzSASLSCRAM(f *testing.F) {
	addSASLSeeds(f, [3]string{"n,,n=u@d,r=abc", "c=biws,r=abc,p=AAAA", ""},
		[3]string{"n,a=x=2Cy,n=u=3D,r=a", "c=,r=,p=", ""}, [3]string{"p=tls-unique,,n=u@d,r=x", "", ""})
	s := fuzzService()
	f.Fuzz(func(t *testing.T, a, b, c []byte) { fuzzMech(t, s, "SCRAM-SHA-256", a, b, c) })
}

func FuzzSASLOAuthBearer(f *testing.F) {
	addSASLSeeds(f, [3]string{"n,a=u@d,\x01auth=Bearer tok\x01\x01", "", ""}, [3]string{"n,,\x01auth=Bearer bad\x01\x01", "\x01", ""})
	s := fuzzService()
	f.Fuzz(func(t *testing.T, a, b, c []byte) { fuzzMech(t, s, "OAUTHBEARER", a, b, c) })
}

func FuzzSASLXOAuth2(f *testing.F) {
	addSASLSeeds(f, [3]string{"user=u@d\x01auth=Bearer tok\x01\x01", "", ""}, [3]string{"auth=Bearer x", "", ""})
	s := fuzzService()
	f.Fuzz(func(t *testing.T, a, b, c []byte) { fuzzMech(t, s, "XOAUTH2", a, b, c) })
}

func FuzzSASLAnonymous(f *testing.F) {
	addSASLSeeds(f, [3]string{"trace", "", ""})
	s := fuzzService()
	f.Fuzz(func(t *testing.T, a, b, c []byte) { fuzzMech(t, s, "ANONYMOUS", a, b, c) })
}

// tlsFuzzConn returns a connection with a real TLS 1.2 state (so that
// both tls-exporter and tls-unique exist) and a verified client
// certificate, for the -PLUS and EXTERNAL targets.
func tlsFuzzConn(f *testing.F) *ConnInfo {
	srv, _ := tlsStates(f, tls.VersionTLS12, true)
	return &ConnInfo{Service: "imap", LocalAddr: tcpAddr("192.0.2.1:993"), RemoteAddr: tcpAddr("198.51.100.7:40000"), TLS: &srv}
}

func FuzzSASLSCRAMPlus(f *testing.F) {
	addSASLSeeds(f, [3]string{"p=tls-exporter,,n=u@d,r=abc", "c=cD10bHMtZXhwb3J0ZXIsLA==,r=abc,p=AAAA", ""},
		[3]string{"p=tls-unique,a=u@d,n=u@d,r=x", "c=,r=x,p=", ""}, [3]string{"y,,n=u@d,r=x", "", ""},
		[3]string{"n,,n=u@d,r=x", "", ""}, [3]string{"p=tls-server-end-point,,n=u@d,r=x", "", ""})
	s := fuzzService()
	s.AuthMechanisms = append(s.AuthMechanisms, "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS")
	c := tlsFuzzConn(f)
	f.Fuzz(func(t *testing.T, a, b, d []byte) {
		fuzzMechOn(t, s, "SCRAM-SHA-256-PLUS", c, a, b, d)
		fuzzMechOn(t, s, "SCRAM-SHA-1", c, a, b, d)
	})
}

func FuzzSASLExternal(f *testing.F) {
	addSASLSeeds(f, [3]string{"", "", ""}, [3]string{"127.0.0.1", "", ""}, [3]string{"someone", "x", ""}, [3]string{"\x00", "", ""})
	s := fuzzService()
	s.AuthMechanisms = append(s.AuthMechanisms, "EXTERNAL")
	c := tlsFuzzConn(f)
	f.Fuzz(func(t *testing.T, a, b, d []byte) { fuzzMechOn(t, s, "EXTERNAL", c, a, b, d) })
}
