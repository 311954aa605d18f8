package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/yubinmail/yubin/config"
	iserve "github.com/yubinmail/yubin/internal/serve"
)

// bound is one open listener, made before privileges are dropped.
type bound struct {
	service string
	spec    listenSpec // what the configuration asked for (port 0 stays 0)
	l       net.Listener
	unix    string // socket path for a unix listener
	tls     bool   // implicit TLS (submissions, imaps, pop3s)
}

// listenSpec is one address a service listens on.
type listenSpec struct {
	service, network, addr string
}

// listenSpecs lists the listeners the configuration asks for: SMTP on
// inet_interfaces, IMAP/POP3 on listen (Dovecot's name), the LMTP socket,
// each only when its port is set and, for Dovecot's services, when its
// protocol is in protocols.
func listenSpecs(c *config.Config) []listenSpec {
	var out []listenSpec
	protos := c.List("protocols")
	inet := func(svc, ifaceParam, portParam string) {
		v := c.Service(svc)
		port := v.Get(portParam)
		if port == "" {
			return
		}
		for _, h := range interfaces(v.List(ifaceParam)) {
			out = append(out, listenSpec{svc, "tcp", net.JoinHostPort(h, port)})
		}
	}
	inet("smtp", "inet_interfaces", "smtp_port")
	inet("submission", "inet_interfaces", "submission_port")
	inet("submissions", "inet_interfaces", "submissions_port")
	// Dovecot's ssl = no: no TLS, so no imaps and pop3s listeners.
	noSSL := func(svc string) bool { return strings.EqualFold(c.Service(svc).Get("ssl"), "no") }
	if slices.Contains(protos, "imap") {
		inet("imap", "listen", "imap_port")
		if !noSSL("imaps") {
			inet("imaps", "listen", "imaps_port")
		}
	}
	if slices.Contains(protos, "pop3") {
		inet("pop3", "listen", "pop3_port")
		if !noSSL("pop3s") {
			inet("pop3s", "listen", "pop3s_port")
		}
	}
	if slices.Contains(protos, "sieve") {
		inet("sieve", "listen", "managesieve_port")
	}
	if slices.Contains(protos, "lmtp") {
		v := c.Service("lmtp")
		if p := v.Get("lmtp_unix_listener"); p != "" {
			out = append(out, listenSpec{"lmtp", "unix", p})
		}
		if a := v.Get("lmtp_inet_listener"); a != "" {
			out = append(out, listenSpec{"lmtp", "tcp", a})
		}
	}
	for _, a := range replicationListens(c, interfaces) {
		out = append(out, listenSpec{"doveadm", "tcp", a})
	}
	if p := c.Get("auth_client_listener"); p != "" {
		out = append(out, listenSpec{"auth", "unix", p})
	}
	return out
}

// interfaces maps Postfix's and Dovecot's interface words to addresses.
func interfaces(list []string) []string {
	var out []string
	for _, h := range list {
		switch strings.ToLower(h) {
		case "all", "*":
			h = "0.0.0.0"
		case "::":
			h = "::"
		case "localhost", "loopback-only":
			h = "127.0.0.1"
		}
		h = strings.Trim(h, "[]")
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// bindAll opens every listener or none: on the first failure the ones
// already open are closed and the error names the service and address.
func bindAll(specs []listenSpec, owner *account) ([]*bound, error) {
	var out []*bound
	fail := func(err error) ([]*bound, error) {
		closeAll(out)
		return nil, err
	}
	for _, s := range specs {
		if s.network == "unix" {
			l, err := listenUnix(s.addr, owner)
			if err != nil {
				return fail(fmt.Errorf("%s listener %s: %w", s.service, s.addr, err))
			}
			out = append(out, &bound{service: s.service, spec: s, l: l, unix: s.addr})
			continue
		}
		lc := net.ListenConfig{}
		if isSMTP(s.service) || s.service == "lmtp" {
			// No TCP keepalive on SMTP connections, as Postfix's smtpd
			// sets none, nor on LMTP ones (from an MTA on this host or
			// the next): the servers' timeouts end idle clients, and it
			// saves four setsockopt calls per connection (of some
			// seventy system calls for a one-message session).
			lc.KeepAlive = -1
		}
		l, err := lc.Listen(context.Background(), "tcp", s.addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return fail(fmt.Errorf("%s listener %s: address already in use (another server is running there; change %s)", s.service, s.addr, portParamOf(s.service)))
			}
			return fail(fmt.Errorf("%s listener: %w", s.service, err))
		}
		out = append(out, &bound{service: s.service, spec: s, l: l})
	}
	return out, nil
}

func portParamOf(service string) string {
	switch service {
	case "lmtp":
		return "lmtp_inet_listener"
	}
	return service + "_port"
}

// listenUnix opens a unix socket, replacing a stale socket file that
// nobody answers on, refusing one that a live server holds.
func listenUnix(path string, owner *account) (net.Listener, error) {
	l, err := iserve.ListenUnix(path)
	if err != nil {
		return nil, err
	}
	// Postfix's lmtp client runs as its own user: the socket is open to
	// local users, as Dovecot's lmtp listener is with mode 0666 behind a
	// private directory.
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		return nil, err
	}
	if owner != nil {
		os.Lchown(path, owner.uid, owner.gid)
	}
	return l, nil
}

func closeAll(bs []*bound) {
	for _, b := range bs {
		b.l.Close()
	}
}
