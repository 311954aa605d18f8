package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/yubinmail/yubin/config"
)

// reloadState is what SIGHUP changes in a running host beyond the
// configuration: the log file and the listeners.
type reloadState struct {
	logw     *reopenWriter
	logb     *batchWriter   // logw's lines gathered (logbatch.go); nil for syslog
	wg       sync.WaitGroup // one per serving listener
	stopping atomic.Bool    // SIGTERM: a listener that stops is no error
	mu       sync.Mutex
	retired  map[net.Listener]bool // closed by a reload: no error either
}

// reopenWriter is the log's writer; SIGHUP re-opens maillog_file, so
// that logrotate can move the old file away (Postfix's postlogd does the
// same on "postfix reload").
type reopenWriter struct {
	mu sync.Mutex
	w  io.Writer
	c  io.Closer // nil for standard error
}

func (r *reopenWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w.Write(p)
}

// setLog makes w (closed by c) the log's reopenable writer and returns
// what the logger writes to: the lines gathered in a batchWriter, or,
// for the syslog daemon, where each line is a datagram of its own, the
// reopenWriter itself.
func (rs *reloadState) setLog(w io.Writer, c io.Closer) io.Writer {
	rs.logw = &reopenWriter{w: w, c: c}
	if _, ok := w.(*syslogWriter); ok {
		return rs.logw
	}
	rs.logb = newBatchWriter(rs.logw, logBatchDelay)
	return rs.logb
}

// syslog returns the syslog daemon's writer when the log goes there
// (log_format = syslog without maillog_file), else nil.
func (r *reopenWriter) syslog() *syslogWriter {
	r.mu.Lock()
	defer r.mu.Unlock()
	sl, _ := r.w.(*syslogWriter)
	return sl
}

// swap makes w the writer and closes the old one.
func (r *reopenWriter) swap(w io.Writer, c io.Closer) {
	r.mu.Lock()
	old := r.c
	r.w, r.c = w, c
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// Close closes the current file.
func (r *reopenWriter) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		return r.c.Close()
	}
	return nil
}

// reopenLog opens maillog_file of cfg anew. The log format and the
// program name stay those of the start.
func (h *host) reopenLog(cfg *config.Config) error {
	if h.rs.logw == nil {
		return nil
	}
	sp := readStartParams(cfg)
	w, c, err := openMaillog(sp, h.out, h.errOut)
	if err != nil {
		return fmt.Errorf("maillog_file: %w; logging to the old file", err)
	}
	h.rs.flushLog() // the lines logged so far go to the old file
	h.rs.logw.swap(w, c)
	return nil
}

// serveBind serves one bound listener with its service's server until
// the listener is closed.
func (h *host) serveBind(b *bound, srv protoServer) {
	h.rs.wg.Add(1)
	go func() {
		defer h.rs.wg.Done()
		l := net.Listener(newCountingListener(b.l, b.service, h.m))
		if b.tls {
			l = tls.NewListener(l, h.tlsConf)
		}
		err := srv.Serve(l)
		h.rs.mu.Lock()
		retired := h.rs.retired[b.l]
		h.rs.mu.Unlock()
		if err != nil && !h.rs.stopping.Load() && !retired {
			h.log.Error(fmt.Sprintf("%s listener %s stopped: %v", b.service, b.l.Addr(), err))
		}
	}()
}

// rebind applies cfg's listeners: a listener the configuration no longer
// asks for is closed (its sessions go on), a new one is opened. A
// listener for a service the host did not start at all (a protocol added
// to protocols) needs a restart, and so does a privileged port after
// privileges were dropped: both are returned as errors, all of them,
// and the other changes are made.
func (h *host) rebind(cfg *config.Config) []error {
	want := listenSpecs(cfg)
	var errs []error
	var keep []*bound
	for _, b := range h.binds {
		if slices.Contains(want, b.spec) {
			keep = append(keep, b)
			continue
		}
		h.rs.mu.Lock()
		if h.rs.retired == nil {
			h.rs.retired = map[net.Listener]bool{}
		}
		h.rs.retired[b.l] = true
		h.rs.mu.Unlock()
		b.l.Close()
		h.log.Info(fmt.Sprintf("reload: %s: stopped listening on %s", b.service, b.l.Addr()))
	}
	for _, s := range want {
		if slices.ContainsFunc(keep, func(b *bound) bool { return b.spec == s }) {
			continue
		}
		srv := h.running[s.service]
		if srv == nil {
			errs = append(errs, fmt.Errorf("%s listener %s: the %s service was not started; restart to add it", s.service, s.addr, s.service))
			continue
		}
		nb, err := bindAll([]listenSpec{s}, h.owner)
		if err != nil {
			if h.owner != nil && errors.Is(err, os.ErrPermission) {
				err = fmt.Errorf("%w (privileges were dropped after the start; restart to bind it)", err)
			}
			errs = append(errs, err)
			continue
		}
		b := nb[0]
		b.tls = implicitTLS(cfg.Service(s.service), s.service)
		keep = append(keep, b)
		h.serveBind(b, srv)
		h.log.Info(fmt.Sprintf("reload: %s: listening on %s", b.service, b.l.Addr()))
	}
	h.binds = keep
	return errs
}
