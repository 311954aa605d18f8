package queue

import (
	"bytes"
	"net"
	"strconv"
	"sync/atomic"
	"time"
)

// smtpPhase is a step of the SMTP conversation with its own time limit, as
// Postfix's smtp_*_timeout parameters divide it.
type smtpPhase uint8

const (
	phGreeting smtpPhase = iota
	phHelo
	phStartTLS
	phAuth
	phMail
	phRcpt
	phData
	phXfer
	phDot
	phRset
	phQuit
	phOther
	numPhases
)

// phaseWhile says what the client was doing, in Postfix's words ("timed
// out while ...", "lost connection with ... while ...").
var phaseWhile = [numPhases]string{
	phGreeting: "receiving the initial server greeting",
	phHelo:     "performing the EHLO handshake",
	phStartTLS: "performing the STARTTLS handshake",
	phAuth:     "performing the AUTH handshake",
	phMail:     "sending MAIL FROM",
	phRcpt:     "sending RCPT TO",
	phData:     "sending DATA command",
	phXfer:     "sending message body",
	phDot:      "sending end of data -- message may be sent more than once",
	phRset:     "sending RSET",
	phQuit:     "sending QUIT",
	phOther:    "sending a command",
}

// phaseConn sits between smtp.Client and the connection (above TLS): it
// follows the commands written and the replies read to know the phase
// of every read and write, and gives each the phase's time limit, as
// Postfix's smtp(8) does: the smtp_*_timeout of a command covers sending
// it and reading its reply; smtp_data_xfer_timeout covers each write of
// the content. The client's own deadlines are ignored; cancel aborts.
type phaseConn struct {
	net.Conn
	timeouts *[numPhases]time.Duration

	pending []smtpPendingCmd // commands written, waiting for their reply
	wline   [32]byte         // the start of the command line being written
	wn      int
	lastCmd smtpPhase
	verb    string // the verb of the last command written ("EHLO")
	inData  bool   // writing DATA content, up to CRLF.CRLF
	tail    uint64 // the last bytes of DATA content written
	bdat    int64  // BDAT chunk octets still to write

	rline     []byte // the reply line being read (its start)
	reply     []byte // the text of the reply being read
	lastReply string // the last complete reply, lines joined by " "
	lastCode  int

	cur       smtpPhase // the phase of the last read or write
	cancelled atomic.Bool
	prefix    []byte // read before the connection: a greeting replayed
}

type smtpPendingCmd struct {
	ph       smtpPhase
	deadline time.Time
}

func newPhaseConn(c net.Conn, timeouts *[numPhases]time.Duration) *phaseConn {
	pc := &phaseConn{Conn: c, timeouts: timeouts, rline: make([]byte, 0, 512), reply: make([]byte, 0, 512)}
	pc.push(phGreeting)
	return pc
}

func (c *phaseConn) push(ph smtpPhase) {
	c.pending = append(c.pending, smtpPendingCmd{ph, time.Now().Add(c.timeouts[ph])})
	c.lastCmd = ph
}

// abort makes every following read and write fail at once.
func (c *phaseConn) abort() {
	c.cancelled.Store(true)
	c.Conn.SetDeadline(time.Unix(1, 0))
}

