package queue

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"
)

// ControlCommand sends one command to the control socket of a running
// server (ServeControl) and returns the reply's text: the queue listing
// for "list" (Postfix's mailq format; "list json" for postqueue -j's
// JSON lines), "Queue flushed" for "flush", and postsuper's message
// counts ("Placed on hold: 2 messages") for "hold ID", "release ID",
// "delete ID" and "requeue ID". An ID is a queue ID or ALL. A refused
// or failed command returns an error with the server's reason. Without
// a deadline in ctx the exchange is bounded by one minute; replies over
// 256 MiB are an error.
func ControlCommand(ctx context.Context, socketPath string, args ...string) (string, error) {
	line := strings.Join(args, " ")
	if _, err := parseControl(line); err != nil {
		return "", errors.New("queue control: " + err.Error() + ": " + oneLine(line, false))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return "", err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	br := bufio.NewReader(io.LimitReader(c, controlMaxReply+1))
	status, err := br.ReadString('\n')
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", errors.New("queue control: no reply")
	}
	status = strings.TrimRight(status, "\r\n")
	if reason, ok := strings.CutPrefix(status, "error "); ok {
		return "", errors.New("queue control: " + reason)
	}
	if status != "ok" {
		return "", errors.New("queue control: unexpected reply")
	}
	var body strings.Builder
	n, err := io.Copy(&body, br)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", err
	}
	if n+int64(len(status))+1 > controlMaxReply {
		return "", errors.New("queue control: reply too long")
	}
	return body.String(), nil
}
