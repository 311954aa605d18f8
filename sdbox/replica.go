package sdbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
	"golang.org/x/sys/unix"
)

// The store.Replica methods: a replicator's appends with the partner's
// UID and GUID, UIDNEXT kept in step, and a renumbering under a new
// UIDVALIDITY, written as Dovecot's own writers would.
//
//   - ReplicaAppend writes the u.N file as Append does, with the G
//     metadata line the partner's GUID, and links it as u.<UID> under
//     the log's lock; the APPEND record of a UID above next_uid moves
//     next_uid past it, as Dovecot's index sync does for dsync's saves.
//   - ReplicaSetUIDNext logs a header update of next_uid, as Dovecot's
//     mailbox_update (min_next_uid) does.
//   - ReplicaRenumber cannot change a u.N file's UID in place (the name
//     is the UID, and Dovecot's log never moves a record). It builds the
//     renumbered mailbox beside the old one, in .dbox-Mails.renum: each
//     file hard-linked under its new name and a new transaction log
//     (new index ID, the new UIDVALIDITY, the mailbox GUID kept, the
//     appends with their flags and keywords), and exchanges the two
//     directories in one renameat2(RENAME_EXCHANGE), the old log locked
//     throughout so no writer adds to it. A crash before the exchange
//     leaves the old mailbox whole (the half-built directory is removed
//     by the next renumbering); after it, the new one. Open handles find
//     a new log (another inode) on their next poll, read the mailbox
//     again and, as its UIDVALIDITY changed, report ChangeUIDValidity;
//     handles of this Store are woken at once. Dovecot reads the new
//     directory as a mailbox with a new index (no dovecot.index yet: the
//     log holds it all). A session that reads a message by its old UID
//     before it polls may get the file now under that UID.

var _ store.Replica = (*Store)(nil)

// renumDir is the directory, beside dbox-Mails, where ReplicaRenumber
// builds the renumbered mailbox (a hidden name: neither yubin nor
// Dovecot lists it).
const renumDir = ".dbox-Mails.renum"

// ReplicaAppend implements store.Replica.
func (s *Store) ReplicaAppend(ctx context.Context, mailbox string, r io.Reader, opts store.ReplicaAppendOptions) (store.AppendResult, error) {
	if opts.UID == 0 {
		return store.AppendResult{}, fmt.Errorf("sdbox: UID 0: %w", store.ErrUIDNotAvailable)
	}
	if !store.PrintableGUID(opts.GUID) {
		return store.AppendResult{}, fmt.Errorf("sdbox: GUID %q: %w", opts.GUID, store.ErrInvalidGUID)
	}
	if err := validKeywords(opts.Flags.Keywords); err != nil {
		return store.AppendResult{}, err
	}
	_, md, err := s.mailDirOf(mailbox)
	if err != nil {
		return store.AppendResult{}, err
	}
	h := s.hubFor(md)
	tf, err := h.writeTempGUID(r, opts.InternalDate, false, opts.GUID)
	if err != nil {
		return store.AppendResult{}, err
	}
	placed := false
	defer func() {
		if tf.f != nil {
			tf.f.Close()
		} else if !placed {
			os.Remove(tf.path)
		}
	}()
	if err := s.checkQuota(ctx, tf.vsize); err != nil {
		return store.AppendResult{}, err
	}
	// Only the header (next UID, UIDVALIDITY) is needed: taken from
	// this process's last commit when the log is as that left it,
	// instead of loading the mailbox at every replicated message.
	t, err := h.beginAppend(ctx, nil)
	if err != nil {
		return store.AppendResult{}, err
	}
	defer t.abort()
	if next := t.tip.nextUID(); opts.UID < next {
		return store.AppendResult{}, fmt.Errorf("sdbox: UID %d below UIDNEXT %d: %w", opts.UID, next, store.ErrUIDNotAvailable)
	}
	if err := placeFile(tf.f, tf.path, h.filePath(opts.UID), false); err != nil {
		if errors.Is(err, os.ErrExist) {
			// A file no log knows of holds the UID: not ours to reuse.
			return store.AppendResult{}, fmt.Errorf("sdbox: u.%d exists: %w", opts.UID, store.ErrUIDNotAvailable)
		}
		return store.AppendResult{}, fmt.Errorf("sdbox: %w", err)
	}
	placed = true
	if err := s.syncDir(md); err != nil {
		return store.AppendResult{}, fmt.Errorf("sdbox: %w", err)
	}
	uv := t.tip.uidValidity()
	tx := newTx()
	appendRecords(tx, []*newMsg{{flags: opts.Flags, vsize: tf.vsize, uid: opts.UID}})
	t.afterWrite = func() { h.keepTip(t, tx.bytes()) }
	if _, _, err := t.commit(tx); err != nil {
		return store.AppendResult{}, err
	}
	h.signal(nil)
	return store.AppendResult{UIDValidity: uv, UID: opts.UID}, nil
}

