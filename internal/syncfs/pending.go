package syncfs

import (
	"context"
	"fmt"
	"os"
	"sync"
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

	q Group // Linger set on first Sync

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
		var err error
		if dev, err = Dev(dir); err != nil {
			return err
		}
	}
	p.mu.Lock()
	if p.devs == nil {
		p.devs = map[string]uint64{}
	}
	if len(p.devs) > 4096 {
		clear(p.devs) // bounded: looked up again
	}
	p.devs[dir] = dev
	p.noteLocked(dir, dev)
	p.mu.Unlock()
	return nil
}

// NoteDev is Note for a caller that knows dir's device number (Dev),
// looked up once per directory it writes to.
func (p *Pending) NoteDev(dir string, dev uint64) {
	p.mu.Lock()
	p.noteLocked(dir, dev)
	p.mu.Unlock()
}

func (p *Pending) noteLocked(dir string, dev uint64) {
	if p.dirs == nil {
		p.dirs = map[uint64]string{}
	}
	p.dirs[dev] = dir
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
	p.q.mu.Lock()
	p.q.Linger = Linger
	p.q.mu.Unlock()
	return p.q.Do(func() error {
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

// syncDev syncs file system dev, through SyncFS when set.
func (p *Pending) syncDev(dev uint64, dir string) error {
	if p.SyncFS != nil {
		return p.SyncFS(dev, dir)
	}
	return p.SyncDevice(dev, dir)
}

// SyncDevice syncs file system dev, which holds dir, through a
// directory kept open on it: what Sync does for each file system noted
// when SyncFS is not set (a test's SyncFS calls it to sync for real).
func (p *Pending) SyncDevice(dev uint64, dir string) error {
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
