package dovecotauth

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

var loopConn = &auth.ConnInfo{Service: "smtp", LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 587},
	RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000}}

// saslRun drives a go-sasl client through an auth.Authenticator.
func saslRun(t *testing.T, a auth.Authenticator, cl sasl.Client) (*auth.Identity, error) {
	t.Helper()
	mech, ir, _ := cl.Start()
	ss, err := a.NewSASL(context.Background(), mech, loopConn)
	if err != nil {
		return nil, err
	}
	resp := ir
	for range 10 {
		ch, done, err := ss.Next(context.Background(), resp)
		if err != nil {
			return nil, err
		}
		if done {
			return ss.Identity(), nil
		}
		if resp, err = cl.Next(ch); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("too many steps")
}

// cramClient answers a CRAM-MD5 challenge.
type cramClient struct{ user, pw string }

func (c cramClient) Start() (string, []byte, error) { return "CRAM-MD5", nil, nil }
func (c cramClient) Next(ch []byte) ([]byte, error) {
	m := hmac.New(md5.New, []byte(c.pw))
	m.Write(ch)
	return []byte(c.user + " " + hex.EncodeToString(m.Sum(nil))), nil
}

func checkClient(t *testing.T, cl *Client) {
	t.Helper()
	ctx := context.Background()
	if id, err := cl.Login(ctx, loopConn, "plain@example.org", "secret"); err != nil || id.User != "plain@example.org" {
		t.Errorf("Login: %+v %v", id, err)
	}
	if _, err := cl.Login(ctx, loopConn, "plain@example.org", "wrong"); !errors.Is(err, auth.ErrAuthFailed) {
		t.Errorf("Login wrong: %v", err)
	}
	if _, err := cl.Login(ctx, loopConn, "nosuch@example.org", "secret"); !errors.Is(err, auth.ErrAuthFailed) {
		t.Errorf("Login unknown: %v", err)
	}
	for _, pw := range []string{"secret", "wrong"} {
		for _, c := range []sasl.Client{sasl.NewLoginClient("plain@example.org", pw), cramClient{"crammd5@example.org", pw}} {
			id, err := saslRun(t, cl, c)
			if (pw == "secret") != (err == nil) {
				t.Errorf("%T %s: %+v %v", c, pw, id, err)
			}
		}
	}
	far := &auth.ConnInfo{RemoteAddr: &net.TCPAddr{IP: net.IPv4(198, 51, 100, 1)}}
	for _, m := range cl.Mechanisms(far) {
		if m == "PLAIN" || m == "LOGIN" {
			t.Errorf("plaintext mechanism %s offered on an insecure connection", m)
		}
	}
}

// TestDovecotAuthClient authenticates through a real Dovecot 2.3's
// auth-client socket, and looks users up through its auth-userdb socket.
func TestDovecotAuthClient(t *testing.T) {
	passwd := filepath.Join(testutil.SharedTestdata(t), "passwd-file")
	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		PasswdFile: passwd,
		Extra: "auth_mechanisms = plain login cram-md5\nauth_failure_delay = 0\n" +
			"service auth {\n  unix_listener auth-client {\n    mode = 0666\n  }\n}\n",
	})
	cl := &Client{Path: filepath.Join(d.Dir, "run", "auth-client"), NoPenalty: true}
	defer cl.Close()
	if fmt.Sprint(cl.Mechanisms(loopConn)) != "[PLAIN LOGIN CRAM-MD5]" {
		t.Errorf("mechanisms = %v", cl.Mechanisms(loopConn))
	}
	checkClient(t, cl)

	m := &MasterClient{Path: filepath.Join(d.Dir, "run", "auth-userdb")}
	u, err := m.LookupUser(context.Background(), "Alice@Example.ORG")
	if err != nil || u.Name != "alice@example.org" || u.Home != "/srv/mail/example.org/alice" || u.UID != 5000 ||
		u.MailLocation != "maildir:~/Maildir" || u.QuotaBytes != 1<<30 {
		t.Errorf("alice = %+v, %v", u, err)
	}
	if _, err := m.LookupUser(context.Background(), "nosuch@example.org"); !errors.Is(err, auth.ErrUnknownUser) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := m.LookupUser(context.Background(), "passonly@example.org"); !errors.Is(err, auth.ErrUnknownUser) && !errors.Is(err, auth.ErrTempFail) {
		t.Errorf("passonly: %v", err)
	}
}

// TestClientAgainstServer runs the client against yubin's own server,
// including SCRAM relayed through the protocol.
func TestClientAgainstServer(t *testing.T) {
	svc := testService(t)
	sock, master, _ := startServer(t, svc)
	cl := &Client{Path: sock}
	defer cl.Close()
	checkClient(t, cl)
	m := &MasterClient{Path: master}
	if u, err := m.LookupUser(context.Background(), "bob@example.org"); err != nil || u.Home != "/srv/mail/example.org/bob" || u.UID != 5000 {
		t.Errorf("bob = %+v, %v", u, err)
	}
	if _, err := m.LookupUser(context.Background(), "nosuch@example.org"); !errors.Is(err, auth.ErrUnknownUser) {
		t.Errorf("unknown: %v", err)
	}
}
