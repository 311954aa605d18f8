package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/replicate"
)

// Two-way replication with a partner server, as a Dovecot pair with
// the replicator and doveadm's dsync (seed 003 §1.4):
//
//	mail_replica = tcp:server2.example.com:12345
//	doveadm_port = 12345
//	doveadm_password = secret
//	replication_max_conns = 10
//	replication_full_sync_interval = 1 days
//
// doveadm_port is the listener the partner connects to (on
// inet_interfaces; empty or 0 = none). The connection uses TLS (this
// host's certificate) unless doveadm_ssl = no; the partner's
// certificate is verified against ssl_client_ca_file or
// ssl_client_ca_dir, else the system's roots.

var replicationParams = []config.Param{
	{Name: "mail_replica", Default: "", Check: checkReplica, Doc: "the partner server: tcp:HOST:PORT (or tcps:); empty: no replication"},
	{Name: "doveadm_password", Default: "", Doc: "the secret shared with the replication partner"},
	{Name: "doveadm_port", Default: "", Check: optPort, Doc: "port of the listener for the replication partner, on inet_interfaces; empty or 0: none"},
	{Name: "doveadm_inet_listener", Default: "", Check: optAddr, Doc: "yubin's own: one more host:port for the replication partner's listener (port 0: any free port, named in the start-up text)"},
	{Name: "doveadm_ssl", Default: "ssl", Check: oneOf("no", "ssl"), Doc: "ssl: replication connections use TLS (Dovecot's default is no)"},
	{Name: "replication_max_conns", Default: "10", Kind: config.Int, Doc: "users synced with the partner at once"},
	{Name: "replication_full_sync_interval", Default: "1 days", Check: checkDovecotInterval, Doc: "how often each user is synced in full"},
}

func checkReplica(v string) error {
	if v == "" {
		return nil
	}
	_, _, err := parseReplica(v)
	return err
}

// parseReplica reads tcp:HOST:PORT or tcps:HOST:PORT.
func parseReplica(v string) (addr string, tlsOn bool, err error) {
	scheme, rest, ok := strings.Cut(v, ":")
	if !ok || (scheme != "tcp" && scheme != "tcps") {
		return "", false, errors.New("want tcp:HOST:PORT or tcps:HOST:PORT")
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil || host == "" {
		return "", false, errors.New("want tcp:HOST:PORT or tcps:HOST:PORT")
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", false, errors.New("bad port")
	}
	return net.JoinHostPort(host, port), scheme == "tcps", nil
}

// parseDovecotInterval reads Dovecot's time values ("1 days", "30 mins",
// "10s") and Postfix's ("1d").
func parseDovecotInterval(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	num, unit := v, ""
	if i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		num, unit = v[:i], strings.TrimSpace(v[i:])
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a time interval")
	}
	var u time.Duration
	switch unit {
	case "", "s", "sec", "secs", "second", "seconds":
		u = time.Second
	case "m", "min", "mins", "minute", "minutes":
		u = time.Minute
	case "h", "hour", "hours":
		u = time.Hour
	case "d", "day", "days":
		u = 24 * time.Hour
	case "w", "week", "weeks":
		u = 7 * 24 * time.Hour
	default:
		return 0, errors.New("not a time interval")
	}
	if n > int64(1<<62)/int64(u) {
		return 0, errors.New("time interval too large")
	}
	return time.Duration(n) * u, nil
}

func checkDovecotInterval(v string) error { _, err := parseDovecotInterval(v); return err }

// replicationDir is where the sync states and the status file live.
func replicationDir(c *config.Config) string {
	return filepath.Join(c.Get("data_directory"), "replicator")
}

// replicationStop ends the replicator and the partner listener.
type replicationStop struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	srv    *replicate.Server
}

func (r *replicationStop) Close() error {
	if r.srv != nil {
		r.srv.Close()
	}
	r.cancel()
	r.wg.Wait()
	return nil
}

