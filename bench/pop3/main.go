//go:build linux

// Command pop3 is a POP3 load generator: each client repeats full
// sessions (login with USER/PASS, STAT, UIDL, RETR of every message,
// QUIT) against one server and the tool prints sessions/s and MB/s.
//
//	go run ./bench/pop3 -addr 127.0.0.1:110 -user alice -pass secret -clients 10 -duration 10s
//
// The benchmark in this directory (go test -bench Compare -benchtime 3x
// -v ./bench/pop3) sets up a Maildir of 100 × 10 KiB messages, serves it
// with a private Dovecot 2.3 pop3 and with yubin's pop3 package at the
// same time, runs this load against each with 1 and 10 clients (the
// servers taking turns in one-second slices), and logs sessions/s, MB/s,
// server and load generator CPU time per session and the ratios to
// Dovecot per round and as medians over the rounds (-benchtime Nx is
// the number of rounds). Each yubin server runs in a process of its own,
// as Dovecot's do, in three wirings: "open" (the user's maildir.Store
// opened per session), "backend" (a maildir.Backend sharing one Store
// among a user's concurrent sessions and keeping it open 30 s after the
// last, as examples/fullserver wires it)
// and "cached" (one Store per user kept open), and beside them the
// examples/fullserver binary itself ("fullserver": built, started with a
// private main.cf serving the same Maildir, POP3_BENCH_FULLSERVER_CF for
// extra lines). POP3_BENCH_WIRINGS
// selects some of them (comma-separated) and may name "canned": a
// reference server that sends the same octets from replies prepared
// once and does no other work, which shows what the load generator and
// the machine allow any server (not run by default). POP3_BENCH_SCHEME sets
// the password scheme both servers verify (default: no password check
// on either side), POP3_BENCH_SECONDS the length of a run.
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
	client := flag.String("client", "block", "client code: block (blocking socket) or net (net.Conn, bufio)")
	flag.Parse()
	if err := SetClient(*client); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	r := Load(context.Background(), *addr, *user, *pass, *clients, *d)
	fmt.Println(r)
	if r.FirstErr != nil {
		fmt.Fprintln(os.Stderr, "first error:", r.FirstErr)
	}
	if r.Sessions == 0 {
		os.Exit(1)
	}
}
