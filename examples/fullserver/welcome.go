package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"
)

// printWelcome tells a newcomer what runs and how to connect, naming
// only the listeners that are running (protocols, empty ports and
// per-listener settings switch them off).
func (h *host) printWelcome(demo *demoUser, metricsL net.Listener) {
	// One write, so that a program reading the output (the tests) gets
	// the listeners' addresses together.
	w := &bytes.Buffer{}
	defer func() { h.out.Write(w.Bytes()) }()
	fmt.Fprintln(w, "yubin mail host running.")
	ports := map[string][]string{} // service -> listening addresses
	for _, b := range h.binds {
		if h.running[b.service] == nil {
			continue
		}
		fmt.Fprintf(w, "  %-12s %s\n", b.service, b.l.Addr())
		ports[b.service] = append(ports[b.service], b.l.Addr().String())
	}
	if metricsL != nil {
		fmt.Fprintf(w, "  %-12s http://%s/metrics\n", "metrics", metricsL.Addr())
	}
	if demo != nil {
		fmt.Fprintf(w, "\nA demo user was created (the password is shown only this once):\n  user: %s\n  password: %s\n", demo.name, demo.password)
	}
	// One line per kind of client, from what is listening.
	port := func(svc string) string {
		if a := ports[svc]; len(a) > 0 {
			_, p, _ := net.SplitHostPort(a[0])
			return p
		}
		return ""
	}
	var host string
	var lines []string
	add := func(what, plain, plainHow, tls, via string) {
		var ps []string
		if p := port(plain); p != "" {
			ps = append(ps, p+" ("+plainHow+")")
		}
		if p := port(tls); p != "" {
			ps = append(ps, p+" (TLS)")
		}
		if len(ps) == 0 {
			return
		}
		if host == "" {
			for _, svc := range []string{plain, tls} {
				if a := ports[svc]; len(a) > 0 {
					host, _, _ = net.SplitHostPort(a[0])
					break
				}
			}
		}
		lines = append(lines, fmt.Sprintf("  %-22s port %s%s", what, strings.Join(ps, " or "), via))
	}
	add("IMAP", "imap", "STARTTLS", "imaps", "")
	add("POP3", "pop3", "STLS", "pop3s", "")
	add("SMTP submission", "submission", "STARTTLS", "submissions", ", with authentication")
	add("ManageSieve", "sieve", "STARTTLS", "", "")
	if len(lines) > 0 {
		if host == "0.0.0.0" || host == "::" {
			host = "this host"
		}
		who := "a user added with adduser"
		if demo != nil {
			who = "the user above"
		}
		fmt.Fprintf(w, "\nPoint a mail client at %s as %s:\n%s\n", host, who, strings.Join(lines, "\n"))
		if usesDefaultCert(h.cfg) {
			fmt.Fprintln(w, "The certificate is self-signed (made on first start): tell the client to accept it.")
		}
	}
	if p := port("smtp"); p != "" {
		var domains []string
		for _, d := range append(h.cfg.List("mydestination"), h.cfg.List("virtual_mailbox_domains")...) {
			if !strings.Contains(d, ":") { // not a lookup table
				domains = append(domains, d)
			}
		}
		fmt.Fprintf(w, "Incoming mail for %s is accepted on port %s.\n", strings.Join(domains, ", "), p)
	}
	if a := ports["lmtp"]; len(a) > 0 {
		fmt.Fprintf(w, "An MTA can deliver over LMTP to %s.\n", strings.Join(a, " and "))
	}
	if passwdFile(h.cfg) != "" {
		// The same command line that started us, with adduser.
		cmd := "fullserver"
		if strings.Contains(os.Args[0], "go-build") {
			cmd = "go run ./examples/fullserver"
		}
		switch {
		case h.opts.configFile != "":
			cmd += " -config " + h.opts.configFile
		case h.opts.data != "":
			cmd += " -data " + h.opts.data
		}
		fmt.Fprintf(w, "Add users with: %s adduser NAME@DOMAIN\n", cmd)
	}
}
