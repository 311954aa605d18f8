package dovecotauth

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// fakeAuthServer listens on a unix socket and, for each connection,
// sends a handshake offering PLAIN and then hands the connection to
// handle.
func fakeAuthServer(t testing.TB, handle func(c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "auth-client")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t1\nDONE\n")
				handle(c, bufio.NewReader(c))
			}()
		}
	}()
	return path
}

// TestClientExtraReplies: replies for a request nobody reads any more
// must not hold up the replies of other requests.
func TestClientExtraReplies(t *testing.T) {
	path := fakeAuthServer(t, func(c net.Conn, r *bufio.Reader) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
			if f[0] != "AUTH" || len(f) < 3 {
				continue
			}
			if f[2] == "LOGIN" {
				// Three challenges for one step: two too many.
				fmt.Fprintf(c, "CONT\t%s\tVXNlcm5hbWU6\nCONT\t%[1]s\tVXNlcm5hbWU6\nCONT\t%[1]s\tVXNlcm5hbWU6\n", f[1])
				continue
			}
			fmt.Fprintf(c, "OK\t%s\tuser=u@d\n", f[1])
		}
	})
	cl := &Client{Path: path, Timeout: 5 * time.Second}
	defer cl.Close()
	ctx := context.Background()
	ss, err := cl.NewSASL(ctx, "LOGIN", loopConn)
	if err != nil {
		t.Fatal(err)
	}
	if ch, done, err := ss.Next(ctx, nil); err != nil || done || string(ch) != "Username:" {
		t.Fatalf("LOGIN first step: %q %v %v", ch, done, err)
	}
	// The LOGIN exchange is abandoned; another request must still work.
	if id, err := cl.Login(ctx, loopConn, "u@d", "pw"); err != nil || id.User != "u@d" {
		t.Errorf("Login after extra replies: %+v %v", id, err)
	}
}

// FuzzClientReplies feeds arbitrary server replies to the client.
func FuzzClientReplies(f *testing.F) {
	f.Add("OK\t1\tuser=u@d\tresp=AAAA\n")
	f.Add("CONT\t1\t!!\nFAIL\t1\ttemp\n")
	f.Add("FAIL\t1\tcode=invalid_base64\nOK\t2\n")
	f.Add("CONT\t1\t\nCONT\t1\t\nCONT\t1\t\nBOGUS\t1\n")
	f.Add("OK\t1\tuser=a\\tb\t\x01\n")
	data := make(chan string, 1)
	path := fakeAuthServer(f, func(c net.Conn, r *bufio.Reader) {
		if _, err := r.ReadString('\n'); err != nil { // VERSION
			return
		}
		r.ReadString('\n') // CPID
		r.ReadString('\n') // AUTH
		io.WriteString(c, <-data)
		io.Copy(io.Discard, r)
	})
	f.Fuzz(func(t *testing.T, replies string) {
		data <- replies
		cl := &Client{Path: path, Timeout: 50 * time.Millisecond}
		defer cl.Close()
		id, err := cl.Login(context.Background(), loopConn, "u@d", "pw")
		if (err == nil) != (id != nil) {
			t.Fatalf("Login = %+v, %v", id, err)
		}
	})
}
