package smtpwire

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a raw SMTP/LMTP server on 127.0.0.1 that records every
// byte it receives and every command line it acts on. It is lenient the
// way a smuggling-prone next hop is: a line ends at CRLF, a bare LF or a
// bare CR, and DATA ends at any such line holding a single ".". A
// command the client did not mean to send (an injected RSET, a content
// line taken for a command) therefore shows up in cmds.
type recorder struct {
	l    net.Listener
	lmtp bool
	ext  []string
	// stall names a verb ("RCPT", "DATA.", for the end of data) the
	// server never answers; "XFER" makes it stop reading after its 354.
	stall string
	quit  chan struct{}

	mu   sync.Mutex
	raw  bytes.Buffer
	cmds []string
	msgs []string // contents received, dot-unstuffed, lines joined by "\n"
}

func startRecorder(t *testing.T, lmtp bool, ext ...string) *recorder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{l: l, lmtp: lmtp, ext: ext, quit: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() { close(r.quit); l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				r.serve(c)
			}()
		}
	}()
	return r
}

func (r *recorder) addr() string { return r.l.Addr().String() }

type rawTee struct{ r *recorder }

func (t rawTee) Write(p []byte) (int, error) {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	return t.r.raw.Write(p)
}

// lenientLine reads a line ended by CRLF, LF or CR.
func lenientLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			return string(b), err
		}
		switch c {
		case '\n':
			return string(b), nil
		case '\r':
			if n, err := br.Peek(1); err == nil && n[0] == '\n' {
				br.ReadByte()
			}
			return string(b), nil
		}
		b = append(b, c)
		if len(b) > 1<<20 {
			return string(b), io.ErrShortBuffer
		}
	}
}

func (r *recorder) serve(c net.Conn) {
	br := bufio.NewReader(io.TeeReader(c, rawTee{r}))
	w := bufio.NewWriter(c)
	say := func(s string) { w.WriteString(s + "\r\n"); w.Flush() }
	say("220 recorder ESMTP")
	rcpts := 0
	for {
		line, err := lenientLine(br)
		if err != nil {
			return
		}
		r.mu.Lock()
		r.cmds = append(r.cmds, line)
		r.mu.Unlock()
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if verb == r.stall {
			io.Copy(io.Discard, br)
			return
		}
		switch verb {
		case "EHLO", "LHLO":
			lines := append([]string{"recorder"}, r.ext...)
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				w.WriteString("250" + sep + l + "\r\n")
			}
			w.Flush()
		case "HELO", "NOOP", "RSET":
			say("250 2.0.0 Ok")
		case "MAIL":
			rcpts = 0
			say("250 2.1.0 Ok")
		case "RCPT":
			rcpts++
			say("250 2.1.5 Ok")
		case "DATA":
			say("354 go ahead")
			if r.stall == "XFER" {
				<-r.quit
				return
			}
			var msg []string
			for {
				l, err := lenientLine(br)
				if err != nil {
					return
				}
				if l == "." {
					break
				}
				msg = append(msg, strings.TrimPrefix(l, "."))
			}
			r.mu.Lock()
			r.msgs = append(r.msgs, strings.Join(msg, "\n"))
			r.mu.Unlock()
			if r.stall == "DATA." {
				io.Copy(io.Discard, br)
				return
			}
			r.endData(w, rcpts)
		case "BDAT":
			f := strings.Fields(arg)
			n, _ := strconv.Atoi(f[0])
			b := make([]byte, n)
			if _, err := io.ReadFull(br, b); err != nil {
				return
			}
			r.mu.Lock()
			r.msgs = append(r.msgs, "BDAT:"+string(b))
			r.mu.Unlock()
			if len(f) == 2 {
				r.endData(w, rcpts)
			} else {
				say("250 2.0.0 chunk ok")
			}
		case "AUTH":
			if strings.Contains(arg, " ") {
				say("235 2.7.0 Authentication successful")
				break
			}
			say("334 ")
			if _, err := lenientLine(br); err != nil {
				return
			}
			say("235 2.7.0 Authentication successful")
		case "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("500 5.5.2 Error: command not recognized")
		}
	}
}

func (r *recorder) endData(w *bufio.Writer, rcpts int) {
	if !r.lmtp {
		w.WriteString("250 2.0.0 Ok: queued as REC1\r\n")
	}
	for i := 0; r.lmtp && i < rcpts; i++ {
		w.WriteString("250 2.0.0 delivered\r\n")
	}
	w.Flush()
}

// commands returns the command lines received so far.
func (r *recorder) commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cmds...)
}

// messages returns the contents received so far.
func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// bytes returns everything received so far.
func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.raw.Bytes()...)
}

// assertNoInjection fails when a command the client never sends (RSET
// here) was received, when a command line has a NUL, or when the byte
// stream (message content included) has a CR or LF outside a CRLF pair.
func (r *recorder) assertNoInjection(t *testing.T) {
	t.Helper()
	for _, c := range r.commands() {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(c)), "RSET") {
			t.Errorf("injected command reached the server: %q", c)
		}
		if strings.Contains(c, "\x00") {
			t.Errorf("NUL in command %q", c)
		}
	}
	b := r.bytes()
	for i, c := range b {
		switch {
		case c == '\r' && (i+1 == len(b) || b[i+1] != '\n'):
			t.Errorf("bare CR at byte %d: %q", i, around(b, i))
		case c == '\n' && (i == 0 || b[i-1] != '\r'):
			t.Errorf("bare LF at byte %d: %q", i, around(b, i))
		}
	}
}

func around(b []byte, i int) []byte {
	return b[max(0, i-30):min(len(b), i+30)]
}
