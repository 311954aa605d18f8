package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/store"
)

// msg is one message of a handle's view.
type msg struct {
	uid      uint32
	flags    store.SystemFlags
	modseq   uint64
	size     int64
	keywords []string
	internal time.Time
	save     time.Time
	guid     string
}

func (m *msg) info() store.MessageInfo {
	return store.MessageInfo{UID: m.uid, Flags: store.Flags{System: m.flags, Keywords: m.keywords}, ModSeq: m.modseq,
		InternalDate: m.internal, SaveDate: m.save, Size: m.size, GUID: m.guid}
}

// info returns x as this handle reports it (\Recent included).
func (m *Mailbox) info(x *msg) store.MessageInfo {
	mi := x.info()
	mi.Recent = m.isRecent(x.uid)
	return mi
}

// Mailbox is one session's handle on a mailbox: a view of its messages
// (read lazily, on the first call that needs it, so a delivery that only
// appends never reads the mailbox) that changes only through the
// handle's own operations and Poll.
type Mailbox struct {
	s      *Store
	b      *Backend
	id     int64
	name   string
	ro     bool
	origin int64 // tags this handle's changes in the journal
	notify chan struct{}

	uidValidity uint32
	uidNext     uint32
	known       uint64 // journal cursor: every change up to it is applied
	ownMax      uint64 // highest modseq of the handle's own changes
	loaded      bool
	msgs        []msg        // ascending UID
	recent      store.UIDSet // the view's \Recent messages (recent.go)
	keepRecent  bool         // store.OpenOptions.KeepRecent: show \Recent, claim none
	gone        bool
	closed      bool
}

var _ store.Mailbox = (*Mailbox)(nil)

func newOrigin() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])&(1<<62-1)) + 1
}

// OpenMailbox implements store.Store.
func (s *Store) OpenMailbox(ctx context.Context, name string, opts store.OpenOptions) (store.Mailbox, error) {
	name, err := checkName(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	r, err := s.lookup(ctx, nil, name)
	if err != nil {
		return nil, dbErr("open mailbox", err)
	}
	m := &Mailbox{s: s, b: s.b, id: r.id, name: name, ro: opts.ReadOnly, keepRecent: opts.KeepRecent, origin: newOrigin(),
		notify: make(chan struct{}, 1), uidValidity: r.uidValidity, uidNext: r.uidNext, known: r.highestModSeq}
	s.b.hub.add(m)
	return m, nil
}

// wake signals Notify (coalesced).
func (m *Mailbox) wake() {
	select {
	case m.notify <- struct{}{}:
	default:
	}
}

// Name implements store.Mailbox.
func (m *Mailbox) Name() string { return m.name }

// Notify implements store.Mailbox: signalled by PostgreSQL NOTIFY when
// another handle, in this process or another, changed the mailbox.
func (m *Mailbox) Notify() <-chan struct{} { return m.notify }

// Close implements store.Mailbox.
func (m *Mailbox) Close() error {
	if !m.closed {
		m.closed = true
		m.b.hub.remove(m)
		m.msgs = nil
	}
	return nil
}

func (m *Mailbox) usable(write bool) error {
	switch {
	case m.closed:
		return store.ErrClosed
	case m.gone:
		return fmt.Errorf("pgstore: %q: %w", m.name, store.ErrMailboxGone)
	case write && m.ro:
		return store.ErrReadOnly
	}
	return nil
}

// load reads the view in one snapshot, so that the journal cursor
// matches the messages read.
func (m *Mailbox) load(ctx context.Context) error {
	if m.loaded {
		return nil
	}
	var recentUpTo int64
	err := pgx.BeginTxFunc(ctx, m.b.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var uv, un, hms int64
		var name string
		err := tx.QueryRow(ctx, `SELECT name, uidvalidity, uidnext, highestmodseq, recent_upto FROM pgstore_mailboxes WHERE id = $1`, m.id).
			Scan(&name, &uv, &un, &hms, &recentUpTo)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && name != m.name) {
			m.gone = true
			return fmt.Errorf("pgstore: %q: %w", m.name, store.ErrMailboxGone)
		}
		if err != nil {
			return err
		}
		if uint32(uv) != m.uidValidity {
			m.gone = true
			return fmt.Errorf("pgstore: %q: %w", m.name, store.ErrMailboxGone)
		}
		msgs, err := readMessages(ctx, tx, m.id)
		if err != nil {
			return err
		}
		m.msgs, m.uidNext, m.known, m.loaded = msgs, max(m.uidNext, uint32(un)), max(m.known, uint64(hms)), true
		return nil
	})
	if err != nil {
		return dbErr("read mailbox", err)
	}
	return m.takeRecent(ctx, m.msgs, recentUpTo)
}

func readMessages(ctx context.Context, tx pgx.Tx, id int64) ([]msg, error) {
	var n int64
	if err := tx.QueryRow(ctx, `SELECT messages FROM pgstore_mailboxes WHERE id = $1`, id).Scan(&n); err != nil {
		return nil, err
	}
	// Keywords come as one space-separated text (NULL for none): much
	// cheaper to decode than an array per row.
	rows, err := tx.Query(ctx, `SELECT uid, modseq, flags, CASE WHEN keywords = '{}' THEN NULL ELSE array_to_string(keywords, ' ') END,
		internal_date, save_date, size, guid
		FROM pgstore_messages WHERE mailbox_id = $1 ORDER BY uid`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs := make([]msg, 0, n)
	if rawMessageRows(rows.FieldDescriptions()) {
		for rows.Next() {
			x, err := decodeMessageRow(rows.RawValues())
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, x)
		}
		return msgs, rows.Err()
	}
	var uid, modseq int64
	var flags int32
	var kw *string
	for rows.Next() {
		var x msg
		if err := rows.Scan(&uid, &modseq, &flags, &kw, &x.internal, &x.save, &x.size, &x.guid); err != nil {
			return nil, err
		}
		x.uid, x.modseq, x.flags = uint32(uid), uint64(modseq), store.SystemFlags(flags)
		if kw != nil && *kw != "" {
			x.keywords = strings.Fields(*kw)
		}
		msgs = append(msgs, x)
	}
	return msgs, rows.Err()
}

