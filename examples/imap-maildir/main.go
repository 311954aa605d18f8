// Command imap-maildir serves one user's existing Maildir (~/Maildir)
// over IMAP, for reading a mail spool with any IMAP client.
//
//	IMAP_PASSWORD=secret go run ./examples/imap-maildir -maildir ~/Maildir -user me
package main

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// onePassword is a passdb of a single user.
type onePassword struct{ user, password string }

func (p onePassword) Authenticate(_ context.Context, user, password string) (*auth.Identity, error) {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(p.user))
	w := subtle.ConstantTimeCompare([]byte(password), []byte(p.password))
	if u&w != 1 {
		return nil, auth.ErrAuthFailed
	}
	return &auth.Identity{User: p.user}, nil
}

func main() {
	home, _ := os.UserHomeDir()
	dir := flag.String("maildir", filepath.Join(home, "Maildir"), "the Maildir to serve")
	user := flag.String("user", os.Getenv("USER"), "login name")
	listen := flag.String("listen", "127.0.0.1:1143", "address to listen on")
	cert := flag.String("cert", "", "TLS certificate (PEM) for STARTTLS; without it only loopback logins work")
	key := flag.String("key", "", "TLS key (PEM)")
	flag.Parse()
	password := os.Getenv("IMAP_PASSWORD")
	if password == "" || *user == "" {
		fmt.Fprintln(os.Stderr, "imap-maildir: set IMAP_PASSWORD and -user")
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	// The one user's Maildir; Dovecot can keep serving it too.
	stores := maildir.NewBackend(func(_ context.Context, name string) (string, error) {
		if name != *user {
			return "", store.ErrNoSuchUser
		}
		return *dir, nil
	}, maildir.Options{Logger: log})

	srv := &imap.Server{
		// Plaintext LOGIN is allowed over TLS and from loopback only.
		Authenticator: &auth.Service{PassDB: onePassword{*user, password}, Logger: log},
		Backend:       stores,
		Logger:        log,
	}
	if *cert != "" {
		c, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			fmt.Fprintln(os.Stderr, "imap-maildir:", err)
			os.Exit(1)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{c}, MinVersion: tls.VersionTLS12}
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "imap-maildir:", err)
		os.Exit(1)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	log.Info("imap-maildir serving", "maildir", *dir, "user", *user, "addr", l.Addr().String())
	if err := srv.Serve(l); err != nil && !errors.Is(err, imap.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "imap-maildir:", err)
		os.Exit(1)
	}
}
