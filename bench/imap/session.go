package imapbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"time"
)

// client is one load client: its sessions run one after another, and
// its private mailbox's model lives across them.
type client struct {
	load    *Load
	id      int
	rnd     *rand.Rand
	private *privateBox
	claims  *recentClaims
	report  func(string)
}

// checkedConn is a connection whose every reply goes through a checker.
type checkedConn struct {
	nc      net.Conn
	br      *bufio.Reader
	chk     *checker
	tag     int
	timeout time.Duration
	// n counts commands answered (OK, or a NO the workload allows).
	n int
	// trace, when set, is given every command and reply (debugging).
	trace func(string)
}

// errNo is a command's NO reply.
type errNo struct{ cmd, text string }

func (e *errNo) Error() string { return e.cmd + ": NO " + e.text }

// do sends one command (any literal inline, non-synchronizing) and reads
// replies until its tagged one, each checked. A NO is returned as
// *errNo; a missing tagged reply as the read's error.
func (c *checkedConn) do(cmd string) (*reply, error) {
	c.tag++
	line := "c" + strconv.Itoa(c.tag) + " " + cmd
	c.chk.send(line)
	if c.trace != nil {
		c.trace("C: " + first(line))
	}
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		return nil, err
	}
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.timeout))
		raw, err := readReply(c.br)
		if err != nil {
			c.chk.ended(err)
			return nil, fmt.Errorf("%s: %w", c.chk.cmdText(), err)
		}
		if c.trace != nil {
			c.trace("S: " + strings.TrimRight(string(clip(raw, 300)), "\r\n"))
		}
		r, done := c.chk.receive(raw)
		if !done {
			continue
		}
		switch {
		case r == nil:
			return nil, fmt.Errorf("%s: malformed tagged reply", first(cmd))
		case r.Status == "NO":
			return r, &errNo{first(cmd), c.chk.noText}
		case r.Status == "BAD":
			return r, fmt.Errorf("%s: BAD %s", first(cmd), r.Text)
		}
		c.n++
		return r, nil
	}
}

// first is a command's first line.
func first(cmd string) string {
	s, _, _ := strings.Cut(cmd, "\r\n")
	return s
}

// tolerated tells a NO the workload expects under concurrency: a
// message another client expunged, a mailbox created before.
func tolerated(err error) bool {
	var no *errNo
	return errors.As(err, &no) && (strings.Contains(no.text, "[EXPUNGEISSUED]") || strings.Contains(no.text, "[ALREADYEXISTS]"))
}

// cmdText is the command in progress, for an error.
func (k *checker) cmdText() string {
	if k.cmd == nil {
		return "(no command)"
	}
	return k.cmd.Text
}

// ended records that the connection ended (err) with the command in
// progress unanswered: a protocol error unless the server said BYE
// first (and the command was not LOGOUT, whose tagged OK must follow
// the BYE) or the read timed out.
func (k *checker) ended(err error) {
	var ne net.Error
	switch {
	case k.cmd == nil:
	case errors.Is(err, errReplyTooLarge):
		k.violate("reply beyond the reader's limits")
	case errors.As(err, &ne) && ne.Timeout():
	case k.sawBye && k.cmd.Verb != "LOGOUT":
	default:
		k.violate("connection ended with no tagged reply (%v)", err)
	}
	k.cmd = nil
}

// session runs one connection: LOGIN, a private-mailbox or an INBOX
// session of the mix, LOGOUT. It returns the commands answered.
func (cl *client) session(ctx context.Context, id int) (n int, err error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	t0 := time.Now()
	nc, err := d.DialContext(ctx, "tcp", cl.load.Addr)
	if cl.load.dialStats != nil {
		cl.load.dialStats(time.Since(t0))
	}
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	timeout := cl.load.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	c := &checkedConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), timeout: timeout,
		chk: newChecker(cl.id, id, cl.report, cl.claims, cl.private)}
	if cl.load.trace != nil {
		c.trace = func(s string) { cl.load.trace(fmt.Sprintf("%d/%d %s", cl.id, id, s)) }
	}
	defer func() {
		if err != nil {
			// a change to the private mailbox may have been cut off
			cl.private.known = false
		}
	}()
	if err := c.greeting(); err != nil {
		return 0, err
	}
	if _, err := c.do(fmt.Sprintf("LOGIN %s %s", cl.load.User, cl.load.Password)); err != nil {
		return c.n, err
	}
	if !cl.private.created {
		if _, err := c.do("CREATE " + cl.private.name); err != nil && !tolerated(err) {
			return c.n, err
		}
	}
	if cl.rnd.Intn(4) == 0 && cl.private.created {
		err = cl.privateSession(ctx, c)
	} else {
		err = cl.inboxSession(ctx, c)
	}
	if err != nil {
		return c.n, err
	}
	if _, err := c.do("LOGOUT"); err != nil {
		return c.n, err
	}
	return c.n, nil
}

// greeting reads and checks the server's greeting.
func (c *checkedConn) greeting() error {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	raw, err := readReply(c.br)
	if err != nil {
		return err
	}
	r, err := parseReply(raw)
	if err != nil {
		c.chk.violate("malformed greeting: %v", err)
		return err
	}
	if r.Tag != "*" || r.Status != "OK" && r.Status != "PREAUTH" {
		if r.Status != "BYE" {
			c.chk.violate("greeting %q", raw)
		}
		return fmt.Errorf("greeting: %s", strings.TrimSpace(string(raw)))
	}
	c.chk.code(r)
	return nil
}
