package queue

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
)

// The control protocol's limits.
const (
	// controlMaxLine is the longest command line the server reads.
	controlMaxLine = 512
	// controlMaxID is the longest queue ID a command may name.
	controlMaxID = 64
	// controlReadTimeout bounds the wait for the command line, and
	// controlWriteTimeout the writing of the reply.
	controlReadTimeout  = 10 * time.Second
	controlWriteTimeout = 5 * time.Minute
	// controlMaxConns bounds the connections served at once.
	controlMaxConns = 16
	// controlMaxReply bounds the reply ControlCommand reads.
	controlMaxReply = 256 << 20
)

// controlCmd is a parsed control command.
type controlCmd struct {
	Name string // list, flush, hold, release, delete, requeue
	Arg  string // the queue ID or ALL; "json" for list
}

var (
	errControlSyntax  = errors.New("syntax error")
	errControlCommand = errors.New("unknown command")
	errControlID      = errors.New("invalid queue ID")
)

// parseControl parses one command line (without its line ending):
// "list", "list json", "flush", or "hold|release|delete|requeue ID"
// where ID is a queue ID (letters and digits, as Postfix's) or ALL.
// Command names are case-insensitive; ALL is not.
func parseControl(line string) (controlCmd, error) {
	if len(line) > controlMaxLine {
		return controlCmd{}, errControlSyntax
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return controlCmd{}, errControlSyntax
		}
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return controlCmd{}, errControlSyntax
	}
	cmd := controlCmd{Name: strings.ToLower(f[0])}
	switch cmd.Name {
	case "flush":
		if len(f) != 1 {
			return controlCmd{}, errControlSyntax
		}
	case "list":
		switch {
		case len(f) == 1:
		case len(f) == 2 && strings.EqualFold(f[1], "json"):
			cmd.Arg = "json"
		default:
			return controlCmd{}, errControlSyntax
		}
	case "hold", "release", "delete", "requeue":
		if len(f) != 2 {
			return controlCmd{}, errControlSyntax
		}
		if !validControlID(f[1]) {
			return controlCmd{}, errControlID
		}
		cmd.Arg = f[1]
	default:
		return controlCmd{}, errControlCommand
	}
	return cmd, nil
}

// validControlID reports whether id is "ALL" or a queue ID: 1 to 64
// ASCII letters and digits.
func validControlID(id string) bool {
	if id == "ALL" {
		return true
	}
	if id == "" || len(id) > controlMaxID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// ServeControl serves the queue's control protocol on l (a Unix-domain
// socket made by ListenControl) until ctx is done, then closes l and
// returns nil; it returns the listener's error if accepting fails. Each
// connection carries one command; see the package documentation for
// the protocol. Only peers running as root or as the server's own user
// are served where the system tells (Linux SO_PEERCRED).
func ServeControl(ctx context.Context, l net.Listener, a Admin, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, controlMaxConns)
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			c.Close()
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer c.Close()
			serveControlConn(ctx, c, a, log)
		}()
	}
}

// serveControlConn reads one command from c and writes its reply.
func serveControlConn(ctx context.Context, c net.Conn, a Admin, log *slog.Logger) {
	c.SetReadDeadline(time.Now().Add(controlReadTimeout))
	// A shutdown ends the wait for the command at once.
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	line, err := readControlLine(bufio.NewReaderSize(c, controlMaxLine+2))
	stop()
	c.SetWriteDeadline(time.Now().Add(controlWriteTimeout))
	// The command is read first so that a refused client reads the
	// reason rather than a broken pipe.
	if ok, uid := controlPeerAllowed(c); !ok {
		log.Warn("control: connection refused", "uid", uid)
		io.WriteString(c, "error permission denied\n")
		return
	}
	if err != nil {
		io.WriteString(c, "error "+err.Error()+"\n")
		return
	}
	cmd, err := parseControl(line)
	if err != nil {
		log.Info("control: bad command", "err", err)
		io.WriteString(c, "error "+err.Error()+"\n")
		return
	}
	if ctx.Err() != nil {
		io.WriteString(c, "error server shutting down\n")
		return
	}
	bw := bufio.NewWriter(c)
	defer bw.Flush()
	var n int
	switch cmd.Name {
	case "list":
		entries := a.List()
		bw.WriteString("ok\n")
		if cmd.Arg == "json" {
			err = WriteMailqJSON(bw, entries)
		} else {
			err = WriteMailq(bw, entries)
		}
		if err != nil {
			log.Info("control: writing the listing", "err", err)
		}
		return
	case "flush":
		a.Flush()
		log.Info("control: flush")
		bw.WriteString("ok\nQueue flushed\n")
		return
	case "hold":
		n, err = a.Hold(cmd.Arg)
	case "release":
		n, err = a.Release(cmd.Arg)
	case "delete":
		n, err = a.Delete(cmd.Arg)
	case "requeue":
		n, err = a.Requeue(cmd.Arg)
	}
	if err != nil {
		// The detail goes to the log, not to the socket.
		log.Error("control: command failed", "cmd", cmd.Name, "id", cmd.Arg, "err", err)
		fmt.Fprintf(bw, "error %s failed, see the server log\n", cmd.Name)
		return
	}
	log.Info("control: "+cmd.Name, "id", cmd.Arg, "messages", n)
	// The replies of postsuper(1).
	what := map[string]string{"hold": "Placed on hold", "release": "Released from hold", "delete": "Deleted", "requeue": "Requeued"}[cmd.Name]
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(bw, "ok\n%s: %d message%s\n", what, n, plural)
}

// readControlLine reads one line of at most controlMaxLine bytes, ended
// by LF or CRLF.
func readControlLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > controlMaxLine+2 {
		return "", errors.New("line too long")
	}
	if err != nil {
		return "", errors.New("no command")
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
	if len(s) > controlMaxLine {
		return "", errors.New("line too long")
	}
	return s, nil
}
