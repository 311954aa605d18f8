package sdbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// hub is the in-process state shared by the handles of one mailbox: the
// writers' mutex (the log's fcntl lock keeps other processes out, the
// mutex this one's goroutines), the handles to notify, and a cache of
// what the immutable u.N files say.
type hub struct {
	s   *Store
	dir string // the dbox-Mails directory

	mu sync.Mutex // held by this process's writer of the log

	qmu     sync.Mutex // guards queue and leading (group.go)
	queue   []*appendReq
	leading bool

	hmu     sync.Mutex
	handles map[*Mailbox]struct{}
	stop    chan struct{}

	metaMu sync.Mutex
	metaUV uint32
	meta   map[uint32]*msgMeta
	// metaNew are the UIDs whose facts were read from their files since
	// the cache (metacache.go) was last written; metaOnDisk counts its
	// records.
	metaNew    []uint32
	metaOnDisk int

	tempOnce sync.Once // cleanTemps

	// last is where this process's last group commit left the log
	// (guarded by mu): the next one starts from it when nobody wrote
	// since, without reading the log (group.go).
	last *commitTip

	// rotateStop, set by tests, ends a rotation once its new log is in
	// place, before dovecot.index is written, as a crash there would.
	rotateStop error

	// logf is dovecot.index.log kept open between transactions while
	// the mailbox has handles (lockLog), logIno and logDev its file;
	// logGen counts the descriptors kept. dirf is dbox-Mails kept open
	// with it for the group commit's directory fsync; dirSyncs counts
	// the fsyncs running. All guarded by mu.
	logf           *os.File
	logIno, logDev uint64
	logGen         uint64
	dirf           *os.File
	dirSyncs       sync.WaitGroup
	// logCreated is the kept log's create_stamp, read when logGen was
	// logCreatedGen (rotate.go).
	logCreated    uint32
	logCreatedGen uint64
}

// commitTip is the log's end and the mailbox header there, as a group
// commit left them.
type commitTip struct {
	ino    uint64
	seq    uint32
	end    int
	hdr    [baseHeaderSize]byte
	modseq uint64
	// logGen is hub.logGen when the commit was made with the kept
	// descriptor, 0 otherwise: while it is unchanged, the log at ino
	// has stayed open and cannot be another file with a reused inode.
	logGen uint64
}

// hubFor returns the hub of a dbox-Mails directory.
func (s *Store) hubFor(dir string) *hub {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hubs[dir]
	if h == nil {
		h = &hub{s: s, dir: dir, handles: map[*Mailbox]struct{}{}, meta: map[uint32]*msgMeta{}}
		s.hubs[dir] = h
	}
	return h
}

func (h *hub) register(mb *Mailbox) {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	h.handles[mb] = struct{}{}
	if h.stop == nil {
		h.stop = make(chan struct{})
		go h.watch(h.stop)
	}
}

func (h *hub) unregister(mb *Mailbox) {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	delete(h.handles, mb)
	if len(h.handles) == 0 && h.stop != nil {
		close(h.stop)
		h.stop = nil
	}
	if len(h.handles) == 0 {
		// The last handle is gone: close the kept log, now or, when a
		// transaction holds mu, once it ends (abort closes it too,
		// unless a new handle came meanwhile).
		go func() {
			h.mu.Lock()
			if !h.inUse() {
				h.dropLog()
			}
			h.mu.Unlock()
		}()
	}
}

// inUse reports whether the mailbox has handles.
func (h *hub) inUse() bool {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	return len(h.handles) > 0
}

// signal wakes every handle but except.
func (h *hub) signal(except *Mailbox) {
	h.hmu.Lock()
	defer h.hmu.Unlock()
	for mb := range h.handles {
		if mb != except {
			mb.wake()
		}
	}
}

// logStamp identifies the state of the log file (and whether the
// mailbox still exists).
type logStamp struct {
	ino, size uint64
	mtime     int64
	missing   bool
}

func (h *hub) stamp() logStamp {
	fi, err := os.Stat(filepath.Join(h.dir, logName))
	if err != nil {
		return logStamp{missing: true}
	}
	st := logStamp{size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st
}

// watch notices changes made by other processes (Dovecot) and wakes the
// handles.
func (h *hub) watch(stop chan struct{}) {
	t := time.NewTicker(h.s.opts.pollInterval())
	defer t.Stop()
	last := h.stamp()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if cur := h.stamp(); cur != last {
			last = cur
			h.signal(nil)
		}
	}
}

// metaOf returns what u.<uid> says about its message, read once per
// UIDVALIDITY. A missing or damaged file gives a msgMeta whose Damage
// says so.
func (h *hub) metaOf(uidValidity, uid uint32) *msgMeta {
	h.metaMu.Lock()
	if h.metaUV != uidValidity {
		h.metaUV = uidValidity
		h.meta = map[uint32]*msgMeta{}
		h.metaNew, h.metaOnDisk = nil, 0
		h.loadMetaCache(uidValidity)
	}
	m := h.meta[uid]
	h.metaMu.Unlock()
	if m != nil {
		return m
	}
	m = h.readMeta(uid)
	h.metaMu.Lock()
	if h.metaUV == uidValidity && h.meta[uid] == nil {
		h.meta[uid] = m
		if cacheable(m) {
			h.metaNew = append(h.metaNew, uid)
		}
	}
	h.metaMu.Unlock()
	return m
}

func (h *hub) filePath(uid uint32) string {
	return filepath.Join(h.dir, fmt.Sprintf("u.%d", uid))
}

func (h *hub) readMeta(uid uint32) *msgMeta {
	f, err := os.Open(h.filePath(uid))
	if err != nil {
		return &msgMeta{VSize: -1, Damage: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return &msgMeta{VSize: -1, Damage: err}
	}
	m, err := readMeta(f, fi.Size())
	if err != nil {
		h.s.opts.logger().Warn("sdbox: damaged message file", "file", f.Name(), "err", err)
		return &msgMeta{VSize: -1, Damage: err}
	}
	if m.Damage != nil {
		h.s.opts.logger().Warn("sdbox: damaged metadata", "file", f.Name(), "err", m.Damage)
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.SaveDate = time.Unix(sys.Ctim.Sec, sys.Ctim.Nsec)
	}
	if m.Received.IsZero() {
		m.Received = fi.ModTime()
	}
	if m.VSize < 0 {
		m.VSize = crlfSizeOf(f, m.Layout)
	}
	return m
}