// SetDeadline is ignored: phaseConn sets the deadlines.
func (c *phaseConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline is ignored.
func (c *phaseConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline is ignored.
func (c *phaseConn) SetWriteDeadline(time.Time) error { return nil }

// Read reads a reply with the deadline of the oldest command waiting
// for one.
func (c *phaseConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		c.scan(p[:n])
		return n, nil
	}
	var dl time.Time
	if len(c.pending) > 0 {
		c.cur, dl = c.pending[0].ph, c.pending[0].deadline
	} else {
		c.cur, dl = c.lastCmd, time.Now().Add(c.timeouts[c.lastCmd])
	}
	c.Conn.SetReadDeadline(dl)
	if c.cancelled.Load() {
		c.Conn.SetReadDeadline(time.Unix(1, 0))
	}
	n, err := c.Conn.Read(p)
	c.scan(p[:n])
	return n, err
}

// Write writes commands with their phase's time limit and content with
// smtp_data_xfer_timeout.
func (c *phaseConn) Write(p []byte) (int, error) {
	ph := c.track(p)
	c.cur = ph
	c.Conn.SetWriteDeadline(time.Now().Add(c.timeouts[ph]))
	if c.cancelled.Load() {
		c.Conn.SetWriteDeadline(time.Unix(1, 0))
	}
	return c.Conn.Write(p)
}

// crlfDotCRLF is "\r\n.\r\n", the end of DATA content.
const crlfDotCRLF = 0x0d0a2e0d0a

// dataEnd looks for the end of DATA content ("\r\n.\r\n", which may
// begin in an earlier write) in b and returns the number of bytes of b
// up to and including it, or -1 when b does not end the content. It
// looks at the first bytes one by one (with the tail of earlier writes)
// and searches the rest with bytes.Index.
func (c *phaseConn) dataEnd(b []byte) int {
	for j := 0; j < len(b) && j < 4; j++ {
		c.tail = c.tail<<8 | uint64(b[j])
		if c.tail&0xffffffffff == crlfDotCRLF {
			return j + 1
		}
	}
	if k := bytes.Index(b, dataEndMarker); k >= 0 {
		return k + len(dataEndMarker)
	}
	// The tail takes the bytes the loop above did not feed it.
	for _, x := range b[max(min(4, len(b)), len(b)-8):] {
		c.tail = c.tail<<8 | uint64(x)
	}
	return -1
}

var dataEndMarker = []byte("\r\n.\r\n")

// track follows the bytes written: command lines push their phase, DATA
// content is watched for its end, BDAT chunks are skipped. It returns
// the phase of this write.
func (c *phaseConn) track(p []byte) smtpPhase {
	ph := c.lastCmd
	for i := 0; i < len(p); {
		if c.bdat > 0 {
			k := min(int64(len(p)-i), c.bdat)
			c.bdat -= k
			i += int(k)
			ph = phXfer
			continue
		}
		if c.inData {
			ph = phXfer
			if n := c.dataEnd(p[i:]); n >= 0 {
				i += n
				c.inData = false
				c.push(phDot)
				c.verb = "end of DATA"
				ph = phDot
			} else {
				i = len(p)
			}
			continue
		}
		b := p[i]
		i++
		if b == '\n' {
			ph = c.endLine()
			continue
		}
		if c.wn < len(c.wline) {
			c.wline[c.wn] = b
			c.wn++
		}
	}
	return ph
}

// endLine handles a complete command line written.
func (c *phaseConn) endLine() smtpPhase {
	line := c.wline[:c.wn]
	c.wn = 0
	verb := ""
	if len(line) >= 4 {
		verb = smtpUpperASCII(string(line[:4]))
	}
	ph := phOther
	switch verb {
	case "EHLO", "HELO", "LHLO":
		ph = phHelo
	case "STAR":
		ph = phStartTLS
		verb = "STARTTLS"
	case "AUTH":
		ph = phAuth
	case "MAIL":
		ph, verb = phMail, "MAIL FROM"
	case "RCPT":
		ph, verb = phRcpt, "RCPT TO"
	case "DATA":
		ph = phData
	case "BDAT":
		ph = phDot
		c.bdat = bdatSize(line)
	case "RSET":
		ph = phRset
	case "QUIT":
		ph = phQuit
	case "NOOP":
		ph = phRset
	default:
		if c.lastCmd == phAuth {
			// A SASL response line continues AUTH.
			ph, verb = phAuth, "AUTH"
		}
	}
	// RSET, NOOP and QUIT only clean up after a refusal (the client
	// engine sends RSET after a refused DATA): the refused command stays
	// the one "in reply to".
	if verb != "" && ph != phRset && ph != phQuit {
		c.verb = verb
	}
	c.push(ph)
	return ph
}

// bdatSize reads the chunk size of "BDAT <size> [LAST]".
func bdatSize(line []byte) int64 {
	s := string(line)
	if len(s) < 6 {
		return 0
	}
	s = s[5:]
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.ParseInt(s[:end], 10, 64)
	return n
}

// scan follows the replies read: each final reply line answers the
// oldest pending command; a 354 to DATA starts the content.
func (c *phaseConn) scan(b []byte) {
	for _, ch := range b {
		if ch != '\n' {
			if len(c.rline) < cap(c.rline) {
				c.rline = append(c.rline, ch)
			}
			continue
		}
		line := c.rline
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		more := len(line) >= 4 && line[3] == '-'
		text := line
		switch {
		case len(c.reply) > 0 && len(text) > 4:
			text = text[4:] // later lines: the code once is enough
		case len(c.reply) == 0 && more:
			text[3] = ' '
		}
		if len(c.reply) > 0 && len(c.reply) < cap(c.reply) {
			c.reply = append(c.reply, ' ')
		}
		c.reply = append(c.reply, text[:min(len(text), cap(c.reply)-len(c.reply))]...)
		c.rline = c.rline[:0]
		if more {
			continue
		}
		code, _ := strconv.Atoi(string(line[:min(3, len(line))]))
		c.lastCode, c.lastReply = code, smtpSanitize(string(c.reply))
		c.reply = c.reply[:0]
		if len(c.pending) == 0 {
			continue
		}
		ph := c.pending[0].ph
		c.pending = c.pending[1:]
		if ph == phData && code == 354 {
			c.inData, c.tail = true, 0x0d0a
		}
	}
}

// smtpSanitize replaces control characters of a reply for logs.
func smtpSanitize(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if ch < 0x20 || ch == 0x7f {
			b[i] = ' '
		}
	}
	return string(b)
}

func smtpUpperASCII(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			b[i] = ch - 32
		}
	}
	return string(b)
}
