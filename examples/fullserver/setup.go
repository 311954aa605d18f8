package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/yubinmail/yubin/auth/dovecotauth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/pop3"
	"github.com/yubinmail/yubin/queue"
)

// demoUser is the account made on first start when the passwd file is
// empty.
type demoUser struct{ name, password string }

// setup makes the demo user when needed and builds the protocol servers
// for h.binds from h.cfg. A dry host (buildAll) makes no user and
// starts no queue.
func (h *host) setup() (*demoUser, error) {
	var demo *demoUser
	var err error
	if !h.dry {
		if demo, err = ensureDemoUser(h.cfg); err != nil {
			return nil, err
		}
	}
	c := h.cfg
	if err := checkSizeLimits(c); err != nil {
		return nil, err
	}
	u, err := newUsersWith(c, h.log, h.authWorker)
	if err != nil {
		return nil, err
	}
	base, err := openStores(c, u, h.log)
	if err != nil {
		return nil, err
	}
	stores, err := h.withReplication(c, u, base)
	if err != nil {
		return nil, err
	}
	authn, err := newAuthService(c, u, h.log)
	if err != nil {
		return nil, err
	}
	metered := &meteredAuth{a: authn, m: h.m, log: h.log}
	deliver := &lmtp.StoreDeliverer{
		Users:         u,
		Stores:        stores,
		Delimiter:     c.Get("recipient_delimiter"),
		DetailMailbox: c.Bool("lmtp_save_to_detail_mailbox"),
	}
	// The queue's local deliveries skip the per-message fsyncs: the
	// queue keeps its synced copy until one syncfs (shared by concurrent
	// deliveries) has made them durable. The LMTP listener's deliverer
	// syncs each message before its 250.
	queueDeliver := &lmtp.StoreDeliverer{
		Users:         u,
		Stores:        stores,
		Delimiter:     c.Get("recipient_delimiter"),
		DetailMailbox: c.Bool("lmtp_save_to_detail_mailbox"),
		NoSync:        true,
		// A user's store stays open between deliveries, as the
		// Backend keeps it for IMAP and POP3.
		KeepOpen: storeKeepOpen,
	}
	sieveLMTP := h.withSieve(c, u, stores, deliver)
	q, err := h.newQueue(c, h.withSieve(c, u, stores, queueDeliver))
	if err != nil {
		return nil, err
	}
	if !h.dry {
		if err := q.Start(); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		h.m.watchQueue(q)
	}
	h.queue = q
	// The queue first (its deliveries use the stores), then the LMTP
	// deliverer's kept stores, then the Backend's.
	h.closers = append(h.closers, q)
	// Then the transports' kept connections.
	seen := map[io.Closer]bool{}
	for _, t := range q.Transports {
		if w, ok := t.(*arcSealTransport); ok {
			t = w.next
		}
		if c, ok := t.(*queue.SMTPTransport); ok && !seen[c] {
			seen[c] = true
			h.closers = append(h.closers, c)
		}
	}
	h.closers = append(h.closers, queueDeliver, deliver, stores)
	h.reloader = append(h.reloader, func(*config.Config) error {
		if u.passwd != nil {
			return u.passwd.Reload()
		}
		return nil
	})
	for _, b := range h.binds {
		if h.running[b.service] != nil {
			continue
		}
		v := c.Service(b.service)
		log := serviceLog(h.log, v)
		switch b.service {
		case "smtp", "submission", "submissions":
			srv, err := h.newSMTP(v, metered, u, deliver, q)
			if err != nil {
				return nil, err
			}
			if b.service != "smtp" {
				srv.BURL = newBURL(stores, u) // burl.go
			}
			h.running[b.service] = srv
		case "imap", "imaps":
			h.running[b.service] = &imap.Server{
				TLSConfig:            dovecotTLS(v, h.tlsConf),
				Authenticator:        metered,
				Backend:              stores,
				Logger:               log,
				MaxUserIPConnections: int(v.Int("mail_max_userip_connections")),
				CommandHook:          h.m.commandHook(b.service),
				LogoutHook:           imapLogoutLine(h.log),
				// message_size_limit = 0 means no limit, as in Postfix.
				AppendLimit:              noLimitIfZero(v.Int("message_size_limit")),
				MaxConnections:           int(v.Int("process_limit")),
				LoginMaxConnectionsPerIP: int(v.Int("login_max_connections_per_ip")),
				MaxMailboxes:             int(v.Int("mailbox_list_limit")),
				Metadata:                 newIMAPMetadata(u),
				ACL:                      withSharedDict(v, newIMAPACL(u)),
				URLAuth:                  newIMAPURLAuth(u),
				Shared:                   newIMAPShared(v, u), // imapshared.go
			}
		case "pop3", "pop3s":
			h.running[b.service] = &pop3.Server{
				TLSConfig:     dovecotTLS(v, h.tlsConf),
				Authenticator: metered,
				Credentials:   u.passwd,
				Backend:       stores,
				Logger:        log,
				Hostname:      v.Get("myhostname"),
				UIDLFormat:    v.Get("pop3_uidl_format"),
				LockSession:   v.Bool("pop3_lock_session"),
				NoFlagUpdates: v.Bool("pop3_no_flag_updates"),
				CommandHook:   h.m.commandHook(b.service),
				LogoutHook:    pop3LogoutLine(h.log),

				MaxUserIPConnections:     int(v.Int("mail_max_userip_connections")),
				MaxConnections:           int(v.Int("process_limit")),
				LoginMaxConnectionsPerIP: int(v.Int("login_max_connections_per_ip")),
			}
		case "sieve":
			srv, err := h.newManageSieve(v, metered, u, log)
			if err != nil {
				return nil, err
			}
			h.running[b.service] = srv
		case "auth":
			// Dovecot's auth-client socket: an external Postfix with
			// smtpd_sasl_type = dovecot authenticates against our users.
			// Its logins are not this host's IMAP/POP3 logins: no
			// login-process line (Dovecot's auth process writes none).
			socketAuth := &meteredAuth{a: metered.a, m: metered.m}
			h.running[b.service] = &dovecotauth.Server{Authenticator: socketAuth, UserDB: u, Logger: log}
		case "lmtp":
			h.running[b.service] = &lmtp.Server{
				Hostname:        v.Get("myhostname"),
				TLSConfig:       dovecotTLS(v, h.tlsConf),
				Deliverer:       &meteredDeliverer{d: sieveLMTP, m: h.m},
				MaxMessageBytes: v.Int("message_size_limit"),
				Logger:          log,
				CommandHook:     h.m.commandHook(b.service),
			}
		}
		if implicitTLS(v, b.service) {
			b.tls = true
		}
	}
	return demo, nil
}

