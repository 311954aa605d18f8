package maildir

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Changes by other processes are noticed by an inotify watch on new/ and
// cur/ while any handle is open (or, without inotify, by polling every
// Options.PollInterval): the watcher syncs the mailbox, which signals
// the handles' Notify channels. Events caused by this Store's own renames
// and unlinks are recognised (noteOwn) and ignored, so a busy session
// does not make the watcher rescan a big folder. While inotify works,
// Poll rescans only when the watcher saw a foreign change.

// watchDebounce gathers a burst of file system events into one sync.
const watchDebounce = 20 * time.Millisecond

// maxOwnNotes bounds the set of expected self-caused events.
const maxOwnNotes = 4096

// noteOwn records that the file of x is about to appear or vanish
// through this Store, so the watcher can ignore the event (m.mu held).
func (m *mbox) noteOwn(x *msg) {
	if !m.inotifyActive {
		return
	}
	if m.own == nil || len(m.own) >= maxOwnNotes {
		m.own = map[string]int{}
	}
	m.own[x.sub()+"/"+x.name]++
}

// renameMsg renames x's file to c's (m.mu held).
func (m *mbox) renameMsg(x, c *msg) error {
	m.noteOwn(x)
	m.noteOwn(c)
	return os.Rename(m.path(x), m.path(c))
}

// removeFile unlinks x's file (m.mu held).
func (m *mbox) removeFile(x *msg) error {
	m.noteOwn(x)
	return os.Remove(m.path(x))
}

// startWatch starts the watcher (m.mu held).
func (m *mbox) startWatch() {
	stop := make(chan struct{})
	m.watchStop = stop
	var events <-chan struct{}
	var closeFn func()
	if !m.s.opts.NoInotify {
		events, closeFn = m.inotify()
	}
	m.inotifyActive = events != nil
	m.extDirty = true
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
			force := false
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
				force = true
			}
			m.mu.Lock()
			if m.watchStop == stop {
				m.syncLocked(context.Background(), force)
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
	m.inotifyActive = false
	m.own = nil
}

// inotify watches new/ and cur/ (and the folder itself for its deletion
// or renaming); it returns nil when inotify is unavailable. The channel
// receives a value for each batch of events with a foreign one in it.
func (m *mbox) inotify() (<-chan struct{}, func()) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, nil
	}
	mask := uint32(unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF)
	subs := map[int32]string{}
	for _, sub := range []string{"new", "cur", ""} {
		mk := mask
		if sub == "" {
			// The folder itself: its deletion or renaming, and
			// dovecot-keywords replaced (see setKeywords).
			mk = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_MOVED_TO
		}
		wd, err := unix.InotifyAddWatch(fd, filepath.Join(m.dir, sub), mk)
		if err != nil {
			unix.Close(fd)
			return nil, nil
		}
		subs[int32(wd)] = sub
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
			if m.foreignEvents(buf[:n], subs) {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch, func() { f.Close() }
}

// foreignEvents parses a batch of inotify events and reports whether any
// was not caused by this Store; it marks the folder dirty if so.
func (m *mbox) foreignEvents(buf []byte, subs map[int32]string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	foreign := false
	for len(buf) >= unix.SizeofInotifyEvent {
		wd := int32(binary.NativeEndian.Uint32(buf[0:]))
		mask := binary.NativeEndian.Uint32(buf[4:])
		nameLen := int(binary.NativeEndian.Uint32(buf[12:]))
		if unix.SizeofInotifyEvent+nameLen > len(buf) {
			foreign = true
			break
		}
		name := buf[unix.SizeofInotifyEvent : unix.SizeofInotifyEvent+nameLen]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		buf = buf[unix.SizeofInotifyEvent+nameLen:]
		sub, ok := subs[wd]
		if !ok || mask&(unix.IN_Q_OVERFLOW|unix.IN_DELETE_SELF|unix.IN_MOVE_SELF|unix.IN_IGNORED) != 0 {
			foreign = true
			continue
		}
		if sub == "" {
			if string(name) == keywordsFile {
				foreign = true
			}
			continue
		}
		key := sub + "/" + string(name)
		if c := m.own[key]; c > 0 {
			if c == 1 {
				delete(m.own, key)
			} else {
				m.own[key] = c - 1
			}
			continue
		}
		if len(name) > 0 && name[0] == '.' {
			continue
		}
		foreign = true
	}
	if foreign {
		m.extDirty = true
	}
	return foreign
}
