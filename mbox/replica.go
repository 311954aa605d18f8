package mbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/yubinmail/yubin/store"
)

// The store.Replica methods. UIDs and UIDVALIDITY live where Dovecot
// keeps them, in the file: X-UID per message and X-IMAPbase (the
// UIDVALIDITY and the last UID given) in the first; a replicated message
// is appended with the partner's UID as its X-UID, UIDNEXT is raised by
// rewriting X-IMAPbase's 10-digit last UID in place, and a renumbering
// rewrites the file (as an expunge does) with the new X-IMAPbase and
// X-UIDs, the messages in their new UID order (Dovecot requires them
// ascending). An mbox file has no place for a message's GUID (Dovecot
// derives one; yubin's is UIDVALIDITY and UID), so the partner's GUIDs
// are kept beside the file, in .imap/<mailbox>/yubin-replica-guids.<UIDVALIDITY>
// ("UID GUID" lines), written before the message or the renumbered file
// so that a crash leaves at worst an entry for a UID that is burned
// (the state file's next UID is raised with it). Dovecot sees the same
// UIDs, UIDVALIDITY and UIDNEXT, and GUIDs of its own.

var _ store.Replica = (*Store)(nil)

// replicaGUIDPrefix names the files of replicated GUIDs, one per
// UIDVALIDITY.
const replicaGUIDPrefix = "yubin-replica-guids."

// replicaGUIDs caches a mailbox's replicated GUIDs of one UIDVALIDITY,
// with where its GUIDs of UIDVALIDITY and UID alone end (guid.go).
type replicaGUIDs struct {
	mu     sync.Mutex
	uv     uint32
	loaded bool
	m      map[uint32]string
	legacy legacyGUIDs
}

func (b *box) replicaGUIDPath(uv uint32) string {
	return filepath.Join(b.s.indexDir(b.name), replicaGUIDPrefix+strconv.FormatUint(uint64(uv), 10))
}

// replicaGUID returns the GUID a replicator gave the message uid under
// uidValidity uv ("" when none) and the box's legacy GUIDs.
func (b *box) replicaGUID(uv, uid uint32) (string, legacyGUIDs) {
	r := &b.rg
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded || r.uv != uv {
		r.uv, r.loaded, r.m = uv, true, readReplicaGUIDs(b.replicaGUIDPath(uv))
	}
	return r.m[uid], r.legacy
}

// readReplicaGUIDs reads a file of "UID GUID" lines (a line cut short by
// a crash is ignored).
func readReplicaGUIDs(path string) map[uint32]string {
	m := map[uint32]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		u, g, ok := strings.Cut(line, " ")
		n, err := strconv.ParseUint(u, 10, 32)
		if ok && err == nil && n > 0 && store.PrintableGUID(g) {
			m[uint32(n)] = g
		}
	}
	return m
}

// info is infoOf with the message's GUID: the one a replicator gave
// it, if any, else its own (guidOf).
func (b *box) info(m *msg, uv uint32) store.MessageInfo {
	mi := infoOf(m, uv)
	g, legacy := b.replicaGUID(uv, m.uid)
	if g == "" {
		g = guidOf(m, uv, legacy)
	}
	mi.GUID = g
	return mi
}

// addReplicaGUID records uid's GUID under uv, durably, before the
// message is written.
func (b *box) addReplicaGUID(uv, uid uint32, guid string) error {
	path := b.replicaGUIDPath(uv)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n%d %s\n", uid, guid)
	if err == nil && !b.s.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mbox: %w", err)
	}
	r := &b.rg
	r.mu.Lock()
	if r.loaded && r.uv == uv {
		r.m[uid] = guid
	}
	r.mu.Unlock()
	return nil
}

