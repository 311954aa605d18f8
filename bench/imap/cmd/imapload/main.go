// Command imapload runs package imapbench's mixed IMAP workload against
// one server from its own process and prints the result as JSON, so that
// a benchmark can load yubin and Dovecot alike without sharing a process
// (or its CPU accounting) with either. Every reply is checked against
// the clients' models of their mailboxes; the protocol errors found are
// counted in the JSON (ProtocolErrors, FirstProtocolErrors) and printed
// on standard error, and imapload then exits with status 1.
//
//	imapload -addr 127.0.0.1:143 -user bench -pass x -clients 10 -seconds 10
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	imapbench "github.com/yubinmail/yubin/bench/imap"
)

func main() {
	addr := flag.String("addr", "", "server address (host:port)")
	user := flag.String("user", "", "login name")
	pass := flag.String("pass", "", "password")
	clients := flag.Int("clients", 10, "concurrent clients")
	seconds := flag.Int("seconds", 10, "duration of the run")
	flag.Parse()
	if *addr == "" || *user == "" {
		fmt.Fprintln(os.Stderr, "imapload: -addr and -user are required")
		os.Exit(2)
	}
	r := imapbench.Load{Addr: *addr, User: *user, Password: *pass, Clients: *clients, Duration: time.Duration(*seconds) * time.Second}.Run(context.Background())
	out := struct {
		imapbench.Result
		PerSecond float64
	}{r, r.PerSecond()}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "imapload:", err)
		os.Exit(1)
	}
	if r.ProtocolErrors > 0 {
		fmt.Fprintf(os.Stderr, "imapload: %d protocol errors; the first:\n", r.ProtocolErrors)
		for _, e := range r.FirstProtocolErrors {
			fmt.Fprintln(os.Stderr, "  "+e)
		}
		os.Exit(1)
	}
}
