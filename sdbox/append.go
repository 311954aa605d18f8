package sdbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/yubinmail/yubin/store"
	"golang.org/x/sys/unix"
)

// counter counts bytes and bare LFs written through it.
type counter struct {
	n, bareLF int64
	lastCR    bool
}

func (c *counter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	bare := bytes.Count(p, []byte{'\n'}) - bytes.Count(p, []byte("\r\n"))
	if c.lastCR && p[0] == '\n' {
		bare--
	}
	c.bareLF += int64(bare)
	c.lastCR = p[len(p)-1] == '\r'
	c.n += int64(len(p))
	return len(p), nil
}

// crlfSizeOf counts a body's size with bare LFs as CRLF.
func crlfSizeOf(r io.ReaderAt, l fileLayout) int64 {
	var c counter
	io.Copy(&c, io.NewSectionReader(r, l.BodyOffset, l.BodySize))
	return c.n + c.bareLF
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// inMemory is the size up to which a message is held in memory and
// written to its file in one write.
const inMemory = 128 << 10

var memPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// tempFile is a message written to a temporary file in dbox-Mails:
// unnamed (f, tmpfile.go) or named (path).
type tempFile struct {
	f        *rawFile
	path     string
	size     int64 // body bytes
	vsize    int64
	guid     string
	received time.Time
}

// writeTemp writes r as a complete u.N file under a temporary name,
// fsynced unless noSync, as Dovecot's .temp.<host>.<pid>... files.
func (h *hub) writeTemp(r io.Reader, received time.Time, noSync bool) (*tempFile, error) {
	return h.writeTempGUID(r, received, noSync, "")
}

// writeTempGUID is writeTemp with the message's GUID given (a
// replicator's copy, replica.go); "" makes a new one.
func (h *hub) writeTempGUID(r io.Reader, received time.Time, noSync bool, guid string) (*tempFile, error) {
	s := h.s
	now := time.Now()
	if received.IsZero() {
		received = now
	}
	var path string
	f := s.openUnnamed(h.dir)
	if f == nil {
		path = filepath.Join(h.dir, fmt.Sprintf(".temp.%s.%d.%d.%d", s.host, os.Getpid(), now.UnixNano(), s.seq.Add(1)))
		var err error
		f, err = openRaw(path, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o600)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("sdbox: %w", store.ErrMailboxGone)
			}
			return nil, fmt.Errorf("sdbox: %w", err)
		}
		s.chown(path)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			if path != "" {
				os.Remove(path)
			}
		}
	}()
	var src io.Reader = r
	if s.opts.MaxMessageSize > 0 {
		src = io.LimitReader(r, s.opts.MaxMessageSize+1)
	}
	// A message up to inMemory bytes is written in one write, its size
	// in the header; a bigger one streams, and its header is written
	// again once the size is known.
	head := fileHeaderBytes(now, 0)
	mb := memPool.Get().(*bytes.Buffer)
	defer func() {
		if mb.Cap() <= 4*inMemory {
			mb.Reset()
			memPool.Put(mb)
		}
	}()
	mb.Reset()
	mb.Write(head)
	if _, err := mb.ReadFrom(io.LimitReader(src, inMemory+1)); err != nil {
		return nil, fmt.Errorf("sdbox: read message: %w", err)
	}
	var c counter
	c.Write(mb.Bytes()[len(head):])
	whole := c.n <= inMemory
	if !whole {
		w := writerPool.Get().(*bufio.Writer)
		w.Reset(f)
		defer func() {
			w.Reset(nil)
			writerPool.Put(w)
		}()
		w.Write(mb.Bytes())
		if _, err := io.Copy(io.MultiWriter(w, &c), src); err != nil {
			return nil, fmt.Errorf("sdbox: read message: %w", err)
		}
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("sdbox: write message: %w", err)
		}
		mb.Reset()
	}
	if s.opts.MaxMessageSize > 0 && c.n > s.opts.MaxMessageSize {
		return nil, fmt.Errorf("sdbox: %w", store.ErrTooBig)
	}
	if guid == "" {
		g := newGUID()
		guid = hex.EncodeToString(g[:])
	}
	t := &tempFile{path: path, size: c.n, vsize: c.n + c.bareLF, guid: guid, received: received}
	if whole {
		copy(mb.Bytes(), fileHeaderBytes(now, c.n))
	}
	mb.Write(metadataBytes(received, t.vsize, "", t.guid, nil))
	if _, err := f.Write(mb.Bytes()); err != nil {
		return nil, fmt.Errorf("sdbox: write message: %w", err)
	}
	if !whole {
		if _, err := f.WriteAt(fileHeaderBytes(now, c.n), 0); err != nil {
			return nil, fmt.Errorf("sdbox: write message: %w", err)
		}
	}
	if !s.opts.NoSync && !noSync {
		if err := f.datasync(); err != nil {
			return nil, fmt.Errorf("sdbox: sync message: %w", err)
		}
	}
	if path == "" {
		t.f = f // kept open until linked
		ok = true
		return t, nil
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sdbox: write message: %w", err)
	}
	ok = true
	return t, nil
}

