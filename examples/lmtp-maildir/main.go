// Command lmtp-maildir is an LMTP delivery agent into Maildir for an
// existing Postfix, in Dovecot LMTP's place:
//
//	mailbox_transport = lmtp:unix:/run/yubin/lmtp.sock
//
// Recipients are system users (their ~/Maildir) or, with -passwd, the
// users of a Dovecot passwd-file with a mail location template.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

func main() {
	socket := flag.String("socket", "/run/yubin/lmtp.sock", "unix socket to listen on")
	listen := flag.String("listen", "", "TCP address to listen on instead (host:port)")
	mode := flag.Uint("mode", 0o666, "permission bits of the socket")
	passwd := flag.String("passwd", "", "Dovecot passwd-file of virtual users (default: system users)")
	location := flag.String("mail", "~/Maildir", "Maildir of each user: ~/Maildir, or a template such as /var/mail/%d/%n/Maildir")
	hostname := flag.String("hostname", "", "name in the banner and Received header (default: the host name)")
	delim := flag.String("delimiter", "+", "recipient_delimiter")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	// Who the recipients are, and where their mail goes.
	var users auth.UserDB
	localPart := false
	fields := map[string]string{"mail": "maildir:" + *location}
	if *passwd != "" {
		users = &auth.PasswdFile{Path: *passwd, DefaultFields: fields, Logger: log}
	} else {
		users = &auth.SystemUserDB{Fields: fields}
		localPart = true // alice@example.jp is the system user alice
	}
	stores := maildir.NewBackend(func(ctx context.Context, name string) (string, error) {
		u, err := users.LookupUser(ctx, name)
		if errors.Is(err, auth.ErrUnknownUser) {
			return "", store.ErrNoSuchUser
		}
		if err != nil {
			return "", err
		}
		return maildirOf(u)
	}, maildir.Options{Logger: log, AutoMailboxes: store.DefaultAutoMailboxes()})

	srv := &lmtp.Server{
		Hostname: *hostname,
		Deliverer: &lmtp.StoreDeliverer{
			Users: users, Stores: stores, Delimiter: *delim, LocalPartOnly: localPart,
		},
		Logger: log,
	}
	var l net.Listener
	var err error
	if *listen != "" {
		l, err = net.Listen("tcp", *listen)
	} else {
		os.MkdirAll(filepath.Dir(*socket), 0o755)
		l, err = lmtp.ListenUnix(*socket, os.FileMode(*mode), "", "")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lmtp-maildir:", err)
		os.Exit(1)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	log.Info("lmtp-maildir listening", "addr", l.Addr().String())
	if err := srv.Serve(l); err != nil && !errors.Is(err, lmtp.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "lmtp-maildir:", err)
		os.Exit(1)
	}
}

// maildirOf turns a userdb record's "maildir:PATH" into a directory,
// with ~ as the user's home.
func maildirOf(u *auth.User) (string, error) {
	p := strings.TrimPrefix(u.MailLocation, "maildir:")
	if i := strings.IndexByte(p, ':'); i >= 0 {
		p = p[:i] // options such as :LAYOUT=fs
	}
	if strings.Contains(p, "%") {
		x, err := auth.Expand(p, auth.Vars{"user": u.Name, "home": u.Home}, nil)
		if err != nil {
			return "", err
		}
		p = x
	}
	if rest, ok := strings.CutPrefix(p, "~"); ok {
		if u.Home == "" {
			return "", fmt.Errorf("user %s has no home for %s", u.Name, u.MailLocation)
		}
		p = filepath.Join(u.Home, rest)
	}
	return p, nil
}
