package imap

import (
	"fmt"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/store"
)

// Logout is how a logged-in session ended, with what Dovecot's imap
// process puts in its "Disconnected:" line (the counters of Dovecot
// 2.3's default imap_logout_format: in= out= deleted= expunged=
// trashed= hdr_count= hdr_bytes= body_count= body_bytes=), reported to
// Server.LogoutHook.
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
	// Deleted counts the messages STORE gave \Deleted that did not have
	// it (Dovecot's %{deleted}); Expunged the messages EXPUNGE, UID
	// EXPUNGE and CLOSE removed (%{expunged}); Trashed the messages
	// COPY and MOVE put in a \Trash special-use mailbox (%{trashed}).
	Deleted, Expunged, Trashed int
	// FetchHdrCount and FetchHdrBytes count the FETCH body sections
	// holding only a header (HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT,
	// RFC822.HEADER) and their literal bytes; FetchBodyCount and
	// FetchBodyBytes the other sections (whole message, TEXT, MIME,
	// parts, RFC822, RFC822.TEXT, BINARY), as Dovecot's
	// %{fetch_hdr_count} %{fetch_hdr_bytes} %{fetch_body_count}
	// %{fetch_body_bytes} do.
	FetchHdrCount, FetchBodyCount int
	FetchHdrBytes, FetchBodyBytes int64
}

// logoutCounts are the Logout counters a session keeps.
type logoutCounts struct {
	deleted, expunged, trashed int
	hdrCount, bodyCount        int
	hdrBytes, bodyBytes        int64
	// literal, when set, is where the next literal a FETCH body item
	// writes is counted: true for a header section.
	literal, literalHdr bool
}

// countLiteral counts a FETCH body item's literal of n bytes, when
// noteFetchSection asked for it.
func (c *conn) countLiteral(n int64) {
	lc := &c.lo.counts
	if !lc.literal {
		return
	}
	lc.literal = false
	if lc.literalHdr {
		lc.hdrCount++
		lc.hdrBytes += n
	} else {
		lc.bodyCount++
		lc.bodyBytes += n
	}
}

// noteFetchSection marks the next literal as a FETCH body item's: a
// header section (Dovecot's fetch_hdr_*) or one with body (fetch_body_*).
func (c *conn) noteFetchSection(it *fetchItem) {
	hdr := it.name == "RFC822.HEADER"
	if it.section != nil {
		switch it.section.spec {
		case "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			hdr = true
		}
	}
	c.lo.counts.literal, c.lo.counts.literalHdr = true, hdr
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
	counts          logoutCounts
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
	lc := &c.lo.counts
	l.Deleted, l.Expunged, l.Trashed = lc.deleted, lc.expunged, lc.trashed
	l.FetchHdrCount, l.FetchHdrBytes, l.FetchBodyCount, l.FetchBodyBytes = lc.hdrCount, lc.hdrBytes, lc.bodyCount, lc.bodyBytes
	c.srv.LogoutHook(l)
}

// countTrashed counts n messages copied or moved into dest when it is a
// \Trash special-use mailbox (only for a LogoutHook, which reports it).
func (c *conn) countTrashed(dest string, n int) {
	if c.srv.LogoutHook == nil || n == 0 {
		return
	}
	boxes, err := c.st.ListMailboxes(c.ctx())
	if err != nil {
		return
	}
	name := store.CanonicalName(dest)
	for _, b := range boxes {
		if b.Name == name && b.SpecialUse == `\Trash` {
			c.lo.counts.trashed += n
			return
		}
	}
}

// countUndeleted counts the messages of set (none when empty or nil)
// without \Deleted when a
// STORE of op and flags gives it (only for a LogoutHook, which reports
// Dovecot's %{deleted}).
func (c *conn) countUndeleted(set store.UIDSet, op store.FlagOp, flags store.Flags) int {
	if c.srv.LogoutHook == nil || op == store.FlagsRemove || flags.System&store.Deleted == 0 || len(set) == 0 {
		return 0
	}
	n := 0
	c.sel.mb.Messages(c.ctx(), set, func(m *store.MessageInfo) error {
		if m.Flags.System&store.Deleted == 0 && c.sel.view.seqOf(m.UID) != 0 {
			n++
		}
		return nil
	})
	return n
}
