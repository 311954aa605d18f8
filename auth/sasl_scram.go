package auth

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// scramMech is SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677) with the
// -PLUS variants binding to the TLS channel (tls-exporter, RFC 9266, and
// tls-unique for TLS 1.2, RFC 5929).
type scramMech struct {
	name  string
	h     func() hash.Hash
	plus  bool
	state int

	gs2Header       string
	cbType          string
	clientFirstBare string
	serverFirst     string
	nonce           string
	user            string // normalised
	login           string // as sent
	creds           *SCRAMCredentials
	unknown         bool // user unknown or credentials unusable: fail at the end
	serverFinal     []byte
}

func newSCRAMMech(name string) *scramMech {
	m := &scramMech{name: name, plus: strings.HasSuffix(name, "-PLUS"), h: sha1.New}
	if strings.HasPrefix(name, "SCRAM-SHA-256") {
		m.h = sha256.New
	}
	return m
}

func (m *scramMech) scheme() string { return strings.TrimSuffix(m.name, "-PLUS") }

// saslName decodes RFC 5802's saslname ("=2C" -> ",", "=3D" -> "=").
func saslName(s string) (string, bool) {
	if !strings.Contains(s, "=") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

func bad(msg string) error { return fmt.Errorf("%w: %s", ErrMalformed, msg) }

func (m *scramMech) step(ctx context.Context, ss *session, resp []byte) ([]byte, bool, *Identity, error) {
	switch m.state {
	case 0:
		if resp == nil {
			m.state = -1
			return []byte{}, false, nil, nil
		}
		fallthrough
	case -1:
		if resp == nil {
			return nil, false, nil, errOrder
		}
		return m.clientFirst(ctx, ss, string(resp))
	case 1:
		return m.clientFinal(ss, string(resp))
	case 2:
		// The empty response after the server's final message.
		if len(resp) != 0 {
			return nil, false, nil, bad("unexpected data after server-final-message")
		}
		m.state = 3
		id, err := ss.s.identity(&Identity{User: m.user}, m.login)
		return nil, err == nil, id, err
	}
	return nil, false, nil, errOrder
}

func (m *scramMech) clientFirst(ctx context.Context, ss *session, msg string) ([]byte, bool, *Identity, error) {
	if hasNUL(msg) {
		return nil, false, nil, bad("NUL in SCRAM message")
	}
	// gs2-header = gs2-cbind-flag "," [ authzid ] ","
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return nil, false, nil, bad("missing gs2 header")
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, false, nil, bad("missing gs2 header")
	}
	switch {
	case flag == "n":
		if m.plus {
			return nil, false, nil, bad("-PLUS mechanism without channel binding")
		}
	case flag == "y":
		// The client could bind but thinks we cannot: a downgrade if we
		// offer the -PLUS variant on this connection (RFC 5802 section
		// 6). Without it enabled, "y" is the right answer.
		if m.plus || ss.s.usable(m.scheme()+"-PLUS", ss.c) == nil {
			return nil, false, nil, fmt.Errorf("%w: channel binding downgrade", ErrAuthFailed)
		}
	case strings.HasPrefix(flag, "p="):
		if !m.plus {
			return nil, false, nil, bad("channel binding requested with a non-PLUS mechanism")
		}
		m.cbType = flag[2:]
		if m.cbType != "tls-exporter" && m.cbType != "tls-unique" {
			return nil, false, nil, fmt.Errorf("%w: unsupported channel binding type", ErrAuthFailed)
		}
	default:
		return nil, false, nil, bad("bad gs2 cbind flag")
	}
	var authzid string
	if authz != "" {
		a, ok := strings.CutPrefix(authz, "a=")
		if !ok {
			return nil, false, nil, bad("bad authzid")
		}
		if authzid, ok = saslName(a); !ok {
			return nil, false, nil, bad("bad authzid encoding")
		}
	}
	m.gs2Header = msg[:len(msg)-len(bare)]
	m.clientFirstBare = bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, false, nil, bad("client-first-message needs n= and r=")
	}
	if strings.HasPrefix(bare, "m=") {
		return nil, false, nil, bad("mandatory extension not supported")
	}
	login, ok := saslName(attrs[0][2:])
	if !ok || login == "" {
		return nil, false, nil, bad("bad user name encoding")
	}
	cnonce := attrs[1][2:]
	if cnonce == "" || !printable(cnonce) {
		return nil, false, nil, bad("bad client nonce")
	}
	m.login = login
	ss.user = login
	user, err := ss.s.normalize(ss.c, login)
	if err != nil {
		return nil, false, nil, err
	}
	if authzid != "" {
		if z, err := ss.s.normalize(ss.c, authzid); err != nil || z != user {
			return nil, false, nil, fmt.Errorf("%w: authorization identity differs", ErrAuthFailed)
		}
	}
	m.user = user
	_, raw, err := ss.lookupCredentials(ctx, login, m.scheme())
	size := m.h().Size()
	if err == nil {
		m.creds, err = ParseSCRAMCredentials(string(raw), size)
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrTempFail):
		return nil, false, nil, err
	default:
		// Unknown user or unusable credentials: go on with a stable fake
		// salt so the exchange looks the same, and fail at the end.
		m.unknown = true
		m.creds = &SCRAMCredentials{Iterations: 4096, Salt: ss.s.fakeSalt(user),
			StoredKey: make([]byte, size), ServerKey: make([]byte, size)}
	}
	m.nonce = cnonce + base64.RawStdEncoding.EncodeToString(randomBytes(18))
	m.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", m.nonce, base64.StdEncoding.EncodeToString(m.creds.Salt), m.creds.Iterations)
	m.state = 1
	return []byte(m.serverFirst), false, nil, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' {
			return false
		}
	}
	return true
}