// placeFile moves (rename) or links a finished file to u.<uid> without
// replacing anything already there; unnamed, the file is f.
func placeFile(f *rawFile, from, to string, link bool) error {
	if f != nil {
		return linkUnnamed(f, to)
	}
	if link {
		return os.Link(from, to)
	}
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if _, serr := os.Lstat(to); serr == nil {
			return os.ErrExist
		}
		return os.Rename(from, to)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// newMsg is a message a transaction adds.
type newMsg struct {
	flags store.Flags
	vsize int64
	file  string // the file to rename or link to u.<uid>
	link  bool
	// unnamed, when set, is the file to link as u.<uid> (tmpfile.go).
	unnamed *rawFile
	uid     uint32 // set by addMessages
	// noSync: the file was not synced, and the message may wait for
	// SyncDeliveries (store.AppendOptions.NoSync).
	noSync bool
}

// placeMessages gives each message the next UID and puts its file in
// place as u.<UID>, raising the tip's next UID. The log must be locked
// (t); the caller fsyncs the directory.
func (h *hub) placeMessages(t *txn, msgs []*newMsg) error {
	next := t.tip.nextUID()
	if next == 0 {
		next = 1
	}
	for _, m := range msgs {
		for {
			if next == 0 { // wrapped: 2^32-1 UIDs used
				return fmt.Errorf("sdbox: UIDs exhausted: %w", store.ErrNotAllowed)
			}
			err := placeFile(m.unnamed, m.file, h.filePath(next), m.link)
			if err == nil {
				break
			}
			if !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("sdbox: %w", err)
			}
			// A file nobody's log knows about: leave it, skip its UID.
			h.s.opts.logger().Warn("sdbox: message file without index record; skipping its UID", "file", h.filePath(next))
			next++
		}
		m.uid = next
		next++
		t.tip.setU32(hdrNextUID, next)
	}
	return nil
}

// appendRecords adds the APPEND, keyword and vsize records of placed
// messages to tx.
func appendRecords(tx *txBuilder, msgs []*newMsg) {
	var app []byte
	for _, m := range msgs {
		app = binary.LittleEndian.AppendUint32(app, m.uid)
		app = append(app, indexFlags(m.flags.System), 0, 0, 0)
	}
	tx.add(recAppend|recExternal, app)
	kws := map[string][]uint32{}
	var order []string
	for _, m := range msgs {
		for _, k := range m.flags.Keywords {
			if kws[k] == nil {
				order = append(order, k)
			}
			kws[k] = append(kws[k], m.uid)
		}
	}
	for _, k := range order {
		tx.add(recKeywordUpdate, keywordBody(0, k, kws[k]))
	}
	tx.add(recExtIntro, extIntroBody("vsize", 0, 4, 4, 1))
	var vs []byte
	for _, m := range msgs {
		if m.vsize >= 0 && m.vsize < 1<<32-1 {
			vs = binary.LittleEndian.AppendUint32(vs, m.uid)
			vs = binary.LittleEndian.AppendUint32(vs, uint32(m.vsize+1))
		}
	}
	if len(vs) > 0 {
		tx.add(recExtRecUpdate, vs)
	}
}

// keywordBody is a KEYWORD_UPDATE payload (modify 0 adds, 1 removes)
// for the given UIDs (as ranges).
func keywordBody(modify byte, name string, uids []uint32) []byte {
	b := []byte{modify, 0}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
	b = append(b, name...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return appendRanges(b, uids)
}

// appendRanges appends {uid1, uid2} pairs covering the ascending uids.
func appendRanges(b []byte, uids []uint32) []byte {
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		b = binary.LittleEndian.AppendUint32(b, uids[i])
		b = binary.LittleEndian.AppendUint32(b, uids[j])
		i = j + 1
	}
	return b
}

// Append implements store.Mailbox. The message file is written and
// fsynced under a temporary name, then, with the log locked, renamed to
// u.<next UID>, the directory fsynced and the APPEND record written and
// fsynced: when Append returns, the message and its UID are on disk.
//
// With opts.NoSync (a mail queue's delivery, which keeps its own copy
// until SyncDeliveries returns) none of those fsyncs is made unless
// another append of the same group commit needs them; SyncDeliveries
// makes the message durable. LateUID changes nothing: the UID comes
// with the same log write.
func (mb *Mailbox) Append(ctx context.Context, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	if err := mb.check(true); err != nil {
		return store.AppendResult{}, err
	}
	if err := validKeywords(opts.Flags.Keywords); err != nil {
		return store.AppendResult{}, err
	}
	noSync := opts.NoSync && !mb.s.opts.NoSync
	tf, err := mb.h.writeTemp(r, opts.InternalDate, noSync)
	if err != nil {
		return store.AppendResult{}, err
	}
	m := &newMsg{flags: opts.Flags, vsize: tf.vsize, file: tf.path, unnamed: tf.f, noSync: noSync}
	defer func() {
		if tf.f != nil {
			tf.f.Close()
		} else if m.uid == 0 { // not renamed into place
			os.Remove(tf.path)
		}
	}()
	if err := mb.s.checkQuota(ctx, tf.vsize); err != nil {
		return store.AppendResult{}, err
	}
	uv, err := mb.addAll(ctx, []*newMsg{m})
	if err != nil {
		return store.AppendResult{}, err
	}
	return store.AppendResult{UIDValidity: uv, UID: m.uid}, nil
}

// addAll adds messages to this handle's mailbox and view.
func (mb *Mailbox) addAll(ctx context.Context, msgs []*newMsg) (uint32, error) {
	r := mb.h.enqueue(ctx, mb, msgs)
	if r.err != nil {
		return 0, r.err
	}
	if mb.gone == 0 && r.uidValidity == mb.view.uidValidity() {
		mb.ownCommitted(r.seq, r.ino, r.off, r.data, r.modseq, r.caughtUp)
	}
	mb.h.signal(mb)
	return r.uidValidity, nil
}

// validKeywords checks that each keyword is an IMAP atom without "\".
func validKeywords(kws []string) error {
	for _, k := range kws {
		if k == "" || len(k) > 250 {
			return fmt.Errorf("sdbox: keyword %q: %w", k, store.ErrKeywordInvalid)
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' || c == '\\' || c == ']' {
				return fmt.Errorf("sdbox: keyword %q: %w", k, store.ErrKeywordInvalid)
			}
		}
	}
	return nil
}
