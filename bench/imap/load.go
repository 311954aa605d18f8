// Package imapbench is a load tool for IMAP servers: a mixed workload of
// real-client-shaped sessions (login, select, fetch headers and bodies,
// store flags, search, append, expunge, logout; each client reconnecting
// every few commands) run from many concurrent clients against any
// server, so yubin and Dovecot can be measured in the same run.
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

	dialStats func(time.Duration)
}

// Result is what a run measured.
type Result struct {
	Commands int64 // tagged responses received, LOGIN/SELECT/LOGOUT included
	Errors   int64 // NO/BAD responses and failed sessions
	Elapsed  time.Duration
	// FirstErrors holds up to five error texts, for diagnosis.
	FirstErrors []string
	// Dials counts connections opened; SlowDials those whose TCP
	// handshake took more than a second (a dropped SYN: a full accept
	// queue or a 4-tuple still in TIME_WAIT), and MaxDial is the longest.
	Dials, SlowDials int64
	MaxDial          time.Duration
}

// PerSecond is the command rate.
func (r Result) PerSecond() float64 { return float64(r.Commands) / r.Elapsed.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%d commands in %v (%.0f/s), %d errors, %d connections (%d slower than 1s to connect, longest %v)",
		r.Commands, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.Errors, r.Dials, r.SlowDials, r.MaxDial.Round(time.Millisecond))
}

// Run runs the workload until the duration passes or ctx ends.
func (l Load) Run(ctx context.Context) Result {
	if l.CommandsPerSession == 0 {
		l.CommandsPerSession = 6
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
	var first []string
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < l.Clients; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(id) + 1))
			for ctx.Err() == nil {
				n, err := l.session(ctx, rnd, id)
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
var existsRE = regexp.MustCompile(`^\* (\d+) EXISTS`)
var appendUIDRE = regexp.MustCompile(`APPENDUID \d+ (\d+)`)
var expungeRE = regexp.MustCompile(`^\* \d+ EXPUNGE`)

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

func (l Load) session(ctx context.Context, rnd *rand.Rand, id int) (int, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	t0 := time.Now()
	nc, err := d.DialContext(ctx, "tcp", l.Addr)
	if l.dialStats != nil {
		l.dialStats(time.Since(t0))
	}
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.br.ReadString('\n'); err != nil {
		return 0, err
	}
	n := 0
	exists := 0
	do := func(s string) ([]string, error) {
		lines, err := c.cmd(s)
		if err != nil && strings.Contains(err.Error(), "[EXPUNGEISSUED]") {
			// Another client expunged a message this one still sees: a
			// correct answer (Dovecot gives it too), not a failure.
			err = nil
		}
		if err == nil {
			n++
		}
		for _, ln := range lines {
			if m := existsRE.FindStringSubmatch(ln); m != nil {
				exists, _ = strconv.Atoi(m[1])
			} else if expungeRE.MatchString(ln) {
				exists--
			}
		}
		return lines, err
	}
	if _, err := do(fmt.Sprintf("LOGIN %s %s", l.User, l.Password)); err != nil {
		return n, err
	}
	if _, err := do("SELECT INBOX"); err != nil {
		return n, err
	}
	var appended []string
	for i := 0; i < l.CommandsPerSession && ctx.Err() == nil; i++ {
		var cmd string
		switch r := rnd.Intn(10); {
		case exists <= 0 || r == 0:
			msg := fmt.Sprintf("From: load%d@example.org\r\nTo: bench@example.org\r\nSubject: load %d\r\nMessage-ID: <%d.%d@bench>\r\n\r\nbody of a load test message\r\n", id, i, id, rnd.Int63())
			cmd = fmt.Sprintf("APPEND INBOX (\\Seen) {%d+}\r\n%s", len(msg), msg)
		case r <= 2:
			lo := 1 + rnd.Intn(exists)
			cmd = fmt.Sprintf("FETCH %d:%d (FLAGS UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])", lo, min(lo+19, exists))
		case r <= 4:
			cmd = fmt.Sprintf("FETCH %d (BODY.PEEK[])", 1+rnd.Intn(exists))
		case r <= 6:
			cmd = fmt.Sprintf("STORE %d FLAGS (\\Seen \\Flagged)", 1+rnd.Intn(exists))
			if rnd.Intn(2) == 0 {
				cmd = fmt.Sprintf("STORE %d -FLAGS (\\Flagged)", 1+rnd.Intn(exists))
			}
		case r <= 8:
			cmd = "UID SEARCH UNSEEN"
			if r == 8 {
				cmd = "SEARCH FLAGGED"
			}
		default:
			cmd = "NOOP"
		}
		out, err := do(cmd)
		if err != nil {
			return n, err
		}
		if len(out) == 0 {
			continue
		}
		if m := appendUIDRE.FindStringSubmatch(out[len(out)-1]); m != nil {
			appended = append(appended, m[1])
		}
	}
	if len(appended) > 0 && ctx.Err() == nil {
		// Delete what this session added, keeping the mailbox size
		// steady, as a client moving mail to Trash would.
		set := strings.Join(appended, ",")
		if _, err := do("UID STORE " + set + " +FLAGS.SILENT (\\Deleted)"); err != nil {
			return n, err
		}
		if _, err := do("UID EXPUNGE " + set); err != nil {
			return n, err
		}
	}
	if _, err := do("LOGOUT"); err != nil && !strings.Contains(err.Error(), "EOF") {
		return n, err
	}
	return n, nil
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 64<<10) }
