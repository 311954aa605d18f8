package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/yubinmail/yubin/auth/privsep"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/queue"
)

// protoServer is what every protocol package's Server offers.
type protoServer interface {
	Serve(net.Listener) error
	Shutdown(ctx context.Context) error
}

// host is the running mail host.
type host struct {
	file  string // configuration file, "" for embedded defaults
	opts  *options
	cfg   *config.Config                // the configuration at start, for setup
	cur   atomic.Pointer[config.Config] // the current one, swapped by SIGHUP
	log   *slog.Logger
	m     *metrics
	certs certStore
	owner *account // nil unless started as root
	// authWorker runs PAM as root for a host started as root; nil
	// otherwise (authworker.go).
	authWorker *privsep.Client
	out        io.Writer
	errOut     io.Writer
	rs         reloadState // SIGHUP's: the log file, the listeners

	tlsConf  *tls.Config // the current certificate, ssl_min_protocol
	binds    []*bound
	running  map[string]protoServer // by service
	reloader []func(*config.Config) error
	closers  []io.Closer // closed after the listeners drained (stores kept open)
	queue    *queue.Queue
	// sieveChanged, when replication is on, queues a user whose Sieve
	// scripts ManageSieve changed (replication_sieve.go).
	sieveChanged func(user string)
	dry          bool // built by buildAll: nothing is written or started
}

// serve runs the host until SIGTERM or SIGINT. Every check that can fail
// runs before the first connection is accepted: on error nothing is left
// listening and the exit code is 1.
func serve(cfg *config.Config, file string, o *options, stdout, stderr io.Writer) int {
	h := &host{cfg: cfg, opts: o, m: newMetrics(), out: stdout, errOut: stderr, running: map[string]protoServer{}}
	h.cur.Store(cfg)
	if file != "(embedded defaults)" {
		h.file = file
	}
	sp := readStartParams(cfg)
	logw, logc, err := openMaillog(sp, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "fullserver: fatal: %v\n", err)
		return 1
	}
	logTo := h.rs.setLog(logw, logc)
	defer h.rs.logw.Close()
	if h.rs.logb != nil {
		defer h.rs.logb.Flush()
	}
	h.log = newLogger(logTo, sp.logFormat, sp.hostname, sp.syslogName)
	fail := func(err error) int {
		h.rs.flushLog()
		fmt.Fprintf(stderr, "fullserver: fatal: %v\n", err)
		closeAll(h.binds)
		return 1
	}

	if err := checkNotRunning(cfg); err != nil {
		return fail(err)
	}
	// As root: resolve mail_owner, make the data directory its own, read
	// root-only certificates, bind, then drop privileges before anything
	// touches mail.
	if os.Geteuid() == 0 {
		owner, warn, err := ensureOwner(cfg.Get("mail_owner"), cfg.IsSet("mail_owner"), func() (*account, string, error) { return ownerOf(cfg) }, createSystemUser)
		if err != nil {
			return fail(err)
		}
		if warn != "" {
			h.log.Warn(warn)
		}
		h.owner = owner
		if err := prepareDataDirAsRoot(cfg.Get("data_directory"), owner); err != nil {
			return fail(err)
		}
	}
	if err := checkCert(cfg); err != nil {
		return fail(err)
	}
	var preCert error
	if fileExists(firstOf(certFiles(cfg))) || !usesDefaultCert(cfg) {
		var cert, err = loadCert(cfg)
		if err != nil {
			return fail(err)
		}
		h.certs.cur.Store(cert)
	} else {
		preCert = errors.New("not yet made")
	}
	if h.owner == nil {
		if err := prepareData(cfg); err != nil {
			return fail(err)
		}
	}
	binds, err := bindAll(sp.listen, h.owner)
	if err != nil {
		return fail(err)
	}
	h.binds = binds
	var metricsL net.Listener
	if a := sp.metricsListen; a != "" {
		if metricsL, err = net.Listen("tcp", a); err != nil {
			return fail(fmt.Errorf("metrics listener %s: %w", a, err))
		}
		defer metricsL.Close()
	}
	if err := h.startAuthWorker(stderr); err != nil {
		return fail(err)
	}
	if h.owner != nil {
		prereadAuthConfs(cfg)
		if err := dropPrivileges(h.owner); err != nil {
			return fail(err)
		}
		if err := prepareData(cfg); err != nil {
			if errors.Is(err, os.ErrPermission) {
				err = fmt.Errorf("%w (running as mail_owner %s: the data directory and every directory above it must be open to that user)", err, h.owner.name)
			}
			return fail(err)
		}
	}
	if preCert != nil {
		cf, kf := certFiles(cfg)
		if err := makeSelfSigned(cf, kf, cfg.Get("myhostname")); err != nil {
			return fail(fmt.Errorf("making a self-signed certificate: %w", err))
		}
		cert, err := loadCert(cfg)
		if err != nil {
			return fail(err)
		}
		h.certs.cur.Store(cert)
		h.log.Info(fmt.Sprintf("made a self-signed certificate %s for %s", cf, cfg.Get("myhostname")))
	}
	pidf, err := writePIDFile(cfg)
	if err != nil {
		return fail(err)
	}
	defer pidf.remove()
	h.tlsConf = h.certs.tlsConfig(sp.minTLS)
	demo, err := h.setup()
	if err != nil {
		return fail(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if metricsL != nil {
		go serveMetrics(ctx, metricsL, h.m, h.log)
	}
	// "fullserver queue ..." talks to the running queue over a socket in
	// the queue directory (postqueue's and postsuper's way in).
	ctlL, err := queue.ListenControl(sp.queueSocket)
	if err != nil {
		return fail(fmt.Errorf("queue control socket: %w", err))
	}
	go queue.ServeControl(ctx, ctlL, h.queue, h.log.With("service", "postqueue"))
	for _, b := range h.binds {
		srv := h.running[b.service]
		if srv == nil {
			b.l.Close()
			continue
		}
		h.serveBind(b, srv)
	}

	// Signals are caught before the welcome text says the host runs, so
	// a SIGTERM sent at once still drains.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	h.printWelcome(demo, metricsL)
	for s := range sig {
		if s == syscall.SIGHUP {
			h.reload()
			continue
		}
		break
	}
	h.rs.stopping.Store(true)
	h.log.Info("terminating on signal, draining sessions")
	sctx, cancel := context.WithTimeout(context.Background(), sp.shutdownTimeout)
	defer cancel()
	// SMTP first: its sessions may still hand mail to our own LMTP
	// listener (mailbox_transport = lmtp:unix:$data_directory/lmtp.sock).
	for _, first := range []bool{true, false} {
		var sw sync.WaitGroup
		for svc, srv := range h.running {
			if isSMTP(svc) != first {
				continue
			}
			sw.Add(1)
			go func() {
				defer sw.Done()
				if err := srv.Shutdown(sctx); err != nil {
					h.log.Warn(fmt.Sprintf("%s: shutdown: %v", svc, err))
				}
			}()
		}
		sw.Wait()
	}
	stop()
	h.rs.wg.Wait()
	closeAll(h.binds)
	for _, c := range h.closers {
		c.Close()
	}
	h.log.Info("stopped")
	return 0
}

func isSMTP(service string) bool {
	return service == "smtp" || service == "submission" || service == "submissions"
}

func firstOf(a, _ string) string { return a }

// checkCert reports a missing certificate that the administrator named
// (the default one is made on first start).
func checkCert(cfg *config.Config) error {
	if usesDefaultCert(cfg) {
		return nil
	}
	cf, kf := certFiles(cfg)
	for _, f := range []struct{ param, path string }{{"certificate", cf}, {"key", kf}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("TLS %s %s: %w", f.param, f.path, err)
		}
	}
	return nil
}

