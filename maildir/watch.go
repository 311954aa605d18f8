package maildir

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Changes by other processes are noticed by an inotify watch on new/ and
// cur/ while any handle is open (or, without inotify, by polling every
// Options.PollInterval): the watcher syncs the mailbox, which signals
// the handles' Notify channels.

// watchDebounce gathers a burst of file system events into one sync.
const watchDebounce = 20 * time.Millisecond

// startWatch starts the watcher (m.mu held).
func (m *mbox) startWatch() {
	stop := make(chan struct{})
	m.watchStop = stop
	var events <-chan struct{}
	var closeFn func()
	if !m.s.opts.NoInotify {
		events, closeFn = m.inotify(stop)
	}
	go func() {
		if closeFn != nil {
			defer closeFn()
		}
		var tick <-chan time.Time
		if events == nil {
			t := time.NewTicker(m.s.opts.pollInterval())
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-stop:
				return
			case <-tick:
			case _, ok := <-events:
				if !ok {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(watchDebounce):
				}
			}
			m.mu.Lock()
			if m.watchStop == stop {
				m.syncLocked(context.Background(), false)
			}
			m.mu.Unlock()
		}
	}()
}

// stopWatch stops the watcher (m.mu held).
func (m *mbox) stopWatch() {
	if m.watchStop != nil {
		close(m.watchStop)
		m.watchStop = nil
	}
}

// inotify watches new/, cur/ and the folder itself (dovecot-uidlist
// rewrites); it returns nil when inotify is unavailable.
func (m *mbox) inotify(stop chan struct{}) (<-chan struct{}, func()) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, nil
	}
	mask := uint32(unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF)
	for _, d := range []string{filepath.Join(m.dir, "new"), filepath.Join(m.dir, "cur"), m.dir} {
		if _, err := unix.InotifyAddWatch(fd, d, mask|unix.IN_CLOSE_WRITE); err != nil {
			unix.Close(fd)
			return nil, nil
		}
	}
	f := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			if err != nil || n <= 0 {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch, func() { f.Close() }
}
