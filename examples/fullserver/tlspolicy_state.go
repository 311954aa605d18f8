package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/internal/atomicfile"
	"github.com/yubinmail/yubin/tlspolicy"
)

// tlsPolicyState keeps the MTA-STS policy cache and the TLS-RPT counts
// of the period in queue_directory/tlspolicy (mta-sts.json,
// tlsrpt.json) across restarts: read at start, written every minute,
// after a report is queued and at shutdown. A crash within a minute of
// a report may count that report's sessions again in the next one.
type tlsPolicyState struct {
	dir string
	p   *tlspolicy.Policy
	log *slog.Logger
	mu  sync.Mutex // one save at a time
}

const tlsStateInterval = time.Minute

// keepTLSPolicyState loads the saved state into p and keeps it saved
// until the host stops (nothing is started for a configuration check).
func (h *host) keepTLSPolicyState(c *config.Config, p *tlspolicy.Policy, log *slog.Logger) *tlsPolicyState {
	if h.dry || (p.STS == nil && p.Recorder == nil) {
		return nil
	}
	st := &tlsPolicyState{dir: filepath.Join(queueDir(c), "tlspolicy"), p: p, log: log}
	st.load()
	stop := every(tlsStateInterval, func(context.Context) { st.save() })
	h.closers = append(h.closers, closerFunc(func() error {
		stop()
		st.save()
		return nil
	}))
	return st
}

// every runs fn every d in a goroutine until the returned function is
// called; that function waits for a run under way to end.
func every(d time.Duration, fn func(context.Context)) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(d)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				fn(ctx)
			}
		}
	}()
	return func() error {
		cancel()
		<-done
		return nil
	}
}

func (st *tlsPolicyState) load() {
	for name, load := range st.loaders() {
		f, err := os.Open(filepath.Join(st.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = load(f)
			f.Close()
		}
		if err != nil {
			st.log.Warn("TLS policy state not restored", "file", name, "error", err.Error())
		}
	}
}

func (st *tlsPolicyState) loaders() map[string]func(*os.File) error {
	m := map[string]func(*os.File) error{}
	if st.p.STS != nil {
		m["mta-sts.json"] = func(f *os.File) error { return st.p.STS.Load(f) }
	}
	if st.p.Recorder != nil {
		m["tlsrpt.json"] = func(f *os.File) error { return st.p.Recorder.Load(f) }
	}
	return m
}

// save writes the state; failures are logged.
func (st *tlsPolicyState) save() {
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		st.log.Warn("TLS policy state not saved", "error", err.Error())
		return
	}
	savers := map[string]func(*bytes.Buffer) error{}
	if st.p.STS != nil {
		savers["mta-sts.json"] = func(b *bytes.Buffer) error { return st.p.STS.Save(b) }
	}
	if st.p.Recorder != nil {
		savers["tlsrpt.json"] = func(b *bytes.Buffer) error { return st.p.Recorder.Save(b) }
	}
	for name, save := range savers {
		var b bytes.Buffer
		err := save(&b)
		if err == nil {
			err = atomicfile.Write(filepath.Join(st.dir, name), b.Bytes(), 0o600, atomicfile.NoOwner)
		}
		if err != nil {
			st.log.Warn("TLS policy state not saved", "file", name, "error", err.Error())
		}
	}
}