// checkRuntime is "fullserver check" beyond the syntax: the files the
// configuration names must be there, and everything a start builds
// must build (buildAll). Every problem found is returned (checkAll).
func checkRuntime(cfg *config.Config) error {
	return joinErrors(checkAll(cfg))
}

// prepareDataDirAsRoot creates the data directory and gives it to the
// mail owner, as "postfix set-permissions" would.
func prepareDataDirAsRoot(dir string, owner *account) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == 0 {
		if err := os.Chown(dir, owner.uid, owner.gid); err != nil {
			return fmt.Errorf("data directory %s: %w", dir, err)
		}
	}
	return nil
}

// prepareData creates the data directory's layout and proves it is
// writable.
func prepareData(cfg *config.Config) error {
	dir := cfg.Get("data_directory")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	// What holds mail and keys is the mail owner's alone, as Dovecot
	// makes mail directories 0700 and files 0600.
	for _, d := range []string{filepath.Join(dir, "mail"), filepath.Join(dir, "tls"), filepath.Join(dir, "tmp"), filepath.Join(dir, "hold")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	f, err := os.CreateTemp(dir, ".write-test-")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// reload re-reads the configuration file, certificates, passwd-file and
// lookup tables; on any error the running configuration stays.
func (h *host) reload() {
	cfg, _, err := loadConfig(h.opts)
	if err != nil {
		h.log.Error("reload: configuration errors, keeping the running one:\n" + indent(err.Error()))
		return
	}
	if cert, err := loadCert(cfg); err != nil {
		h.log.Error("reload: " + err.Error() + "; keeping the running certificate")
	} else {
		h.certs.cur.Store(cert)
	}
	for _, r := range h.reloader {
		if err := r(cfg); err != nil {
			h.log.Error("reload: " + err.Error())
		}
	}
	h.cur.Store(cfg)
	if err := h.reopenLog(cfg); err != nil {
		h.log.Error("reload: " + err.Error())
	}
	for _, err := range h.rebind(cfg) {
		h.log.Error("reload: " + err.Error())
	}
	h.log.Info("reload: configuration, certificates, users and tables re-read")
}

// config returns the current configuration (sessions read it while
// SIGHUP replaces it).
func (h *host) config() *config.Config { return h.cur.Load() }
