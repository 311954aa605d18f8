// Command pop3 is a POP3 load generator: each client repeats full
// sessions (login with USER/PASS, STAT, UIDL, RETR of every message,
// QUIT) against one server and the tool prints sessions/s and MB/s.
//
//	go run ./bench/pop3 -addr 127.0.0.1:110 -user alice -pass secret -clients 10 -duration 10s
//
// The benchmark in this directory (go test -bench . ./bench/pop3) sets
// up a Maildir of 100 × 10 KiB messages, serves it with yubin's pop3
// package and with a private Dovecot 2.3 pop3 at the same time, runs this
// load against both with 1 and 10 clients and logs the ratio. yubin runs
// twice: with the user's maildir.Store opened per session (the plain
// wiring) and with one Store cached per user (what a long-running
// program would do).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:110", "POP3 server address")
	user := flag.String("user", "alice", "user name")
	pass := flag.String("pass", "secret", "password")
	clients := flag.Int("clients", 1, "concurrent clients")
	d := flag.Duration("duration", 10*time.Second, "how long to run")
	flag.Parse()
	r := Load(context.Background(), *addr, *user, *pass, *clients, *d)
	fmt.Println(r)
	if r.FirstErr != nil {
		fmt.Fprintln(os.Stderr, "first error:", r.FirstErr)
	}
	if r.Sessions == 0 {
		os.Exit(1)
	}
}
