package imapbench

import (
	"context"
	"fmt"

	"github.com/yubinmail/yubin/store"
)

// keywords are the workload's keywords: a small pool, as a mail
// client's labels (Dovecot's Maildir keeps at most 26 per mailbox).
var keywords = []string{"$Label1", "$Label2", "$Label3", "$Label4", "$Label5", "$Junk", "$NotJunk", "Work"}

// knownUID returns a random UID the client knows, or 0.
func (cl *client) knownUID(v *view) uint32 {
	if v == nil || len(v.msgs) == 0 {
		return 0
	}
	for try := 0; try < 8; try++ {
		if u := v.msgs[cl.rnd.Intn(len(v.msgs))].uid; u != 0 {
			return u
		}
	}
	return 0
}

// inboxSession is the shared-mailbox part of the mix: SELECT INBOX
// (with CONDSTORE, or after ENABLE QRESYNC, in some sessions), then
// appends, fetches of headers, envelopes and bodies, flag and keyword
// stores, searches, LIST, STATUS of the private mailbox, copies into
// it; the messages it appended are moved into the private mailbox, or
// deleted, before LOGOUT.
func (cl *client) inboxSession(ctx context.Context, c *checkedConn) error {
	rnd := cl.rnd
	sel := "SELECT INBOX"
	qresync := false
	switch rnd.Intn(6) {
	case 0:
		sel += " (CONDSTORE)"
	case 1:
		if c.chk.caps["QRESYNC"] {
			if _, err := c.do("ENABLE QRESYNC"); err != nil {
				return err
			}
			qresync = true
		}
	}
	if _, err := c.do(sel); err != nil {
		return err
	}
	if qresync && c.chk.exists() > 0 {
		// A QRESYNC client with an empty cache learns every UID first,
		// so that VANISHED can be placed.
		if _, err := c.do("FETCH 1:* (UID FLAGS)"); err != nil {
			return err
		}
	}
	var appended []uint32
	do := func(cmd string) error {
		_, err := c.do(cmd)
		if tolerated(err) {
			c.n++
			return nil
		}
		return err
	}
	for i := 0; i < cl.load.CommandsPerSession && ctx.Err() == nil; i++ {
		exists := c.chk.exists()
		n := 1 + rnd.Intn(max(exists, 1))
		kw := keywords[rnd.Intn(len(keywords))]
		var cmd string
		switch r := rnd.Intn(20); {
		case exists == 0 || r <= 1:
			msg := fmt.Sprintf("From: load%d@example.org\r\nTo: bench@example.org\r\nSubject: load %d\r\nMessage-ID: <%d.%d@bench>\r\n\r\nbody of a load test message\r\n", cl.id, i, cl.id, rnd.Int63())
			flags := `\Seen`
			if r == 1 {
				flags += " " + kw
			}
			reply, err := c.do(fmt.Sprintf("APPEND INBOX (%s) {%d+}\r\n%s", flags, len(msg), msg))
			if err != nil {
				return err
			}
			if reply.Code == "APPENDUID" && len(reply.CodeSets[0]) == 1 {
				appended = append(appended, reply.CodeSets[0][0])
			}
			continue
		case r <= 4:
			cmd = fmt.Sprintf("FETCH %d:%d (FLAGS UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])", n, min(n+19, exists))
		case r == 5:
			cmd = fmt.Sprintf("FETCH %d (UID ENVELOPE INTERNALDATE BODYSTRUCTURE)", n)
		case r <= 7:
			cmd = fmt.Sprintf("FETCH %d (BODY.PEEK[])", n)
		case r == 8:
			cmd = fmt.Sprintf("FETCH %d (BODY.PEEK[])", n)
			if u := cl.knownUID(c.chk.sel); u != 0 {
				cmd = fmt.Sprintf("UID FETCH %d:%d (FLAGS RFC822.SIZE BODY.PEEK[TEXT])", u, u+2)
			}
		case r == 9:
			cmd = fmt.Sprintf("STORE %d FLAGS (\\Seen \\Flagged)", n)
		case r == 10:
			cmd = fmt.Sprintf("STORE %d -FLAGS (\\Flagged)", n)
		case r == 11:
			cmd = fmt.Sprintf("STORE %d +FLAGS (%s)", n, kw)
		case r == 12:
			cmd = fmt.Sprintf("STORE %d -FLAGS (%s)", n, kw)
			if u := cl.knownUID(c.chk.sel); u != 0 {
				cmd = fmt.Sprintf("UID STORE %d +FLAGS (%s)", u, kw)
			}
		case r == 13:
			cmd = "UID SEARCH UNSEEN"
		case r == 14:
			cmd = "SEARCH FLAGGED"
		case r == 15:
			cmd = "UID SEARCH KEYWORD " + kw
		case r == 16:
			cmd = "NOOP"
		case r == 17:
			cmd = `LIST "" "*"`
		case r == 18:
			cmd = "STATUS " + cl.private.name + " (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)"
		default:
			cmd = "NOOP"
			if u := cl.knownUID(c.chk.sel); u != 0 {
				cmd = fmt.Sprintf("UID COPY %d %s", u, cl.private.name)
			}
		}
		if err := do(cmd); err != nil {
			return err
		}
	}
	if len(appended) == 0 || ctx.Err() != nil {
		return nil
	}
	// What this session added leaves INBOX, keeping its size steady, as
	// a client filing or deleting mail would.
	set := store.UIDSetOf(appended...).String()
	if c.chk.caps["MOVE"] && rnd.Intn(2) == 0 {
		return do("UID MOVE " + set + " " + cl.private.name)
	}
	if err := do("UID STORE " + set + " +FLAGS.SILENT (\\Deleted)"); err != nil {
		return err
	}
	return do("UID EXPUNGE " + set)
}

