// Package imapbench is a load tool for IMAP servers: a mixed workload of
// real-client-shaped sessions (login, select, fetch headers and bodies,
// store flags, search, append, expunge, logout; each client reconnecting
// every few commands) run from many concurrent clients against any
// server, so yubin and Dovecot can be measured in the same run.
//
// Every reply is checked as it arrives: each client keeps a model of its
// selected mailbox as RFC 3501 and RFC 9051 define what a client knows
// (message count from EXISTS, EXPUNGE and VANISHED; UIDs; flags from
// FETCH; the FLAGS list; \Recent; HIGHESTMODSEQ), parses every reply with
// a strict parser of the formal syntax, and counts each reply that
// breaks the protocol as a protocol error (Result.ProtocolErrors, with
// one-line descriptions). Under concurrency only what the RFCs guarantee
// is asserted; each client also owns a private mailbox, which no other
// client touches, where the exact state (EXISTS, UIDNEXT, RECENT, STATUS
// counts, SEARCH results, flags after STORE) is checked too.
//
// Implementation notes: the checker (checker.go, checkerdone.go) follows
// one session, one command at a time; reply.go, replyparse.go and
// replygrammar.go read and parse replies (with limits on line, literal
// and reply size and on nesting); model.go holds the mailbox model and
// the \Recent claims shared by all sessions of a run; mix.go is the
// workload.
package imapbench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load describes one load run.
type Load struct {
	Addr           string
	User, Password string
	Clients        int
	Duration       time.Duration
	// CommandsPerSession is how many commands a client sends between
	// SELECT and LOGOUT before reconnecting (default 6).
	CommandsPerSession int
	// KeepProtocolErrors is how many protocol errors' descriptions the
	// result keeps (default 20).
	KeepProtocolErrors int

	dialStats func(time.Duration)
	timeout   time.Duration // per reply (30 s if zero)
	trace     func(string)  // every command and reply, for debugging
}

// Result is what a run measured.
type Result struct {
	Commands int64 // tagged responses received, LOGIN/SELECT/LOGOUT included
	Errors   int64 // NO responses and failed sessions
	// ProtocolErrors counts replies that break the protocol, as the
	// clients' models of their mailboxes tell (see checker); a BAD to
	// the tool's valid commands is one too.
	ProtocolErrors int64
	Elapsed        time.Duration
	// FirstErrors holds up to five error texts, for diagnosis.
	FirstErrors []string
	// FirstProtocolErrors describes the first protocol errors, one line
	// each (Load.KeepProtocolErrors of them).
	FirstProtocolErrors []string
	// Dials counts connections opened; SlowDials those whose TCP
	// handshake took more than a second (a dropped SYN: a full accept
	// queue or a 4-tuple still in TIME_WAIT), and MaxDial is the longest.
	Dials, SlowDials int64
	MaxDial          time.Duration
}

// PerSecond is the command rate.
func (r Result) PerSecond() float64 { return float64(r.Commands) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%d commands in %v (%.0f/s), %d errors, %d protocol errors, %d connections (%d slower than 1s to connect, longest %v)",
		r.Commands, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.Errors, r.ProtocolErrors, r.Dials, r.SlowDials, r.MaxDial.Round(time.Millisecond))
}

// Run runs the workload until the duration passes or ctx ends.
func (l Load) Run(ctx context.Context) Result {
	if l.CommandsPerSession == 0 {
		l.CommandsPerSession = 6
	}
	if l.KeepProtocolErrors == 0 {
		l.KeepProtocolErrors = 20
	}
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()
	end, _ := ctx.Deadline()
	var cmds, errs, dials, slow, maxDial atomic.Int64
	l.dialStats = func(d time.Duration) {
		dials.Add(1)
		if d > time.Second {
			slow.Add(1)
		}
		for {
			m := maxDial.Load()
			if int64(d) <= m || maxDial.CompareAndSwap(m, int64(d)) {
				break
			}
		}
	}
	var emu sync.Mutex
	var first, firstProto []string
	var proto, sessions atomic.Int64
	claims := &recentClaims{}
	report := func(what string) {
		proto.Add(1)
		emu.Lock()
		if len(firstProto) < l.KeepProtocolErrors {
			firstProto = append(firstProto, what)
		}
		emu.Unlock()
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < l.Clients; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			cl := &client{load: &l, id: id, rnd: rand.New(rand.NewSource(int64(id) + 1)),
				private: &privateBox{name: fmt.Sprintf("load%d", id)}, claims: claims, report: report}
			for ctx.Err() == nil {
				n, err := cl.session(ctx, int(sessions.Add(1)))
				cmds.Add(int64(n))
				// A dial cut off by the end of the run fails with "i/o
				// timeout" (the socket's deadline is the context's) a
				// moment before ctx.Err() reports the end: not an error.
				if err != nil && ctx.Err() == nil && time.Now().Before(end) {
					errs.Add(1)
					emu.Lock()
					if len(first) < 5 {
						first = append(first, fmt.Sprintf("%v (after %v)", err, time.Since(start).Round(time.Millisecond)))
					}
					emu.Unlock()
					time.Sleep(10 * time.Millisecond)
				}
			}
		}(i)
	}
	wg.Wait()
	return Result{Commands: cmds.Load(), Errors: errs.Load(), Elapsed: time.Since(start), FirstErrors: first,
		ProtocolErrors: proto.Load(), FirstProtocolErrors: firstProto,
		Dials: dials.Load(), SlowDials: slow.Load(), MaxDial: time.Duration(maxDial.Load())}
}

type conn struct {
	nc  net.Conn
	br  *bufio.Reader
	tag int
	// timeout bounds the wait for each response line (30 s if zero).
	timeout time.Duration
}

var literalRE = regexp.MustCompile(`\{(\d+)\}\r\n$`)

// cmd sends a command (literal already inline, non-synchronizing) and
// reads to its tagged response; it returns the untagged lines.
func (c *conn) cmd(s string) ([]string, error) {
	c.tag++
	tag := "b" + strconv.Itoa(c.tag)
	if _, err := io.WriteString(c.nc, tag+" "+s+"\r\n"); err != nil {
		return nil, err
	}
	var lines []string
	for {
		timeout := c.timeout
		if timeout == 0 {
			timeout = 30 * time.Second
		}
		c.nc.SetReadDeadline(time.Now().Add(timeout))
		line, err := c.br.ReadString('\n')
		if err != nil {
			return lines, err
		}
		if m := literalRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			if _, err := io.CopyN(io.Discard, c.br, int64(n)); err != nil {
				return lines, err
			}
			// the rest of the line follows the literal
			rest, err := c.br.ReadString('\n')
			if err != nil {
				return lines, err
			}
			line = strings.TrimSuffix(line, m[0]) + "{...}" + rest
		}
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				return lines, fmt.Errorf("%s: %s", s, strings.TrimSpace(line))
			}
			return append(lines, line), nil
		}
		lines = append(lines, line)
	}
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 64<<10) }
