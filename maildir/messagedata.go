package maildir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/yubinmail/yubin/store"
)

// Message data (store.MessageDataStore) live in "yubin-msgdata" in each
// folder: data a protocol derives from a message (IMAP's SORT keys), so
// that a restarted server need not read every message again. Dovecot
// never reads the file; losing it only costs re-deriving.
//
// Layout (little-endian): "YBMD", version u32 (1), UIDVALIDITY u32; then
// records appended one after the other: length u32 of what follows the
// checksum, CRC-32C u32 of those bytes, UID u32, name length u8, name,
// data. A record whose length runs past the end or whose checksum fails
// (a write torn by a crash) ends the file: it is cut there before the
// next append. A file of another UIDVALIDITY is started again. A later
// record for the same UID and name replaces an earlier one. When at
// least half of the records are stale (their message expunged, or
// replaced) the file is rewritten with the live ones (temporary file,
// fsync, rename) when it is next loaded.
//
// Records are appended without fsync: the data can always be derived
// again. Processes sharing a folder append under an exclusive flock of
// the file, each after reading what the others appended (see
// lockLocked), so none overwrites another's records.

const (
	msgDataFile    = "yubin-msgdata"
	msgDataMagic   = "YBMD"
	msgDataHeader  = 12
	maxMsgDataName = store.MaxMessageDataName
	// maxMsgDataRecord bounds one record (a longer one ends the file as
	// corrupt, and SetMessageData refuses data that would make one).
	maxMsgDataRecord = 1 << 20
	// msgDataRewriteMin is the fewest records worth a rewrite.
	msgDataRewriteMin = 1024
	// msgDataBulk is the number of records above which MessageData reads
	// the whole file at once rather than record by record.
	msgDataBulk = 256
	// msgDataBulkBytes bounds the file size read whole.
	msgDataBulkBytes = 64 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

var _ store.MessageDataStore = (*handle)(nil)

// msgData is a folder's message-data file as loaded.
type msgData struct {
	mu          sync.Mutex
	uidValidity uint32
	f           *os.File // nil when there is no file yet (or not opened)
	size        int64    // bytes of valid records read (0: not read yet)
	records     int
	// idx locates the data of each live message, by name then UID.
	idx map[string]map[uint32]dataLoc
}

type dataLoc struct {
	off int64
	n   uint32
}

func checkMsgDataName(name string) error {
	if !store.ValidMessageDataName(name) {
		return fmt.Errorf("maildir: message data name %q: not 1 to %d bytes of printable ASCII", name, store.MaxMessageDataName)
	}
	return nil
}

// live returns the folder's UIDVALIDITY and whether uid is one of its
// messages (uid 0: just the UIDVALIDITY).
func (m *mbox) live(uid uint32) (uint32, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := searchUID(m.msgs, uid)
	return m.uidValidity, i < len(m.msgs) && m.msgs[i].uid == uid
}

// liveSet returns the folder's UIDVALIDITY and its UIDs.
func (m *mbox) liveSet() (uint32, map[uint32]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := make(map[uint32]bool, len(m.msgs))
	for _, x := range m.msgs {
		set[x.uid] = true
	}
	return m.uidValidity, set
}

// Several processes (or Stores) may share a folder's file. Writers hold
// an exclusive flock on it while they append, cut a torn tail, start
// the file again or replace it (a rewrite renames a new file over it,
// the old one still locked); each first catches up with what the others
// appended. Readers take no lock: they read records up to the first one
// not yet whole (a writer's append in progress ends their scan, and the
// next look continues from there), and open the file again when it was
// replaced.

// resetLocked forgets what was read of the file.
func (d *msgData) resetLocked(uv uint32) {
	d.closeLocked()
	d.uidValidity, d.size, d.records = uv, 0, 0
	d.idx = map[string]map[uint32]dataLoc{}
}

// currentLocked reports whether d.f is still the folder's file, with
// d.f's FileInfo.
func (d *msgData) currentLocked(path string) (os.FileInfo, bool) {
	fi, err := d.f.Stat()
	if err != nil {
		return nil, false
	}
	pi, err := os.Stat(path)
	return fi, err == nil && os.SameFile(fi, pi)
}

// loadLocked brings the index up to the file (d.mu held): read at
// first, then what other writers appended; opened again when replaced
// or when the folder's UIDVALIDITY changed. A file half stale is
// rewritten.
func (d *msgData) loadLocked(m *mbox) error {
	path := filepath.Join(m.dir, msgDataFile)
	if uv, _ := m.live(0); d.idx == nil || uv != d.uidValidity {
		d.resetLocked(uv)
	} else if d.f != nil {
		if _, ok := d.currentLocked(path); !ok {
			d.resetLocked(uv)
		}
	}
	if d.f == nil {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		d.f = f
	}
	fi, err := d.f.Stat()
	if err != nil {
		return err
	}
	if err := d.catchUpLocked(m, fi, false); err != nil {
		return err
	}
	if n := d.liveLocked(); d.records >= msgDataRewriteMin && d.records-n >= n {
		if err := d.lockLocked(m); err != nil {
			return err
		}
		defer d.unlockLocked()
		if n := d.liveLocked(); d.records >= msgDataRewriteMin && d.records-n >= n {
			return d.rewriteLocked(m)
		}
	}
	return nil
}

// catchUpLocked indexes the records after d.size (all of them when the
// file shrank). locked: the caller holds the file's flock, and a torn
// tail is cut and a file of another UIDVALIDITY started again.
func (d *msgData) catchUpLocked(m *mbox, fi os.FileInfo, locked bool) error {
	if fi.Size() < d.size {
		f := d.f
		d.f = nil
		d.resetLocked(d.uidValidity)
		d.f = f
	}
	if d.size == 0 {
		head := make([]byte, msgDataHeader)
		if _, err := d.f.ReadAt(head, 0); err != nil || !bytes.Equal(head, msgDataHead(d.uidValidity)) {
			if !locked {
				return nil // empty, or another UIDVALIDITY: nothing to read
			}
			return d.startLocked()
		}
		d.size = msgDataHeader
	}
	if fi.Size() == d.size {
		return nil
	}
	// A whole file is checked against the folder's UIDs at once; a
	// tail another process appended, record by record.
	isLive := func(uid uint32) bool { _, ok := m.live(uid); return ok }
	if d.size == msgDataHeader {
		_, live := m.liveSet()
		isLive = func(uid uint32) bool { return live[uid] }
	}
	end, records, err := scanMsgRecords(io.NewSectionReader(d.f, d.size, fi.Size()-d.size), d.size, func(uid uint32, name string, off int64, n uint32) {
		if !isLive(uid) {
			return
		}
		byUID := d.idx[name]
		if byUID == nil {
			byUID = map[uint32]dataLoc{}
			d.idx[name] = byUID
		}
		byUID[uid] = dataLoc{off, n}
	})
	if err != nil {
		return err
	}
	d.size, d.records = end, d.records+records
	if locked && fi.Size() > end {
		return d.f.Truncate(end)
	}
	return nil
}

// lockLocked takes the file's exclusive flock (creating the file) and
// catches up with it; a file replaced meanwhile is opened again.
func (d *msgData) lockLocked(m *mbox) error {
	path := filepath.Join(m.dir, msgDataFile)
	for try := 0; ; try++ {
		if d.f == nil {
			f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return err
			}
			d.f = f
		}
		if err := flockFile(d.f, syscall.LOCK_EX); err != nil {
			return err
		}
		fi, ok := d.currentLocked(path)
		if ok {
			if err := d.catchUpLocked(m, fi, true); err != nil {
				d.unlockLocked()
				return err
			}
			return nil
		}
		d.unlockLocked()
		if try == 10 {
			return fmt.Errorf("maildir: %s keeps being replaced", path)
		}
		d.resetLocked(d.uidValidity)
	}
}