// ReplicaSetUIDNext implements store.Replica.
func (s *Store) ReplicaSetUIDNext(ctx context.Context, mailbox string, uidNext uint32) error {
	h, _, t, err := s.beginReplica(ctx, mailbox)
	if err != nil {
		return err
	}
	defer t.abort()
	if uidNext <= t.tip.nextUID() {
		return nil
	}
	tx := newTx()
	tx.add(recHeaderUpdate|recExternal, hdrUpdateBody(hdrNextUID, le32(uidNext)))
	t.afterWrite = func() { h.keepTip(t, tx.bytes()) }
	if _, _, err := t.commit(tx); err != nil {
		return err
	}
	h.signal(nil)
	return nil
}

// beginReplica locks a mailbox's log with its whole state loaded.
func (s *Store) beginReplica(ctx context.Context, mailbox string) (*hub, string, *txn, error) {
	_, md, err := s.mailDirOf(mailbox)
	if err != nil {
		return nil, "", nil, err
	}
	h := s.hubFor(md)
	t, err := h.begin(ctx, nil)
	return h, md, t, err
}

// renumbered is one message of a renumbering.
type renumbered struct {
	old uint32
	m   *newMsg
}

// ReplicaRenumber implements store.Replica.
func (s *Store) ReplicaRenumber(ctx context.Context, mailbox string, uidValidity, uidNext uint32, uids map[string]uint32) error {
	h, md, t, err := s.beginReplica(ctx, mailbox)
	if err != nil {
		return err
	}
	defer t.abort()
	st := t.tip
	pristine := len(st.msgs) == 0 && st.nextUID() <= 1
	if uidValidity == 0 || (uidValidity <= st.uidValidity() && !pristine) {
		return fmt.Errorf("sdbox: UIDVALIDITY %d not above %d: %w", uidValidity, st.uidValidity(), store.ErrUIDNotAvailable)
	}
	msgs, next := s.renumbering(h, st, uidNext, uids)
	hb := make([]byte, logHeaderSize)
	n, _ := t.f.ReadAt(hb, 0)
	old, _ := parseLogHeader(hb[:n])
	tmp := filepath.Join(filepath.Dir(md), renumDir)
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	if err := s.buildRenumbered(md, tmp, msgs, renumberedLog(st, old.IndexID, uidValidity, next, msgs)); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := exchangeDirs(tmp, md); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("sdbox: renumber %s: %w", md, err)
	}
	if err := s.syncDir(filepath.Dir(md)); err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	h.last = nil
	// tmp now holds the old mailbox; its files live on under the new
	// names.
	os.RemoveAll(tmp)
	t.abort()
	h.signal(nil)
	return nil
}

