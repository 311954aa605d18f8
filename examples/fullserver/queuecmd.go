package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/queue"
)

// queueCommand is "fullserver queue ...": postqueue and postsuper
// against the running server, through its control socket.
func queueCommand(cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: fullserver queue list [json] | flush | hold|release|delete|requeue ID|ALL")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := queue.ControlCommand(ctx, queueSocket(cfg), args...)
	if err != nil {
		fmt.Fprintf(stderr, "fullserver: queue %s: %v (is the server running? its socket is %s)\n", strings.Join(args, " "), err, queueSocket(cfg))
		return 1
	}
	io.WriteString(stdout, out)
	if out != "" && !strings.HasSuffix(out, "\n") {
		fmt.Fprintln(stdout)
	}
	return 0
}
