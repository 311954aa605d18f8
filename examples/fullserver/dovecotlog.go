package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/yubinmail/yubin/auth"
)

// dovecotLoginService is the login process Dovecot names in its login
// line, by listener.
func dovecotLoginService(service string) string {
	switch service {
	case "imap", "imaps":
		return "imap-login"
	case "pop3", "pop3s":
		return "pop3-login"
	case "sieve":
		return "managesieve-login"
	}
	return ""
}

// dovecotLoginLine logs a successful IMAP, POP3 or ManageSieve login as
// Dovecot's login processes do, for the tools that read those lines:
//
//	imap-login: Login: user=<alice@example.jp>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1, mpid=4242, TLS, session=<hE3Yl8wKAQAAAQ==>
//
// "TLS" for a TLS connection, "secured" for one from the server's own
// address, as Dovecot marks them. A LOGIN command or USER/PASS is
// method=PLAIN, as in Dovecot.
func dovecotLoginLine(log *slog.Logger, c *auth.ConnInfo, mech string, id *auth.Identity) {
	if log == nil || c == nil || id == nil {
		return
	}
	proc := dovecotLoginService(c.Service)
	if proc == "" {
		return
	}
	rip, lip := hostOf(c.RemoteAddr), hostOf(c.LocalAddr)
	sec := ""
	switch {
	case c.TLS != nil:
		sec = ", TLS"
	case rip != "" && rip == lip:
		sec = ", secured"
	}
	log.Info(fmt.Sprintf("%s: Login: user=<%s>, method=%s, rip=%s, lip=%s, mpid=%d%s, session=<%s>",
		proc, id.User, mech, rip, lip, os.Getpid(), sec, dovecotSessionID(c)))
}

func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}