// privateSession is the private-mailbox part of the mix: the client's
// own mailbox, which no other client touches, so the checker knows its
// exact state: SELECT, every UID and flag fetched, then flag stores,
// searches, fetches, copies into itself, and expunges keeping it small.
func (cl *client) privateSession(ctx context.Context, c *checkedConn) error {
	rnd := cl.rnd
	sel := "SELECT " + cl.private.name
	if rnd.Intn(3) == 0 {
		sel += " (CONDSTORE)"
	}
	if _, err := c.do(sel); err != nil {
		return err
	}
	do := func(cmd string) error {
		_, err := c.do(cmd)
		return err
	}
	if exists := c.chk.exists(); exists > 0 {
		if err := do(fmt.Sprintf("FETCH 1:%d (UID FLAGS)", exists)); err != nil {
			return err
		}
	}
	flags := []string{`\Seen`, `\Flagged`, `\Answered`, "$Label1", "$Label2", "Work"}
	for i := 0; i < cl.load.CommandsPerSession && ctx.Err() == nil; i++ {
		exists := c.chk.exists()
		if exists == 0 {
			return do("NOOP")
		}
		n := 1 + rnd.Intn(exists)
		var cmd string
		switch r := rnd.Intn(10); {
		case exists > 20 && r >= 8:
			if err := do(fmt.Sprintf("STORE 1:%d +FLAGS.SILENT (\\Deleted)", exists-15)); err != nil {
				return err
			}
			cmd = "EXPUNGE"
		case r <= 2:
			op := []string{"FLAGS", "+FLAGS", "-FLAGS", "+FLAGS.SILENT"}[rnd.Intn(4)]
			f := flags[rnd.Intn(len(flags))] + " " + flags[rnd.Intn(len(flags))]
			cmd = fmt.Sprintf("STORE %d %s (%s)", n, op, f)
			if u := c.chk.sel.msgs[n-1].uid; u != 0 && r == 2 {
				cmd = fmt.Sprintf("UID STORE %d %s (%s)", u, op, f)
			}
		case r <= 4:
			key := []string{"UNSEEN", "FLAGGED", "KEYWORD $Label1", "KEYWORD Work", "SEEN"}[rnd.Intn(5)]
			cmd = "SEARCH " + key
			if r == 4 {
				cmd = "UID " + cmd
			}
		case r == 5:
			cmd = fmt.Sprintf("FETCH %d (UID BODY.PEEK[] ENVELOPE)", n)
		case r == 6 && exists < 30:
			u := c.chk.sel.msgs[n-1].uid
			if u == 0 || rnd.Intn(4) == 0 {
				// a UID the mailbox does not hold: nothing is copied
				u = c.chk.sel.maxUID() + 7
			}
			cmd = fmt.Sprintf("UID COPY %d %s", u, cl.private.name)
		default:
			cmd = "NOOP"
		}
		if err := do(cmd); err != nil {
			return err
		}
	}
	return nil
}