// channelBinding returns the binding data for the connection.
func (m *scramMech) channelBinding(ss *session) ([]byte, error) {
	if m.cbType == "" {
		return nil, nil
	}
	if ss.c == nil || ss.c.TLS == nil {
		return nil, fmt.Errorf("%w: channel binding without TLS", ErrAuthFailed)
	}
	st := ss.c.TLS
	switch m.cbType {
	case "tls-exporter":
		// RFC 9266.
		b, err := st.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: tls-exporter unavailable", ErrAuthFailed)
		}
		return b, nil
	case "tls-unique":
		if len(st.TLSUnique) == 0 {
			return nil, fmt.Errorf("%w: tls-unique unavailable (TLS 1.3)", ErrAuthFailed)
		}
		return st.TLSUnique, nil
	}
	return nil, fmt.Errorf("%w: unsupported channel binding", ErrAuthFailed)
}

func (m *scramMech) clientFinal(ss *session, msg string) ([]byte, bool, *Identity, error) {
	if hasNUL(msg) {
		return nil, false, nil, bad("NUL in SCRAM message")
	}
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, false, nil, bad("client-final-message needs p=")
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, false, nil, bad("client-final-message needs c= and r=")
	}
	cb, err := m.channelBinding(ss)
	if err != nil {
		return nil, false, nil, err
	}
	wantC := base64.StdEncoding.EncodeToString(append([]byte(m.gs2Header), cb...))
	if !eqs(attrs[0][2:], wantC) {
		return nil, false, nil, fmt.Errorf("%w: channel binding mismatch", ErrAuthFailed)
	}
	if attrs[1][2:] != m.nonce {
		return nil, false, nil, fmt.Errorf("%w: nonce mismatch", ErrAuthFailed)
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != m.h().Size() {
		return nil, false, nil, bad("bad proof")
	}
	authMsg := []byte(m.clientFirstBare + "," + m.serverFirst + "," + withoutProof)
	sig := hmacSum(m.h, m.creds.StoredKey, authMsg)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ sig[i]
	}
	d := m.h()
	d.Write(clientKey)
	if !eq(d.Sum(nil), m.creds.StoredKey) || m.unknown {
		return nil, false, nil, ErrAuthFailed
	}
	m.serverFinal = []byte("v=" + base64.StdEncoding.EncodeToString(hmacSum(m.h, m.creds.ServerKey, authMsg)))
	m.state = 2
	return m.serverFinal, false, nil, nil
}