// Status implements store.Mailbox.
func (m *Mailbox) Status(ctx context.Context) (store.MailboxStatus, error) {
	if err := m.usable(false); err != nil {
		return store.MailboxStatus{}, err
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	if err := m.load(ctx); err != nil {
		return store.MailboxStatus{}, err
	}
	st := store.MailboxStatus{UIDValidity: m.uidValidity, UIDNext: m.uidNext, HighestModSeq: max(m.known, m.ownMax),
		Messages: uint32(len(m.msgs))}
	for i := range m.msgs {
		x := &m.msgs[i]
		if x.flags&store.Seen == 0 {
			st.Unseen++
		}
		if x.flags&store.Deleted != 0 {
			st.Deleted++
		}
		if m.isRecent(x.uid) {
			st.Recent++
		}
		st.Size += x.size
	}
	return st, nil
}

// find returns the index of uid in the view, or -1.
func (m *Mailbox) find(uid uint32) int {
	i := sort.Search(len(m.msgs), func(i int) bool { return m.msgs[i].uid >= uid })
	if i < len(m.msgs) && m.msgs[i].uid == uid {
		return i
	}
	return -1
}

// each calls fn for the view's messages in uids (nil: all), ascending.
func (m *Mailbox) each(uids store.UIDSet, fn func(*msg) error) error {
	if uids == nil {
		for i := range m.msgs {
			if err := fn(&m.msgs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	sorted := sort.SliceIsSorted(uids, func(i, j int) bool { return uids[i].Stop < uids[j].Start })
	if !sorted {
		for i := range m.msgs {
			if uids.Contains(m.msgs[i].uid) {
				if err := fn(&m.msgs[i]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, r := range uids {
		i := sort.Search(len(m.msgs), func(i int) bool { return m.msgs[i].uid >= r.Start })
		for ; i < len(m.msgs) && m.msgs[i].uid <= r.Stop; i++ {
			if err := fn(&m.msgs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// viewUIDs returns the UIDs of the view in uids, ascending.
func (m *Mailbox) viewUIDs(uids store.UIDSet) []int64 {
	var out []int64
	m.each(uids, func(x *msg) error { out = append(out, int64(x.uid)); return nil })
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Messages implements store.Mailbox.
func (m *Mailbox) Messages(ctx context.Context, uids store.UIDSet, fn func(*store.MessageInfo) error) error {
	if err := m.usable(false); err != nil {
		return err
	}
	lctx, cancel := m.b.opCtx(ctx)
	err := m.load(lctx)
	cancel()
	if err != nil {
		return err
	}
	var mi store.MessageInfo
	return m.each(uids, func(x *msg) error {
		mi = m.info(x)
		return fn(&mi)
	})
}

// Open implements store.Mailbox. A message whose body is missing from
// the blob store is reported (logged, and an error matching
// store.ErrNoSuchMessage); the rest of the mailbox is unaffected.
func (m *Mailbox) Open(ctx context.Context, uid uint32) (store.MessageReader, error) {
	if m.closed {
		return nil, store.ErrClosed
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	var key string
	err := m.b.pool.QueryRow(ctx, `SELECT blob_key FROM pgstore_messages WHERE mailbox_id = $1 AND uid = $2`, m.id, int64(uid)).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pgstore: UID %d: %w", uid, store.ErrNoSuchMessage)
	}
	if err != nil {
		return nil, dbErr("open message", err)
	}
	r, err := m.b.blobs.Open(ctx, key)
	if errors.Is(err, blob.ErrNotFound) {
		m.b.log.Error("pgstore: message body missing from the blob store", "user", m.s.user, "mailbox", m.name, "uid", uid, "key", key)
		return nil, fmt.Errorf("pgstore: UID %d: body %s missing: %w", uid, key, store.ErrNoSuchMessage)
	}
	if err != nil {
		return nil, dbErr("open body", err)
	}
	return r, nil
}

// insertView puts x into the view in UID order (unless there already).
func (m *Mailbox) insertView(x msg) {
	i := sort.Search(len(m.msgs), func(i int) bool { return m.msgs[i].uid >= x.uid })
	if i < len(m.msgs) && m.msgs[i].uid == x.uid {
		return
	}
	m.msgs = append(m.msgs, msg{})
	copy(m.msgs[i+1:], m.msgs[i:])
	m.msgs[i] = x
}

// removeView drops the given UIDs (ascending) from the view.
func (m *Mailbox) removeView(uids []uint32) {
	if len(uids) == 0 {
		return
	}
	drop := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		drop[u] = true
	}
	out := m.msgs[:0]
	for _, x := range m.msgs {
		if !drop[x.uid] {
			out = append(out, x)
		}
	}
	clear(m.msgs[len(out):])
	m.msgs = out
}

func (m *Mailbox) own(modseq uint64) { m.ownMax = max(m.ownMax, modseq) }
