package imap

import (
	"context"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// lockedAuth refuses "locked" with a reason for the user, as a Dovecot
// passdb with nologin and reason=... does; everyone else goes to testAuth.
type lockedAuth struct{ *testAuth }

type reasonError struct{ reason string }

func (e reasonError) Error() string       { return "auth: authentication failed: nologin" }
func (e reasonError) AlertReason() string { return e.reason }

func (a lockedAuth) Login(ctx context.Context, c *auth.ConnInfo, user, pass string) (*auth.Identity, error) {
	if user == "locked" {
		return nil, reasonError{"Account disabled,\r\n* BYE forged: call the helpdesk."}
	}
	return a.testAuth.Login(ctx, c, user, pass)
}

// TestAlerts: a login alert from the program (control bytes cannot
// forge a response line), an administrator's Server.Alert reaching the
// user's sessions (at once in IDLE, before the next tagged response
// otherwise, and not other users'), and a passdb reason as NO [ALERT].
func TestAlerts(t *testing.T) {
	env := newTestEnv(t, func(s *Server) {
		s.Authenticator = lockedAuth{s.Authenticator.(*testAuth)}
		s.LoginAlert = func(_ context.Context, user string) string {
			if user == "alice" {
				return "Maintenance tonight\r\n* 1 EXISTS"
			}
			return ""
		}
	})
	c := env.dial(t)
	lines, st := c.cmd("LOGIN alice secret")
	if !strings.HasPrefix(st, "OK") || len(lines) != 1 || lines[0] != "* OK [ALERT] Maintenance tonight  * 1 EXISTS" {
		t.Fatalf("login: %q %q", lines, st)
	}
	if lines := c.ok("NOOP"); len(lines) != 0 {
		t.Fatalf("login alert sent twice: %q", lines)
	}

	bob := env.login(t, "bob", "pw")
	c.ok("SELECT INBOX")
	c.send("i IDLE")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	other := env.login(t, "alice", "secret")
	if n := env.srv.Alert("alice", "Your password expires in 3 days."); n != 2 {
		t.Fatalf("Alert reached %d sessions, want 2", n)
	}
	if l := c.line(); l != "* OK [ALERT] Your password expires in 3 days." {
		t.Fatalf("in IDLE: %q", l)
	}
	c.send("DONE")
	if l := c.line(); !strings.HasPrefix(l, "i OK") {
		t.Fatalf("DONE: %q", l)
	}
	if lines := other.ok("NOOP"); len(lines) != 1 || lines[0] != "* OK [ALERT] Your password expires in 3 days." {
		t.Fatalf("second session: %q", lines)
	}
	if lines := bob.ok("NOOP"); len(lines) != 0 {
		t.Fatalf("another user got alice's alert: %q", lines)
	}
	if n := env.srv.Alert("", "Server restarts at 22:00."); n != 3 {
		t.Fatalf("Alert to everyone reached %d sessions, want 3", n)
	}
	if lines := bob.ok("NOOP"); len(lines) != 1 || !strings.Contains(lines[0], "[ALERT] Server restarts") {
		t.Fatalf("broadcast: %q", lines)
	}

	l := env.dial(t)
	lines, st = l.cmd("LOGIN locked whatever")
	if st != "NO [ALERT] Account disabled,  * BYE forged: call the helpdesk." || len(lines) != 0 {
		t.Fatalf("refused with reason: %q %q", lines, st)
	}
	if _, st = l.cmd("LOGIN alice wrong"); st != "NO [AUTHENTICATIONFAILED] Authentication failed." {
		t.Fatalf("plain failure: %q", st)
	}
}

// TestQuotaAlert: QuotaWarnPercent warns once at login when the user is
// already over the threshold, and after the APPEND that crosses it.
func TestQuotaAlert(t *testing.T) {
	root := t.TempDir()
	env := newTestEnvAt(t, root, func(s *Server) {
		s.QuotaWarnPercent = 80
		opts := maildir.Options{NoSync: true, QuotaMessages: 5}
		s.Backend = testBackend(t, root, opts, store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
			return maildir.Open(maildirRoot(root, user), opts)
		}))
	})
	c := env.login(t, "alice", "secret")
	for i := 0; i < 3; i++ {
		if lines := c.ok("APPEND INBOX {10+}\r\nSubject: x"); len(lines) != 0 {
			t.Fatalf("append %d at %d%%: %q", i, (i+1)*20, lines)
		}
	}
	lines := c.ok("APPEND INBOX {10+}\r\nSubject: x")
	if len(lines) != 1 || lines[0] != "* OK [ALERT] Mailbox is 80% full: delete some messages to stay below the quota." {
		t.Fatalf("append to 80%%: %q", lines)
	}
	if lines := c.ok("APPEND INBOX {10+}\r\nSubject: x"); len(lines) != 0 {
		t.Fatalf("warned twice in one session: %q", lines)
	}
	if _, st := c.cmd("APPEND INBOX {10+}\r\nSubject: x"); !strings.HasPrefix(st, "NO [OVERQUOTA]") {
		t.Fatalf("append over quota: %q", st)
	}
	d := env.dial(t)
	lines, st := d.cmd("LOGIN alice secret")
	if !strings.HasPrefix(st, "OK") || len(lines) != 1 || !strings.HasPrefix(lines[0], "* OK [ALERT] Mailbox is 100% full") {
		t.Fatalf("login at 100%%: %q %q", lines, st)
	}
}