// renumbering gives each message of st its new UID: uids[GUID] when
// given, else (in the present order) UIDs above every given one and
// uidNext. It returns the messages in new UID order and the new UIDNEXT.
func (s *Store) renumbering(h *hub, st *state, uidNext uint32, uids map[string]uint32) ([]renumbered, uint32) {
	next := max(uidNext, 1)
	for _, u := range uids {
		if u >= next {
			next = u + 1
		}
	}
	seen := map[uint32]bool{}
	var out, rest []renumbered
	uv := st.uidValidity()
	for i := range st.msgs {
		m := &st.msgs[i]
		meta := h.metaOf(uv, m.uid)
		r := renumbered{old: m.uid, m: &newMsg{flags: flagsOf(st, m), vsize: meta.VSize}}
		if u, ok := uids[meta.GUID]; ok && u != 0 && !seen[u] && meta.GUID != "" {
			seen[u] = true
			r.m.uid = u
			out = append(out, r)
			continue
		}
		rest = append(rest, r)
	}
	for _, r := range rest {
		r.m.uid = next
		next++
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].m.uid < out[j].m.uid })
	return out, next
}

// renumberedLog is the new transaction log of a renumbered mailbox: a
// new index ID (not the old one: Dovecot must not take the new log for
// a continuation of its index), the dbox-hdr extension with the same
// mailbox GUID, the new UIDVALIDITY, the messages with their flags,
// keywords and virtual sizes, and next_uid.
func renumberedLog(st *state, oldIndexID, uidValidity, next uint32, msgs []renumbered) []byte {
	now := time.Now()
	data := newLogBytes(uidValidity, st.mailboxGUID(), nil, now)
	if id := binary.LittleEndian.Uint32(data[4:]); id == oldIndexID {
		binary.LittleEndian.PutUint32(data[4:], id+1)
	}
	tx := newTx()
	if len(msgs) > 0 {
		ms := make([]*newMsg, len(msgs))
		for i, r := range msgs {
			ms[i] = r.m
		}
		appendRecords(tx, ms)
	}
	tx.add(recHeaderUpdate|recExternal, hdrUpdateBody(hdrNextUID, le32(next)))
	return append(data, tx.bytes()...)
}

// buildRenumbered makes tmp the renumbered copy of md: its u.N files
// hard-linked under their new names, the other files Dovecot or yubin
// keep there (not the index, log, cache or yubin-meta, which describe
// the old numbering) linked as they are, and the new log, all durable.
func (s *Store) buildRenumbered(md, tmp string, msgs []renumbered, log []byte) error {
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	s.chown(tmp)
	for _, r := range msgs {
		from := filepath.Join(md, fmt.Sprintf("u.%d", r.old))
		if err := os.Link(from, filepath.Join(tmp, fmt.Sprintf("u.%d", r.m.uid))); err != nil {
			return fmt.Errorf("sdbox: %w", err)
		}
	}
	ents, err := os.ReadDir(md)
	if err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, "u.") || strings.HasPrefix(n, "dovecot.index") ||
			strings.HasPrefix(n, "yubin-meta") || strings.HasPrefix(n, ".temp.") {
			continue
		}
		os.Link(filepath.Join(md, n), filepath.Join(tmp, n))
	}
	lp := filepath.Join(tmp, logName)
	f, err := os.OpenFile(lp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	_, err = f.Write(log)
	if err == nil && !s.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sdbox: write log: %w", err)
	}
	s.chown(lp)
	if err := s.syncDir(tmp); err != nil {
		return fmt.Errorf("sdbox: %w", err)
	}
	return nil
}

// exchangeDirs swaps two directories atomically; where the file system
// cannot (no RENAME_EXCHANGE), through a third name, which leaves a
// moment without b.
func exchangeDirs(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	side := filepath.Join(filepath.Dir(b), ".dbox-Mails.old")
	os.RemoveAll(side)
	if err := os.Rename(b, side); err != nil {
		return err
	}
	if err := os.Rename(a, b); err != nil {
		os.Rename(side, b)
		return err
	}
	return os.Rename(side, a)
}