func (d *msgData) unlockLocked() {
	if d.f != nil {
		flockFile(d.f, syscall.LOCK_UN)
	}
}

// flockFile is flock(2), retried when a signal interrupts it.
func flockFile(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			return err
		}
	}
}

// liveLocked counts the indexed records.
func (d *msgData) liveLocked() int {
	n := 0
	for _, byUID := range d.idx {
		n += len(byUID)
	}
	return n
}

func (d *msgData) closeLocked() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
}

// startLocked empties the locked file down to the header of d's
// UIDVALIDITY.
func (d *msgData) startLocked() error {
	if err := d.f.Truncate(0); err != nil {
		return err
	}
	if _, err := d.f.WriteAt(msgDataHead(d.uidValidity), 0); err != nil {
		return err
	}
	d.size, d.records = msgDataHeader, 0
	d.idx = map[string]map[uint32]dataLoc{}
	return nil
}

func msgDataHead(uv uint32) []byte {
	h := make([]byte, msgDataHeader)
	copy(h, msgDataMagic)
	binary.LittleEndian.PutUint32(h[4:], 1)
	binary.LittleEndian.PutUint32(h[8:], uv)
	return h
}

// scanMsgData reads a message-data file of UIDVALIDITY uv, calling fn
// for each good record with the offset and length of its data, and
// returns the length of the good prefix (0 when the header is not one
// of uv) and the number of records in it.
func scanMsgData(r io.Reader, uv uint32, fn func(uid uint32, name string, off int64, n uint32)) (int64, int, error) {
	head := make([]byte, msgDataHeader)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, msgDataHead(uv)) {
		return 0, 0, nil
	}
	return scanMsgRecords(r, msgDataHeader, fn)
}

