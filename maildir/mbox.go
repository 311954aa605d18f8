package maildir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yubinmail/yubin/internal/syncfs"
	"github.com/yubinmail/yubin/store"
)

// msg is what yubin keeps about one message. Records are immutable once
// published in mbox.msgs (a change makes a new record), except date,
// which is filled in lazily.
type msg struct {
	uid    uint32
	sys    store.SystemFlags
	inNew  bool
	kw     uint32 // keyword letters
	name   string // file name in new/ or cur/
	size   int64  // physical size
	vsize  int64  // RFC822.SIZE
	modseq uint64
	date   atomic.Int64 // internal date (file mtime), unix nanoseconds; 0 = not yet known
}

func (m *msg) base() string {
	if i := strings.IndexByte(m.name, ':'); i >= 0 {
		return m.name[:i]
	}
	return m.name
}

func (m *msg) clone() *msg {
	c := &msg{uid: m.uid, sys: m.sys, inNew: m.inNew, kw: m.kw, name: m.name, size: m.size, vsize: m.vsize, modseq: m.modseq}
	c.date.Store(m.date.Load())
	return c
}

func (m *msg) sub() string {
	if m.inNew {
		return "new"
	}
	return "cur"
}

// event is one entry of a mailbox's change log.
type event struct {
	kind   store.ChangeKind
	uid    uint32
	m      *msg
	modseq uint64
	origin *handle
}

// mbox is the state of one mailbox shared by every handle of a Store.
type mbox struct {
	s    *Store
	name string
	dir  string
	dev  atomic.Uint64 // the file system's device number + 1, 0 until known

	mu              sync.Mutex
	loaded          bool
	loadedFromIndex bool // the first sync trusted yubin-index (loadFromIndex)
	gone            bool

	uidValidity uint32
	nextUID     uint32
	header      uidlistHeader
	// uidlist file as last read: inode and bytes consumed.
	ulIno uint64
	ulOff int64
	// pending holds dovecot-uidlist records whose files were not seen yet.
	pending    map[string]uint32
	pendingBig bool // pending was filled from a whole file

	msgs          []*msg // ascending UID
	kw            atomic.Pointer[keywordList]
	highestModSeq uint64
	recentUpTo    uint32 // UIDs above are not yet claimed as \Recent

	newStamp, curStamp dirStamp

	commits commitQueue  // deliveries waiting to be committed together
	syncNew syncfs.Group // fsyncs of new/ shared by late-UID deliveries
	syncCur syncfs.Group // ... of cur/

	tail    *logNode // last entry of the change log
	handles map[*handle]struct{}

	watchStop     chan struct{}
	inotifyActive bool           // the watcher sees every foreign change
	extDirty      bool           // it saw one since the last sync
	own           map[string]int // expected self-caused events (sub/name)

	cache      cacheState
	datesDirty atomic.Bool // internal dates were read since the index was written
	// indexWritten is when yubin-index was last written and
	// indexRecent the recentUpTo it holds (m.mu held).
	indexWritten time.Time
	indexRecent  uint32

	dirs msgDirs // cur/ and new/ descriptors while handles are open
	data msgData // yubin-msgdata (messagedata.go)

	fullScans int // syncs that listed cur/ as well as new/ (for tests)
}

// dirStamp tells whether a directory may have changed since a scan.
type dirStamp struct {
	mtime   int64
	scanned int64
}

func newMbox(s *Store, name, dir string) *mbox {
	m := &mbox{s: s, name: name, dir: dir, handles: map[*handle]struct{}{}, pending: map[string]uint32{}, tail: &logNode{}}
	m.kw.Store(&keywordList{})
	return m
}

func (m *mbox) isGone() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gone
}

// markGone ends the mailbox: handles see ChangeDeleted.
func (m *mbox) markGone() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return
	}
	m.gone = true
	m.emit(event{kind: store.ChangeDeleted})
}