// ReplicaAppend implements store.Replica.
func (s *Store) ReplicaAppend(ctx context.Context, mailbox string, r io.Reader, opts store.ReplicaAppendOptions) (store.AppendResult, error) {
	if opts.UID == 0 || opts.UID == 1<<32-1 {
		return store.AppendResult{}, fmt.Errorf("mbox: UID %d: %w", opts.UID, store.ErrUIDNotAvailable)
	}
	if !store.PrintableGUID(opts.GUID) {
		return store.AppendResult{}, fmt.Errorf("mbox: GUID %q: %w", opts.GUID, store.ErrInvalidGUID)
	}
	b, err := s.box(mailbox)
	if err != nil {
		return store.AppendResult{}, err
	}
	p, err := s.prepare(r, store.AppendOptions{Flags: opts.Flags, InternalDate: opts.InternalDate})
	if err != nil {
		return store.AppendResult{}, err
	}
	defer p.body.close()
	if q := s.opts; q.QuotaStorage > 0 || q.QuotaMessages > 0 {
		quota, err := s.Quota(ctx)
		if err != nil {
			return store.AppendResult{}, err
		}
		if quota.Exceeds(p.vsize()) {
			return store.AppendResult{}, fmt.Errorf("mbox: %w", store.ErrQuotaExceeded)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*msg
	err = b.writeLocked(ctx, func(f *os.File) error {
		if b.needWrite {
			// Messages without X-UID get theirs first, as for Append.
			if err := b.rewrite(f, b.msgs); err != nil {
				return err
			}
			f = b.rf.f
		}
		if opts.UID < b.nextUID {
			return fmt.Errorf("mbox: UID %d below UIDNEXT %d: %w", opts.UID, b.nextUID, store.ErrUIDNotAvailable)
		}
		if err := b.addReplicaGUID(b.uidValidity, opts.UID, opts.GUID); err != nil {
			return err
		}
		// The UID is burned from here on, whatever happens to the
		// append: the GUID just recorded must name no other message.
		b.nextUID = opts.UID + 1
		b.saveState()
		b.nextUID = opts.UID
		var err error
		out, err = b.appendLocked(f, []*pending{p})
		if err != nil {
			b.nextUID = opts.UID + 1
		}
		return err
	})
	if err != nil {
		return store.AppendResult{}, err
	}
	for _, m := range out {
		b.addEvent(event{kind: store.ChangeNew, uid: m.uid, m: m})
	}
	return store.AppendResult{UIDValidity: b.uidValidity, UID: opts.UID}, nil
}

// ReplicaSetUIDNext implements store.Replica: X-IMAPbase's last UID is
// rewritten in place (an empty file has none: the state file keeps it).
func (s *Store) ReplicaSetUIDNext(ctx context.Context, mailbox string, uidNext uint32) error {
	b, err := s.box(mailbox)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.writeLocked(ctx, func(f *os.File) error {
		if uidNext <= b.nextUID {
			return nil
		}
		b.nextUID = uidNext
		b.saveState()
		if b.baseDigitsOff < 0 {
			return nil
		}
		if _, err := f.WriteAt(fmt.Appendf(nil, "%010d", uidNext-1), b.baseDigitsOff); err != nil {
			return fmt.Errorf("mbox: %w", err)
		}
		if !s.opts.NoSync {
			if err := f.Sync(); err != nil {
				return fmt.Errorf("mbox: %w", err)
			}
		}
		b.baseLastUID = uidNext - 1
		b.fileChanged(f)
		return nil
	})
}

// ReplicaRenumber implements store.Replica.
func (s *Store) ReplicaRenumber(ctx context.Context, mailbox string, uidValidity, uidNext uint32, uids map[string]uint32) error {
	b, err := s.box(mailbox)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	err = b.writeLocked(ctx, func(f *os.File) error {
		pristine := len(b.msgs) == 0 && b.nextUID <= 1
		if uidValidity == 0 || (uidValidity <= b.uidValidity && !pristine) {
			return fmt.Errorf("mbox: UIDVALIDITY %d not above %d: %w", uidValidity, b.uidValidity, store.ErrUIDNotAvailable)
		}
		next := max(uidNext, 1)
		for _, u := range uids {
			if u >= next {
				next = u + 1
			}
		}
		oldUV := b.uidValidity
		type pend struct {
			m *msg
			g string
		}
		seen := map[uint32]bool{}
		list := make([]*msg, 0, len(b.msgs))
		var rest []pend
		guids := map[uint32]string{}
		for _, m := range b.msgs {
			g := b.info(m, oldUV).GUID
			nm := *m
			if u, ok := uids[g]; ok && u != 0 && !seen[u] {
				seen[u] = true
				nm.uid = u
				guids[u] = g
				list = append(list, &nm)
				continue
			}
			rest = append(rest, pend{&nm, g})
		}
		// The others, in their present order, above every UID given.
		for _, r := range rest {
			r.m.uid = next
			guids[next] = r.g
			next++
			list = append(list, r.m)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].uid < list[j].uid })
		// Every message keeps its GUID under the new UIDVALIDITY.
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		for _, m := range list {
			fmt.Fprintf(w, "%d %s\n", m.uid, guids[m.uid])
		}
		w.Flush()
		if err := s.writeFileAtomic(b.replicaGUIDPath(uidValidity), buf.Bytes()); err != nil {
			return err
		}
		b.uidValidity, b.nextUID = uidValidity, next
		if err := b.rewrite(f, list); err != nil {
			b.uidValidity = oldUV
			return err
		}
		if oldUV != uidValidity {
			os.Remove(b.replicaGUIDPath(oldUV))
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.rg.mu.Lock()
	b.rg.loaded = false
	b.rg.mu.Unlock()
	b.addEvent(event{kind: store.ChangeUIDValidity})
	return nil
}