// dovecotTLS is the TLS configuration of the IMAP, POP3 and LMTP
// listeners: none with Dovecot's ssl = no (no STARTTLS, and no imaps
// or pop3s listener: see listenSpecs).
func dovecotTLS(v *config.Config, conf *tls.Config) *tls.Config {
	if strings.EqualFold(v.Get("ssl"), "no") {
		return nil
	}
	return conf
}

// checkSizeLimits refuses a mailbox_size_limit below message_size_limit,
// as Postfix's local(8) does: mail the SMTP server takes could never be
// delivered.
func checkSizeLimits(c *config.Config) error {
	box, msg := c.Int("mailbox_size_limit"), c.Int("message_size_limit")
	if box == 0 || msg <= box {
		return nil
	}
	where := c.Pos("mailbox_size_limit").String()
	if where == "" {
		where = c.Pos("message_size_limit").String()
	}
	if where != "" {
		where += ": "
	}
	return fmt.Errorf("%smailbox_size_limit (%d) is smaller than message_size_limit (%d)", where, box, msg)
}

// noLimitIfZero maps Postfix's "0 means no limit" to the -1 of the
// protocol servers' fields.
func noLimitIfZero(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// implicitTLS reports whether a listener speaks TLS from the first byte:
// submissions (smtpd_tls_wrappermode = yes), imaps and pop3s.
func implicitTLS(v *config.Config, service string) bool {
	switch service {
	case "imaps", "pop3s":
		return true
	case "smtp", "submission", "submissions":
		return v.Bool("smtpd_tls_wrappermode")
	}
	return false
}

func trustedNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.Trim(s, "[]")
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("login_trusted_networks: %q is not a network", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
