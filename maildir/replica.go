package maildir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// The store.Replica methods: a replicator's appends with the partner's
// UID and GUID, UIDNEXT kept in step, and a renumbering under a new
// UIDVALIDITY. They go through the same temp file, fsync, link, uidlist
// lock and fsync of directory and dovecot-uidlist as a delivery, so a
// UID they report is durable and the folder stays readable by Dovecot.

var _ store.Replica = (*Store)(nil)

// maxGUIDLen bounds a GUID used as a file name (with room for ":2,"
// and 26 keyword letters under NAME_MAX).
const maxGUIDLen = 200

// validReplicaGUID reports whether g can be a Maildir base name: no
// path separator, no ':' (the info separator), no white space or
// control characters (dovecot-uidlist lines), not hidden.
func validReplicaGUID(g string) bool {
	if g == "" || len(g) > maxGUIDLen || g[0] == '.' {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if c <= ' ' || c == '/' || c == ':' || c == 0x7f {
			return false
		}
	}
	return true
}

// ReplicaAppend implements store.Replica. The GUID becomes the file's
// base name (Dovecot's GUID of a Maildir message), so a message keeps it
// from one server to the other; a ",S=" or ",W=" size in it must match
// the bytes. The caller must not give a GUID the mailbox already holds.
func (s *Store) ReplicaAppend(ctx context.Context, mailbox string, r io.Reader, opts store.ReplicaAppendOptions) (store.AppendResult, error) {
	if opts.UID == 0 {
		return store.AppendResult{}, fmt.Errorf("maildir: UID 0: %w", store.ErrUIDNotAvailable)
	}
	if !validReplicaGUID(opts.GUID) {
		return store.AppendResult{}, fmt.Errorf("maildir: GUID %q: %w", opts.GUID, store.ErrInvalidGUID)
	}
	m, err := s.box(mailbox)
	if err != nil {
		return store.AppendResult{}, err
	}
	var kwMask uint32
	if len(opts.Flags.Keywords) > 0 {
		if kwMask, err = m.keywordMask(ctx, opts.Flags.Keywords); err != nil {
			return store.AppendResult{}, err
		}
	}
	t, err := m.createMessageTemp(opts.GUID)
	if err != nil {
		if !isDir(m.dir) {
			return store.AppendResult{}, fmt.Errorf("maildir: %s: %w", m.name, store.ErrNoSuchMailbox)
		}
		return store.AppendResult{}, fmt.Errorf("maildir: create a file in %s/tmp: %w", m.dir, err)
	}
	defer func() { t.discard() }()
	var cnt sizeCounter
	bw := bufio.NewWriterSize(t.f, 64<<10)
	_, err = io.Copy(&limitWriter{w: io.MultiWriter(bw, &cnt), max: s.opts.MaxMessageSize}, r)
	if errors.Is(err, errTooBig) {
		return store.AppendResult{}, fmt.Errorf("maildir: message over %d bytes: %w", s.opts.MaxMessageSize, store.ErrTooBig)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return store.AppendResult{}, fmt.Errorf("maildir: write message: %w", err)
	}
	fn := parseFileName(opts.GUID)
	if (fn.Size >= 0 && fn.Size != cnt.size) || (fn.VSize >= 0 && fn.VSize != cnt.vsize) {
		return store.AppendResult{}, fmt.Errorf("maildir: GUID %q names sizes the message does not have: %w", opts.GUID, store.ErrInvalidGUID)
	}
	t.chown(s)
	date := opts.InternalDate
	if !date.IsZero() {
		err = t.setTimes(date)
	} else {
		fi, serr := t.f.Stat()
		if err = serr; err == nil {
			date = fi.ModTime()
		}
	}
	if err == nil && !s.opts.NoSync {
		err = t.f.Sync()
	}
	if err != nil {
		return store.AppendResult{}, fmt.Errorf("maildir: write message: %w", err)
	}
	if s.quotaEnabled() {
		q, err := s.Quota(ctx)
		if err != nil {
			return store.AppendResult{}, err
		}
		if q.Exceeds(cnt.size) {
			return store.AppendResult{}, fmt.Errorf("maildir: %w", store.ErrQuotaExceeded)
		}
	}
	name := fileName{Base: opts.GUID, System: opts.Flags.System, Keywords: kwMask}
	name.HasInfo = name.System != 0 || name.Keywords != 0
	x := &msg{sys: name.System, kw: kwMask, name: name.String(), inNew: !name.HasInfo, size: cnt.size, vsize: cnt.vsize}
	x.date.Store(date.UnixNano())
	res, err := m.commit(ctx, []staged{{temp: t, x: x, uid: opts.UID}}, true)
	if err != nil {
		return store.AppendResult{}, err
	}
	t.path = ""
	s.quotaDelta(cnt.size, 1)
	return store.AppendResult{UIDValidity: res.uidValidity, UID: res.uids[0]}, nil
}

