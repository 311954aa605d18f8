// Command smtp is a load tool for SMTP and LMTP servers: it sends
// messages of a given size, one per connection, over a number of
// concurrent sessions, and reports messages per second.
//
//	go run ./bench/smtp -proto smtp -addr 127.0.0.1:25 -c 10 -n 2000 -size 4096
//
// The benchmarks in this directory (go test -bench . ./bench/smtp) start
// yubin's SMTP and LMTP servers delivering into Maildir and, in the same
// run, the Debian Postfix 3.7 and Dovecot 2.3 doing the same, and report
// the rates side by side. yubin's servers run in a child process, as
// Postfix and Dovecot run in theirs, so the load generator does not share
// the server's process (YUBIN_BENCH_INPROC=1 keeps them in one).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
)

func main() {
	proto := flag.String("proto", "smtp", "smtp or lmtp")
	addr := flag.String("addr", "127.0.0.1:25", "server address")
	rcpt := flag.String("rcpt", "bench@example.jp", "recipient")
	sessions := flag.Int("c", 10, "concurrent sessions")
	total := flag.Int("n", 1000, "messages to send")
	size := flag.Int("size", 4096, "message size in bytes")
	flag.Parse()
	msg := message(*size)
	send := smtpSender(*addr, *rcpt, msg)
	if *proto == "lmtp" {
		send = lmtpSender(*addr, *rcpt, msg)
	}
	r := run(context.Background(), *sessions, *total, send)
	fmt.Println(r)
	if r.First != nil {
		fmt.Fprintln(os.Stderr, "first error:", r.First)
		os.Exit(1)
	}
}