func (m *mbox) path(x *msg) string { return filepath.Join(m.dir, x.sub(), x.name) }

// find returns the index of uid in msgs, or -1.
func findUID(msgs []*msg, uid uint32) int {
	i := sort.Search(len(msgs), func(i int) bool { return msgs[i].uid >= uid })
	if i < len(msgs) && msgs[i].uid == uid {
		return i
	}
	return -1
}

// insertMsg inserts or replaces x in msgs by UID.
func insertMsg(msgs []*msg, x *msg) []*msg {
	i := sort.Search(len(msgs), func(i int) bool { return msgs[i].uid >= x.uid })
	if i < len(msgs) && msgs[i].uid == x.uid {
		msgs[i] = x
		return msgs
	}
	if i == len(msgs) {
		return append(msgs, x)
	}
	msgs = append(msgs, nil)
	copy(msgs[i+1:], msgs[i:])
	msgs[i] = x
	return msgs
}

func removeMsg(msgs []*msg, uid uint32) ([]*msg, bool) {
	i := findUID(msgs, uid)
	if i < 0 {
		return msgs, false
	}
	copy(msgs[i:], msgs[i+1:])
	msgs[len(msgs)-1] = nil
	return msgs[:len(msgs)-1], true
}

// logNode is one entry of a mailbox's change log. The log is a singly
// linked list shared by every handle: the mailbox holds its tail, and
// each handle holds its own cursor, the last node it has read. Entries
// that no cursor can reach any more (every handle has read them) are
// freed by the garbage collector, so the log needs no trimming pass:
// emitting an event costs O(1) plus one signal per handle, and a Poll
// costs O(entries it reads), however many handles are open.
type logNode struct {
	ev   event
	info *store.MessageInfo // made once for every handle (see handle.nodeInfo)
	next *logNode
}

// emit appends an event to the log and signals every handle but origin.
func (m *mbox) emit(ev event) {
	if len(m.handles) == 0 {
		return
	}
	n := &logNode{ev: ev}
	m.tail.next = n
	m.tail = n
	for h := range m.handles {
		if h != ev.origin {
			h.signal()
		}
	}
}

func (m *mbox) nextModSeq() uint64 {
	m.highestModSeq++
	m.cache.dirty = true
	m.reserveModSeq()
	return m.highestModSeq
}

// statusLocked computes the mailbox's current status.
func (m *mbox) statusLocked() store.MailboxStatus {
	st := store.MailboxStatus{UIDValidity: m.uidValidity, UIDNext: m.nextUID, HighestModSeq: m.highestModSeq, Messages: uint32(len(m.msgs))}
	for _, x := range m.msgs {
		if x.sys&store.Seen == 0 {
			st.Unseen++
		}
		if x.sys&store.Deleted != 0 {
			st.Deleted++
		}
		if x.uid > m.recentUpTo {
			st.Recent++
		}
		st.Size += x.vsize
	}
	if st.UIDNext == 0 {
		st.UIDNext = 1
	}
	return st
}

func newMailboxGUID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// saveTime returns the time encoded at the start of a Dovecot-style base
// name ("<secs>.M<usecs>..."), or zero.
func saveTime(base string) time.Time {
	dot := strings.IndexByte(base, '.')
	if dot <= 0 {
		return time.Time{}
	}
	secs, err := strconv.ParseInt(base[:dot], 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}
	}
	rest := base[dot+1:]
	var usec int64
	if strings.HasPrefix(rest, "M") {
		end := 1
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		usec, _ = strconv.ParseInt(rest[1:end], 10, 64)
	}
	return time.Unix(secs, usec*1000)
}

// ensureLoaded reads the mailbox the first time it is needed (m.mu held).
func (m *mbox) ensureLoaded(ctx context.Context) error {
	if m.gone {
		return fmt.Errorf("maildir: %s: %w", m.name, store.ErrMailboxGone)
	}
	if !m.loaded {
		return m.syncLocked(ctx, true)
	}
	return nil
}