// ReplicaSetUIDNext implements store.Replica: the header of
// dovecot-uidlist is rewritten (through a temporary file and rename)
// with the higher N.
func (s *Store) ReplicaSetUIDNext(ctx context.Context, mailbox string, uidNext uint32) error {
	m, err := s.box(mailbox)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensureLoaded(ctx); err != nil {
		return err
	}
	if uidNext <= m.nextUID {
		return nil
	}
	l, err := s.lock(ctx, filepath.Join(m.dir, "dovecot-uidlist.lock"))
	if err != nil {
		return err
	}
	defer l.unlock()
	if _, err := m.readUIDList(); err != nil {
		return err
	}
	if uidNext <= m.nextUID {
		return nil
	}
	m.nextUID = uidNext
	return m.rewriteUIDList(nil)
}

// ReplicaRenumber implements store.Replica. It writes a new
// dovecot-uidlist (new V, new records) under the uidlist lock and then
// syncs the folder, which sees the new UIDVALIDITY as a recreated
// mailbox: handles get ChangeUIDValidity, the messages are re-read with
// their new UIDs. Dovecot reading the folder sees the same.
func (s *Store) ReplicaRenumber(ctx context.Context, mailbox string, uidValidity, uidNext uint32, uids map[string]uint32) error {
	m, err := s.box(mailbox)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(ctx, true); err != nil {
		return err
	}
	pristine := len(m.msgs) == 0 && len(m.pending) == 0 && m.nextUID <= 1
	if uidValidity == 0 || (uidValidity <= m.uidValidity && !pristine) {
		return fmt.Errorf("maildir: UIDVALIDITY %d not above %d: %w", uidValidity, m.uidValidity, store.ErrUIDNotAvailable)
	}
	if err := m.writeRenumbered(ctx, uidValidity, uidNext, uids); err != nil {
		return err
	}
	// The new file (another inode) is read as a recreated mailbox.
	return m.syncLocked(ctx, true)
}

// writeRenumbered writes the renumbered dovecot-uidlist under its lock
// (m.mu held).
func (m *mbox) writeRenumbered(ctx context.Context, uidValidity, uidNext uint32, uids map[string]uint32) error {
	s := m.s
	l, err := s.lock(ctx, filepath.Join(m.dir, "dovecot-uidlist.lock"))
	if err != nil {
		return err
	}
	defer l.unlock()
	if _, err := m.readUIDList(); err != nil {
		return err
	}
	type rec struct {
		uid  uint32
		base string
	}
	var recs, rest []rec
	next := uidNext
	for _, u := range uids {
		if u >= next {
			next = u + 1
		}
	}
	seen := map[uint32]bool{}
	add := func(uid uint32, base string) {
		if u, ok := uids[base]; ok && u != 0 && !seen[u] {
			seen[u] = true
			recs = append(recs, rec{u, base})
			return
		}
		rest = append(rest, rec{uid, base})
	}
	for _, x := range m.msgs {
		add(x.uid, x.base())
	}
	for b, u := range m.pending {
		add(u, b)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].uid < rest[j].uid })
	for _, r := range rest {
		recs = append(recs, rec{next, r.base})
		next++
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].uid < recs[j].uid })
	h := m.header
	h.Version, h.UIDValidity, h.NextUID = 3, uidValidity, next
	if h.GUID == "" {
		h.GUID = newMailboxGUID()
	}
	var b strings.Builder
	b.WriteString(formatUIDListHeader(h))
	for _, r := range recs {
		b.WriteString(strconv.FormatUint(uint64(r.uid), 10))
		b.WriteString(" :")
		b.WriteString(r.base)
		b.WriteByte('\n')
	}
	return s.writeFileAtomic(filepath.Join(m.dir, "dovecot-uidlist"), []byte(b.String()), true)
}

var _ store.SpecialUseSetter = (*Store)(nil)

// SetSpecialUse implements store.SpecialUseSetter: the attribute is
// kept in yubin-special-use, as one given at creation.
func (s *Store) SetSpecialUse(ctx context.Context, name, attr string) error {
	return store.SetSpecialUseWith(ctx, s, name, attr, func(n string) error { return s.setSpecialUse(ctx, n, attr) })
}