// scanMsgRecords reads records starting at file offset off, calling fn
// for each good one, and returns where the good ones end and how many
// there are.
func scanMsgRecords(r io.Reader, off int64, fn func(uid uint32, name string, off int64, n uint32)) (int64, int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	records := 0
	var pre [8]byte
	buf := make([]byte, 0, 4096)
	for {
		if _, err := io.ReadFull(br, pre[:]); err != nil {
			return off, records, nil // end, or a torn length
		}
		n := binary.LittleEndian.Uint32(pre[:4])
		if n < 5 || n > maxMsgDataRecord {
			return off, records, nil
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return off, records, nil
		}
		if crc32.Checksum(buf, crcTable) != binary.LittleEndian.Uint32(pre[4:]) {
			return off, records, nil
		}
		uid := binary.LittleEndian.Uint32(buf)
		nl := int(buf[4])
		if nl == 0 || nl > maxMsgDataName || 5+nl > int(n) {
			return off, records, nil
		}
		name := string(buf[5 : 5+nl])
		dataOff := off + 8 + 5 + int64(nl)
		fn(uid, name, dataOff, n-5-uint32(nl))
		off += 8 + int64(n)
		records++
	}
}

// appendRecord builds one record.
func appendMsgDataRecord(b []byte, uid uint32, name string, data []byte) []byte {
	n := 5 + len(name) + len(data)
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uid)
	b = append(b, byte(len(name)))
	b = append(b, name...)
	b = append(b, data...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+8:], crcTable))
	return b
}

