package syncfs

import (
	"context"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Linger is how long a Sync batch gathers callers before its syncfs:
// callers that arrive meanwhile share it (maildir's choice, measured
// there: at ten SMTP sessions of local mail, a syncfs otherwise served
// 1.2 deliveries).
const Linger = 5 * time.Millisecond

// Pending is the set of file systems written to without fsync since the
// last Sync. The zero value is ready to use; it must not be copied.
type Pending struct {
	mu   sync.Mutex
	dirs map[uint64]string // st_dev -> a directory on it
	devs map[string]uint64 // directory -> st_dev, looked up once

	q group

	fsmu sync.Mutex
	fs   map[uint64]*os.File // a directory kept open per file system

	// SyncFS, when set, replaces the syncfs of the file system dev
	// that holds dir (tests count calls).
	SyncFS func(dev uint64, dir string) error
}

// Note records that something was written into dir (a file created or
// renamed there, or written to) without fsync. Call it after the last
// change: a Sync that takes the note starts its syncfs afterwards.
func (p *Pending) Note(dir string) error {
	p.mu.Lock()
	dev, ok := p.devs[dir]
	p.mu.Unlock()
	if !ok {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		st, sok := fi.Sys().(*syscall.Stat_t)
		if !sok {
			return fmt.Errorf("syncfs: no device number for %s", dir)
		}
		dev = uint64(st.Dev)
	}
	p.mu.Lock()
	if p.devs == nil {
		p.devs = map[string]uint64{}
		p.dirs = map[uint64]string{}
	}
	if len(p.devs) > 4096 {
		clear(p.devs) // bounded: looked up again
	}
	p.devs[dir] = dev
	if p.dirs == nil {
		p.dirs = map[uint64]string{}
	}
	p.dirs[dev] = dir
	p.mu.Unlock()
	return nil
}

// Sync makes durable everything noted before the call.
func (p *Pending) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	empty := len(p.dirs) == 0 && !p.q.active()
	p.mu.Unlock()
	if empty {
		return nil
	}
	return p.q.run(func() error {
		p.mu.Lock()
		dirs := p.dirs
		p.dirs = nil
		p.mu.Unlock()
		var first error
		for dev, dir := range dirs {
			if err := p.syncDev(dev, dir); err != nil {
				// The next batch tries this file system again.
				p.mu.Lock()
				if p.dirs == nil {
					p.dirs = map[uint64]string{}
				}
				if _, ok := p.dirs[dev]; !ok {
					p.dirs[dev] = dir
				}
				p.mu.Unlock()
				if first == nil {
					first = fmt.Errorf("sync the file system of %s: %w", dir, err)
				}
			}
		}
		return first
	})
}

// Close closes the directories kept open for syncfs.
func (p *Pending) Close() error {
	p.fsmu.Lock()
	defer p.fsmu.Unlock()
	for dev, f := range p.fs {
		f.Close()
		delete(p.fs, dev)
	}
	return nil
}

// syncDev syncs file system dev through a directory kept open on it.
func (p *Pending) syncDev(dev uint64, dir string) error {
	if p.SyncFS != nil {
		return p.SyncFS(dev, dir)
	}
	p.fsmu.Lock()
	f := p.fs[dev]
	if f == nil {
		var err error
		if f, err = os.Open(dir); err != nil {
			p.fsmu.Unlock()
			return err
		}
		if p.fs == nil {
			p.fs = map[uint64]*os.File{}
		}
		p.fs[dev] = f
	}
	p.fsmu.Unlock()
	return syncFS(f)
}
