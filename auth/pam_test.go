//go:build pam && cgo

package auth

import (
	"context"
	"errors"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// pamTestSetup returns the PAM service, user and password that .ci/run
// prepares (a system user checked by pam_unix through
// /etc/pam.d/yubin-test), skipping or failing when they are missing.
func pamTestSetup(t *testing.T) (service, name, password string) {
	t.Helper()
	service = os.Getenv("YUBIN_PAM_TEST_SERVICE")
	if service == "" {
		service = "yubin-test"
	}
	name, password = os.Getenv("YUBIN_PAM_TEST_USER"), os.Getenv("YUBIN_PAM_TEST_PASSWORD")
	if name == "" || password == "" {
		testutil.Unavailable(t, "YUBIN_PAM_TEST_USER and YUBIN_PAM_TEST_PASSWORD name no system user to authenticate (.ci/run creates one)")
	}
	if _, err := os.Stat(filepath.Join("/etc/pam.d", service)); err != nil {
		testutil.Unavailable(t, "PAM service file /etc/pam.d/%s missing (.ci/run writes one with pam_unix)", service)
	}
	if _, err := user.Lookup(name); err != nil {
		testutil.Unavailable(t, "system user %q: %v", name, err)
	}
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "pam_unix checks another user's password only as root (reading /etc/shadow)")
	}
	return service, name, password
}

func TestPAMSystemUser(t *testing.T) {
	service, name, password := pamTestSetup(t)
	p := &PAM{Service: service}
	ctx := context.Background()

	id, err := p.Authenticate(ctx, name, password)
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	if id.User != name {
		t.Errorf("identity user %q, want %q", id.User, name)
	}

	start := time.Now()
	_, err = p.Authenticate(ctx, name, password+"x")
	if !errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrUnknownUser) {
		t.Errorf("wrong password: %v, want ErrAuthFailed", err)
	}
	// pam_unix asks for a ~2 s failure delay; PAM_FAIL_DELAY replaces it,
	// so no thread sleeps in PAM (Service applies its own delay).
	if d := time.Since(start); d > time.Second {
		t.Errorf("wrong password took %v: pam_unix's failure delay was not replaced", d)
	}

	_, err = p.Authenticate(ctx, "yubin-no-such-user-x", password)
	if !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown user: %v, want ErrUnknownUser", err)
	}

	// A C string ends at NUL: "password\x00junk" must not pass as "password".
	for _, bad := range []struct{ user, pw string }{
		{name, password + "\x00junk"},
		{name + "\x00junk", password},
		{name, ""},
		{"", password},
	} {
		if _, err := p.Authenticate(ctx, bad.user, bad.pw); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("Authenticate(%q, %q): %v, want ErrAuthFailed", bad.user, bad.pw, err)
		}
	}

	// "*" takes the service name from the connection, as Dovecot's args = *.
	star := &PAM{Service: "*"}
	c := &ConnInfo{Service: service, RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}}
	if _, err := star.Authenticate(WithConnInfo(ctx, c), name, password); err != nil {
		t.Errorf("service \"*\" from ConnInfo %q: %v", service, err)
	}
	c.Service = ""
	if got := star.service(c); got != DefaultPAMService {
		t.Errorf("service \"*\" without a protocol: %q, want %q", got, DefaultPAMService)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	busy := &PAM{Service: service}
	busy.init()
	busy.slots <- struct{}{} // the only slot is taken: the request must wait
	if _, err := busy.Authenticate(cctx, name, password); !errors.Is(err, ErrTempFail) {
		t.Errorf("cancelled context while waiting: %v, want ErrTempFail", err)
	}
}

// TestPAMService logs in through Service with PAM behind it: a wrong
// password and an unknown user get the same answer.
func TestPAMService(t *testing.T) {
	service, name, password := pamTestSetup(t)
	s := &Service{PassDB: &Cache{PassDB: &PAM{Service: service}}, FailureDelay: -1, PenaltyBase: -1}
	c := &ConnInfo{Service: "imap", RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234},
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 143}}
	ctx := context.Background()
	// The default auth_username_format lower-cases; the test user's name
	// is lower case.
	id, err := s.Login(ctx, c, name, password)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if id.User != name {
		t.Errorf("user %q, want %q", id.User, name)
	}
	_, errWrong := s.Login(ctx, c, name, "wrong-"+password)
	_, errUnknown := s.Login(ctx, c, "yubin-no-such-user-x", password)
	if errWrong != ErrAuthFailed || errUnknown != ErrAuthFailed {
		t.Errorf("wrong password %v, unknown user %v: both must be ErrAuthFailed", errWrong, errUnknown)
	}
	// SASL PLAIN through the same path.
	sess, err := s.NewSASL(ctx, "PLAIN", c)
	if err != nil {
		t.Fatal(err)
	}
	_, done, err := sess.Next(ctx, []byte("\x00"+name+"\x00"+password))
	if err != nil || !done || sess.Identity() == nil || sess.Identity().User != name {
		t.Errorf("PLAIN: done=%v err=%v identity=%+v", done, err, sess.Identity())
	}
}