// rewriteLocked writes the live records to a new file that replaces the
// old one.
func (d *msgData) rewriteLocked(m *mbox) error {
	path := filepath.Join(m.dir, msgDataFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	bw.Write(msgDataHead(d.uidValidity))
	off := int64(msgDataHeader)
	idx := map[string]map[uint32]dataLoc{}
	records := 0
	var rec []byte
	for name, byUID := range d.idx {
		nidx := make(map[uint32]dataLoc, len(byUID))
		idx[name] = nidx
		for uid, loc := range byUID {
			data := make([]byte, loc.n)
			if _, err := d.f.ReadAt(data, loc.off); err != nil {
				return fail(err)
			}
			rec = appendMsgDataRecord(rec[:0], uid, name, data)
			if _, err := bw.Write(rec); err != nil {
				return fail(err)
			}
			nidx[uid] = dataLoc{off + int64(len(rec)-len(data)), loc.n}
			off += int64(len(rec))
			records++
		}
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	// The old file stays locked until the new one, locked too, is in
	// its place: writers waiting for the old one then find it replaced.
	if err := flockFile(f, syscall.LOCK_EX); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	d.closeLocked()
	d.f, d.size, d.records, d.idx = f, off, records, idx
	return nil // the caller unlocks the new d.f
}

// MessageData implements store.MessageDataStore.
func (h *handle) MessageData(ctx context.Context, uids store.UIDSet, name string, fn func(uid uint32, data []byte) error) error {
	if err := h.check(); err != nil {
		return err
	}
	if err := checkMsgDataName(name); err != nil {
		return err
	}
	type hit struct {
		uid uint32
		loc dataLoc
	}
	d := &h.m.data
	d.mu.Lock()
	if err := d.loadLocked(h.m); err != nil {
		d.mu.Unlock()
		return err
	}
	byUID := d.idx[name]
	var hits []hit
	for _, x := range h.view {
		if uids != nil && !uids.Contains(x.uid) {
			continue
		}
		if loc, ok := byUID[x.uid]; ok {
			hits = append(hits, hit{x.uid, loc})
		}
	}
	if len(hits) == 0 {
		d.mu.Unlock()
		return nil
	}
	var whole []byte
	var err error
	datas := make([][]byte, len(hits))
	if len(hits) > msgDataBulk && d.size <= msgDataBulkBytes {
		whole = make([]byte, d.size)
		_, err = d.f.ReadAt(whole, 0)
		for i, ht := range hits {
			if err == nil {
				datas[i] = whole[ht.loc.off : ht.loc.off+int64(ht.loc.n)]
			}
		}
	} else {
		for i, ht := range hits {
			datas[i] = make([]byte, ht.loc.n)
			if _, err = d.f.ReadAt(datas[i], ht.loc.off); err != nil {
				break
			}
		}
	}
	d.mu.Unlock()
	if err != nil {
		return err
	}
	for i, ht := range hits {
		if i&1023 == 1023 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(ht.uid, datas[i]); err != nil {
			return err
		}
	}
	return nil
}

// SetMessageData implements store.MessageDataStore.
func (h *handle) SetMessageData(ctx context.Context, uid uint32, name string, data []byte) error {
	if err := h.check(); err != nil {
		return err
	}
	if err := checkMsgDataName(name); err != nil {
		return err
	}
	if 8+5+len(name)+len(data) > maxMsgDataRecord {
		return fmt.Errorf("maildir: message data %q of UID %d: over %d bytes", name, uid, maxMsgDataRecord)
	}
	if _, ok := h.m.live(uid); !ok {
		return fmt.Errorf("maildir: UID %d: %w", uid, store.ErrNoSuchMessage)
	}
	d := &h.m.data
	d.mu.Lock()
	defer d.mu.Unlock()
	// lockLocked catches up with the file (a half-stale file is
	// rewritten when next read).
	if uv, _ := h.m.live(0); d.idx == nil || uv != d.uidValidity {
		d.resetLocked(uv)
	}
	if err := d.lockLocked(h.m); err != nil {
		return err
	}
	defer d.unlockLocked()
	rec := appendMsgDataRecord(nil, uid, name, data)
	if _, err := d.f.WriteAt(rec, d.size); err != nil {
		// Cut what may have been written, so the next record follows
		// the good ones.
		d.f.Truncate(d.size)
		return err
	}
	byUID := d.idx[name]
	if byUID == nil {
		byUID = map[uint32]dataLoc{}
		d.idx[name] = byUID
	}
	byUID[uid] = dataLoc{d.size + int64(len(rec)-len(data)), uint32(len(data))}
	d.size += int64(len(rec))
	d.records++
	return nil
}