// withReplication starts the partner listener (doveadm_port) and the
// Replicator (mail_replica) when configured, and returns the Backend
// the protocols use: stores reports every change to the Replicator.
func (h *host) withReplication(c *config.Config, u *users, stores mailBackend) (mailBackend, error) {
	replica := c.Get("mail_replica")
	secret := c.Get("doveadm_password")
	useTLS := c.Get("doveadm_ssl") != "no"
	maxConns := int(c.Int("replication_max_conns"))
	full, err := parseDovecotInterval(c.Get("replication_full_sync_interval"))
	if err != nil {
		return nil, fmt.Errorf("replication_full_sync_interval: %w", err)
	}
	if replica == "" && len(replicationListens(c, interfaces)) == 0 {
		return stores, nil
	}
	if h.dry {
		return stores, nil
	}
	if secret == "" {
		// As Dovecot's doveadm server without doveadm_password: nothing
		// is replicated, and the log says why.
		h.log.Error("replication is off: mail_replica or doveadm_port is set but doveadm_password is empty")
		return stores, nil
	}
	dir := replicationDir(c)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("replication: %w", err)
	}
	log := h.log.With("service", "replicator")
	states := &replicate.StateStore{Dir: filepath.Join(dir, "state")}
	locks := &replicate.UserLocks{}
	stop := &replicationStop{}
	ctx, cancel := context.WithCancel(context.Background())
	stop.cancel = cancel
	srv := &replicate.Server{Backend: stores, States: states, Secret: secret, Locks: locks, Logger: log,
		MaxMessageSize: noLimitIfZero(c.Int("message_size_limit"))}
	sieve, _, err := userSieveStore(c, u)
	if err != nil {
		return nil, err
	}
	srv.Sieve = sieve
	if useTLS {
		srv.TLSConfig = h.tlsConf
	}
	// The listeners (listenSpecs: service doveadm) are served by the
	// host's accept loops.
	h.running["doveadm"] = srv
	stop.srv = srv
	h.closers = append(h.closers, stop)
	if replica == "" {
		return stores, nil
	}
	addr, tcps, _ := parseReplica(replica)
	// The partner's syncs continue the State this side's own syncs keep
	// (one State per user and partner, whichever side drives).
	srv.Partner = replica
	d := &replicate.Dialer{Addr: addr, Secret: secret, Partner: replica}
	if useTLS || tcps {
		tc, err := clientTLS(c, addr)
		if err != nil {
			cancel()
			return nil, err
		}
		d.TLSConfig = tc
	}
	rep := &replicate.Replicator{Backend: stores, States: states, Dialer: d, Partner: replica, Locks: locks,
		MaxConns: maxConns, FullSyncInterval: full, Sieve: sieve,
		StatusFile: filepath.Join(dir, "status.json"), Logger: log}
	if ul, ok := u.pass.(auth.UserLister); ok {
		rep.Users = ul.ListUsers
	}
	stop.wg.Add(1)
	go func() {
		defer stop.wg.Done()
		rep.Run(ctx)
	}()
	h.sieveChanged = func(user string) { rep.Notify(user, replicate.PriorityHigh) }
	w, ok := replicate.WatchBackend(stores, rep).(mailBackend)
	if !ok {
		cancel()
		return nil, errors.New("replication: the watched backend cannot be closed")
	}
	return w, nil
}

// replicationListens are the addresses of the partner's listener:
// doveadm_port on each of inet_interfaces, and doveadm_inet_listener.
func replicationListens(c *config.Config, ifaces func([]string) []string) []string {
	var out []string
	if p := c.Get("doveadm_port"); p != "" && p != "0" {
		for _, a := range ifaces(c.List("inet_interfaces")) {
			out = append(out, net.JoinHostPort(a, p))
		}
	}
	if a := c.Get("doveadm_inet_listener"); a != "" {
		out = append(out, a)
	}
	return out
}

// clientTLS is the TLS configuration toward the partner.
func clientTLS(c *config.Config, addr string) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(addr)
	tc := &tls.Config{ServerName: host, MinVersion: tlsVersion(c.Get("ssl_min_protocol"))}
	var pool *x509.CertPool
	if f := strings.TrimPrefix(c.Get("ssl_client_ca_file"), "<"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("ssl_client_ca_file: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ssl_client_ca_file %s: no certificate", f)
		}
	}
	if d := c.Get("ssl_client_ca_dir"); d != "" {
		if pool == nil {
			pool = x509.NewCertPool()
		}
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if pem, err := os.ReadFile(filepath.Join(d, e.Name())); err == nil {
				pool.AppendCertsFromPEM(pem)
			}
		}
	}
	tc.RootCAs = pool
	return tc, nil
}

// replicatorCommand is "fullserver replicator status [USERMASK]", which
// prints what `doveadm replicator status` prints, from the status file
// the running server writes.
func replicatorCommand(c *config.Config, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "status" || len(args) > 2 {
		fmt.Fprintln(stderr, "usage: fullserver replicator status [<user mask>]")
		return 2
	}
	snap, err := replicate.ReadStatusFile(filepath.Join(replicationDir(c), "status.json"))
	if errors.Is(err, os.ErrNotExist) {
		snap = replicate.Snapshot{Time: time.Now()}
	} else if err != nil {
		fmt.Fprintf(stderr, "fullserver: replicator status: %v\n", err)
		return 1
	}
	now := time.Now()
	snap.Time = now
	if len(args) == 1 {
		full, _ := parseDovecotInterval(c.Get("replication_full_sync_interval"))
		replicate.WriteOverview(stdout, snap.Overview(full))
		return 0
	}
	replicate.WriteUserStatus(stdout, now, snap.UserStatuses(args[1]))
	return 0
}
