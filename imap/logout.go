package imap

import (
	"fmt"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
)

// Logout is how a logged-in session ended, with what Dovecot's imap
// process puts in its "Disconnected:" line (imap_logout_format's
// in= and out=), reported to Server.LogoutHook.
type Logout struct {
	// Conn is the connection, the same *ConnInfo the Authenticator saw
	// at login.
	Conn *authn.ConnInfo
	// User is the logged-in user.
	User string
	// Reason is Dovecot's: "Logged out", "Connection closed (No
	// commands sent)", "Connection closed (NOOP finished 0.001 secs
	// ago)", "Disconnected for inactivity", "Server shutting down",
	// or the text of another BYE the server sent.
	Reason string
	// In and Out are the bytes the client sent after its login command
	// and the bytes sent to it from the login's reply on, before
	// compression and after TLS (Dovecot's %i and %o: like Dovecot, the
	// line end of a final LOGOUT is not counted).
	In, Out int64
}

// bytesIn is how many bytes of the client's the session has consumed.
func (c *conn) bytesIn() int64 { return c.r.src.N - int64(c.r.br.Buffered()) }

// bytesOut is how many bytes the session has written, buffered or not.
func (c *conn) bytesOut() int64 { return c.w.sink.N + int64(c.w.bw.Buffered()) }

// logoutState is what the session keeps for its Logout.
type logoutState struct {
	inBase, outBase int64     // counts at login
	inEnd           int64     // count before LOGOUT's line end, or -1
	bye             string    // the first BYE's text
	lastCmd         string    // the last command after login
	lastDone        time.Time // when it finished
}

// startLogoutCounts notes the byte counts at login.
func (c *conn) startLogoutCounts() {
	c.lo = logoutState{inBase: c.bytesIn(), outBase: c.bytesOut(), inEnd: -1}
}

// noteCommandDone records a command run after login, for the reason
// "Connection closed (NAME finished N secs ago)".
func (c *conn) noteCommandDone(name string, uid bool) {
	if uid {
		name = "UID " + name
	}
	c.lo.lastCmd, c.lo.lastDone = name, time.Now()
}

// noteBye records the first BYE the session sent.
func (c *conn) noteBye(text string) {
	if c.lo.bye == "" {
		c.lo.bye = strings.TrimSuffix(text, ".")
	}
}

// reportLogout calls Server.LogoutHook for a session that logged in.
func (c *conn) reportLogout() {
	if c.srv.LogoutHook == nil || c.user == "" {
		return
	}
	l := &Logout{Conn: &c.info, User: c.user}
	in := c.bytesIn()
	switch {
	case c.state == stateLogout:
		l.Reason = "Logged out"
		if c.lo.inEnd >= 0 {
			in = c.lo.inEnd
		}
	case c.lo.bye != "":
		l.Reason = c.lo.bye
	case c.lo.lastCmd == "":
		l.Reason = "Connection closed (No commands sent)"
	default:
		l.Reason = fmt.Sprintf("Connection closed (%s finished %.3f secs ago)", c.lo.lastCmd, time.Since(c.lo.lastDone).Seconds())
	}
	l.In, l.Out = in-c.lo.inBase, c.bytesOut()-c.lo.outBase
	c.srv.LogoutHook(l)
}
