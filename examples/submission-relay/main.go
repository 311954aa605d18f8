// Command submission-relay is the null client of seed 003 (section 2.3,
// "forward all mail to a mail relay"): an SMTP server for the machines
// of one network that delivers nothing itself and relays every message
// it accepts to one relayhost, with SASL credentials when the relay
// wants them. It is Postfix with
//
//	mydestination =
//	relayhost = [smtp.example.com]:587
//	inet_interfaces = loopback-only
//	mynetworks = 127.0.0.0/8, [::1]/128
//	local_transport = error: local delivery disabled
//	smtp_sasl_auth_enable = yes
//	smtp_sasl_password_maps = ...
//
// written as a Go program: smtp.Server in front, queue.Queue with
// queue.SMTPTransport behind. A client gets 250 only once the message
// is on disk in the queue; the queue retries the relayhost and returns
// undeliverable mail to its sender.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/yubinmail/yubin/queue"
	"github.com/yubinmail/yubin/smtp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:2525", "address to accept mail on (loopback only, as inet_interfaces = loopback-only)")
	mynetworks := flag.String("mynetworks", "127.0.0.0/8, ::1/128", "clients allowed to send (comma-separated networks)")
	relayhost := flag.String("relayhost", "", "the relay: [host]:port (no MX lookup) or host (MX lookup); required")
	dir := flag.String("queue", "./relay-queue", "queue directory")
	hostname := flag.String("hostname", "", "this host's name (myhostname; default: the system's)")
	tlsLevel := flag.String("tls", "may", "smtp_tls_security_level toward the relay: none, may, encrypt, verify, secure")
	caFile := flag.String("ca-file", "", "smtp_tls_CAfile: CA certificates to verify the relay with")
	passwordFile := flag.String("sasl-password-file", "", "a file holding user:password for the relay (smtp_sasl_password_maps)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*listen, *mynetworks, *relayhost, *dir, *hostname, *tlsLevel, *caFile, *passwordFile, log); err != nil {
		fmt.Fprintln(os.Stderr, "submission-relay:", err)
		os.Exit(1)
	}
}

func run(listen, mynetworks, relayhost, dir, hostname, tlsLevel, caFile, passwordFile string, log *slog.Logger) error {
	if relayhost == "" {
		return errors.New("-relayhost is required")
	}
	nets, err := parseNetworks(mynetworks)
	if err != nil {
		return err
	}
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	relay := &queue.SMTPTransport{Hostname: hostname, TLSLevel: queue.TLSLevel(tlsLevel), Logger: log}
	if caFile != "" {
		if relay.RootCAs, err = queue.LoadRootCAs(caFile, ""); err != nil {
			return err
		}
	}
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return err
		}
		cred := strings.TrimSpace(string(b))
		// One credential, for the relayhost whatever name it is looked
		// up by.
		relay.SASL = func(ctx context.Context, key string) (string, bool, error) { return cred, true, nil }
	}
	defer relay.Close()
	q := &queue.Queue{
		Dir:        dir,
		Hostname:   hostname,
		Transports: map[string]queue.Transport{"relay": relay},
		// Every recipient goes to the relayhost, the sender's bounces too.
		Router: queue.RouterFunc(func(ctx context.Context, addr string) (string, string, error) {
			return "relay", relayhost, nil
		}),
		Logger: log,
	}
	if err := q.Start(); err != nil {
		return err
	}
	defer q.Close()

	srv := &smtp.Server{
		Hostname: hostname,
		Logger:   log,
		Backend: smtp.BackendFunc(func(ctx context.Context, c *smtp.ConnInfo) (smtp.Session, error) {
			if !allowed(nets, c.RemoteAddr) {
				return nil, &smtp.Error{Code: 554, Enhanced: smtp.Enhanced{5, 7, 1}, Message: "Access denied: not in mynetworks"}
			}
			return smtp.DataFunc(func(ctx context.Context, env *smtp.Envelope, msg io.Reader) error {
				return enqueue(ctx, q, env, msg)
			}), nil
		}),
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	log.Info(fmt.Sprintf("relaying mail from %s on %s to %s", mynetworks, l.Addr(), relayhost))
	fmt.Printf("listening on %s\n", l.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return err
	}
	return nil
}

// enqueue hands an accepted message to the queue; 250 goes out only
// when it returns nil.
func enqueue(ctx context.Context, q *queue.Queue, env *smtp.Envelope, msg io.Reader) error {
	qe := &queue.Envelope{
		ID: env.QueueID, From: env.From, Arrival: env.Received,
		Ret: env.MailOpts.Ret, EnvID: env.MailOpts.EnvID, Body: env.MailOpts.Body, UTF8: env.MailOpts.UTF8,
		Client: queue.Client{Helo: env.Conn.Helo, Protocol: "ESMTP"},
	}
	for _, r := range env.To {
		qe.Recipients = append(qe.Recipients, queue.Recipient{Addr: r.Addr, Notify: r.Opts.Notify, ORcpt: r.Opts.ORcpt})
	}
	if _, err := q.Enqueue(ctx, qe, msg); err != nil {
		return &smtp.Error{Code: 451, Enhanced: smtp.Enhanced{4, 3, 0}, Message: "Error: queue file write error"}
	}
	return nil
}

func parseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		f = strings.NewReplacer("[", "", "]", "").Replace(f)
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("mynetworks: %q is not a network", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

func allowed(nets []netip.Prefix, a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return false
	}
	for _, p := range nets {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}
