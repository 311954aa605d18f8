package smtpwire

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// endless is a message that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
		if i%80 == 79 {
			p[i] = '\n'
		}
	}
	return len(p), nil
}

// TestClientPhaseTimeouts: a server that stops answering in one phase
// makes the client fail after that phase's timeout, not the general
// one, with an error naming the phase; the client is closed after it.
func TestClientPhaseTimeouts(t *testing.T) {
	const short = 150 * time.Millisecond
	for _, tc := range []struct {
		stall string
		set   func(*Timeouts)
		what  string
	}{
		{"EHLO", func(t *Timeouts) { t.Helo = short }, "EHLO"},
		{"MAIL", func(t *Timeouts) { t.Mail = short }, "MAIL FROM"},
		{"RCPT", func(t *Timeouts) { t.Rcpt = short }, "RCPT TO"},
		{"DATA", func(t *Timeouts) { t.DataInit = short }, "DATA"},
		{"XFER", func(t *Timeouts) { t.DataXfer = short }, "sending the message"},
		{"DATA.", func(t *Timeouts) { t.DataDone = short }, "end of data"},
	} {
		t.Run(tc.stall, func(t *testing.T) {
			t.Parallel()
			r := startRecorder(t, false)
			r.stall = tc.stall
			ctx := context.Background()
			conn, err := Dial(ctx, "tcp", r.addr(), Timeouts{}, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c := NewClient(conn, "127.0.0.1", false)
			defer c.Close()
			c.Timeout = 30 * time.Second
			tc.set(&c.Timeouts)
			if err := c.Greet(ctx); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = c.Hello(ctx, "client.example.jp")
			if err == nil {
				var msg io.Reader = strings.NewReader("Subject: x\r\n\r\nbody\r\n")
				if tc.stall == "XFER" {
					msg = endless{}
				}
				_, err = c.Send(ctx, "a@example.jp", []Recipient{{Addr: "b@example.org"}}, nil, msg)
			}
			took := time.Since(start)
			if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), tc.what) {
				t.Fatalf("err = %v, want a timeout in %s", err, tc.what)
			}
			if took > 5*time.Second {
				t.Fatalf("took %v with a %v timeout", took, short)
			}
			if err := c.Noop(ctx); !errors.Is(err, ErrClientClosed) {
				t.Fatalf("after a timeout: %v", err)
			}
		})
	}
}

// TestClientContextCancel: cancelling the context ends a pending read at
// once, whatever the timeouts say.
func TestClientContextCancel(t *testing.T) {
	r := startRecorder(t, false)
	r.stall = "RCPT"
	c := dialEngine(t, r.addr(), false)
	c.Timeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Send(ctx, "a@example.jp", []Recipient{{Addr: "b@example.org"}}, nil, strings.NewReader("x\r\n"))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	// A context deadline counts too.
	r2 := startRecorder(t, false)
	r2.stall = "MAIL"
	c2 := dialEngine(t, r2.addr(), false)
	c2.Timeout = time.Minute
	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	_, err = c2.Send(dctx, "a@example.jp", []Recipient{{Addr: "b@example.org"}}, nil, strings.NewReader("x\r\n"))
	if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
}

// rawServer runs serve for each connection to a 127.0.0.1 listener.
func rawServer(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
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
				c.SetDeadline(time.Now().Add(10 * time.Second))
				serve(c)
			}()
		}
	}()
	return l.Addr().String()
}

// TestClientGarbageReplies: a reply that is not SMTP, never ends, or has
// a line without end fails with a clear error, soon, and without
// holding more than a line's limit of it.
func TestClientGarbageReplies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(w *bufio.Writer)
		want  error
	}{
		{"not SMTP", func(w *bufio.Writer) { w.WriteString("SSH-2.0-OpenSSH_9.2\r\n") }, ErrBadReply},
		{"bad code", func(w *bufio.Writer) { w.WriteString("999 what\r\n") }, ErrBadReply},
		{"code changes", func(w *bufio.Writer) { w.WriteString("220-a\r\n250 b\r\n") }, ErrBadReply},
		{"endless continuation", func(w *bufio.Writer) {
			for {
				if _, err := w.WriteString("220-more and more\r\n"); err != nil {
					return
				}
			}
		}, ErrReplyTooLong},
		{"endless line", func(w *bufio.Writer) {
			w.WriteString("220 ")
			for {
				if _, err := w.WriteString(strings.Repeat("x", 4096)); err != nil {
					return
				}
			}
		}, ErrReplyTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := rawServer(t, func(c net.Conn) {
				w := bufio.NewWriter(c)
				tc.serve(w)
				w.Flush()
				io.Copy(io.Discard, c)
			})
			ctx := context.Background()
			conn, err := Dial(ctx, "tcp", addr, Timeouts{}, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c := NewClient(conn, "127.0.0.1", false)
			c.Timeout = 5 * time.Second
			start := time.Now()
			err = c.Greet(ctx)
			if !errors.Is(err, tc.want) || time.Since(start) > 3*time.Second {
				t.Fatalf("Greet = %v after %v, want %v", err, time.Since(start), tc.want)
			}
			if err := c.Hello(ctx, "x.example"); !errors.Is(err, ErrClientClosed) {
				t.Fatalf("after garbage: %v", err)
			}
		})
	}
}

// TestClientStartTLSInjection: a server (or a man in the middle) that
// sends more after "220 ready" to STARTTLS, to have it read as the
// answer to the client's first command under TLS, is refused.
func TestClientStartTLSInjection(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		c.Write([]byte("220 mx ESMTP\r\n"))
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			switch strings.ToUpper(strings.Fields(l)[0]) {
			case "EHLO":
				c.Write([]byte("250-mx\r\n250 STARTTLS\r\n"))
			case "STARTTLS":
				c.Write([]byte("220 2.0.0 Ready to start TLS\r\n250 2.1.0 injected\r\n"))
			}
		}
	})
	c := dialEngine(t, addr, false)
	err := c.StartTLS(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "before the TLS handshake") {
		t.Fatalf("StartTLS = %v", err)
	}
}
