package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/yubinmail/yubin/store"
)

// SetFlags implements store.Mailbox. A flag change renames the file in
// cur/ (moving it from new/ if needed) with the new info letters.
func (h *handle) SetFlags(ctx context.Context, uids store.UIDSet, op store.FlagOp, flags store.Flags, unchangedSince uint64) ([]store.FlagUpdate, store.UIDSet, error) {
	if err := h.writable(); err != nil {
		return nil, nil, err
	}
	m := h.m
	var kwMask uint32
	if len(flags.Keywords) > 0 {
		if op == store.FlagsRemove {
			for _, k := range flags.Keywords {
				if !validKeyword(k) {
					return nil, nil, fmt.Errorf("maildir: keyword %q: %w", k, store.ErrKeywordInvalid)
				}
			}
			kwMask, _ = m.kw.Load().mask(flags.Keywords)
		} else {
			var err error
			if kwMask, err = m.keywordMask(ctx, flags.Keywords); err != nil {
				return nil, nil, err
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensureLoaded(ctx); err != nil {
		return nil, nil, err
	}
	var updated []store.FlagUpdate
	var failed store.UIDSet
	kl := m.kw.Load()
	retried := false
	for _, uid := range h.uidsIn(uids) {
		i := findUID(m.msgs, uid)
		if i < 0 {
			continue // expunged by someone else
		}
		x := m.msgs[i]
		if unchangedSince > 0 && x.modseq > unchangedSince {
			failed.Add(uid)
			continue
		}
		sys, kw := x.sys, x.kw
		switch op {
		case store.FlagsReplace:
			sys, kw = flags.System, kwMask
		case store.FlagsAdd:
			sys, kw = sys|flags.System, kw|kwMask
		case store.FlagsRemove:
			sys, kw = sys&^flags.System, kw&^kwMask
		}
		if sys == x.sys && kw == x.kw {
			if op == store.FlagsReplace {
				updated = append(updated, store.FlagUpdate{UID: uid, Flags: store.Flags{System: sys, Keywords: kl.names(kw)}, ModSeq: x.modseq})
			}
			continue
		}
		fn := parseFileName(x.name)
		fn.HasInfo, fn.System, fn.Keywords = true, sys, kw
		c := x.clone()
		c.sys, c.kw, c.name, c.inNew = sys, kw, fn.String(), false
		if err := m.renameMsg(x, c); err != nil {
			if !errors.Is(err, os.ErrNotExist) || retried {
				return updated, failed, fmt.Errorf("maildir: set flags: %w", err)
			}
			// Renamed by another process: rescan and try this one again.
			retried = true
			if err := m.syncLocked(ctx, true); err != nil {
				return updated, failed, err
			}
			if i = findUID(m.msgs, uid); i < 0 {
				continue
			}
			x = m.msgs[i]
			if unchangedSince > 0 && x.modseq > unchangedSince {
				failed.Add(uid)
				continue
			}
			fn = parseFileName(x.name)
			fn.HasInfo, fn.System, fn.Keywords = true, sys, kw
			c = x.clone()
			c.sys, c.kw, c.name, c.inNew = sys, kw, fn.String(), false
			if err := m.renameMsg(x, c); err != nil {
				return updated, failed, fmt.Errorf("maildir: set flags: %w", err)
			}
		}
		c.modseq = m.nextModSeq()
		m.msgs[i] = c
		m.emit(event{kind: store.ChangeFlags, uid: uid, m: c, modseq: c.modseq, origin: h})
		if j := findUID(h.view, uid); j >= 0 {
			h.view[j] = c
		}
		if c.modseq > h.hms {
			h.hms = c.modseq
		}
		updated = append(updated, store.FlagUpdate{UID: uid, Flags: store.Flags{System: sys, Keywords: kl.names(kw)}, ModSeq: c.modseq})
	}
	return updated, failed, nil
}

// uidsIn returns the UIDs of the handle's view that are in set (nil:
// all), ascending.
func (h *handle) uidsIn(set store.UIDSet) []uint32 {
	var out []uint32
	if set == nil {
		out = make([]uint32, len(h.view))
		for i, x := range h.view {
			out[i] = x.uid
		}
		return out
	}
	var norm store.UIDSet
	for _, r := range set {
		norm.AddRange(r.Start, r.Stop)
	}
	for _, r := range norm {
		for i := searchUID(h.view, r.Start); i < len(h.view) && h.view[i].uid <= r.Stop; i++ {
			out = append(out, h.view[i].uid)
		}
	}
	return out
}

// Expunge implements store.Mailbox.
func (h *handle) Expunge(ctx context.Context, uids store.UIDSet) ([]uint32, error) {
	if err := h.writable(); err != nil {
		return nil, err
	}
	m := h.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.ensureLoaded(ctx); err != nil {
		return nil, err
	}
	var out []uint32
	var freed, count int64
	retried := false
	for _, uid := range h.uidsIn(uids) {
		i := findUID(m.msgs, uid)
		if i < 0 || m.msgs[i].sys&store.Deleted == 0 {
			continue
		}
		x := m.msgs[i]
		if err := m.removeFile(x); err != nil {
			if !errors.Is(err, os.ErrNotExist) || retried {
				return out, fmt.Errorf("maildir: expunge: %w", err)
			}
			retried = true
			if err := m.syncLocked(ctx, true); err != nil {
				return out, err
			}
			if i = findUID(m.msgs, uid); i < 0 || m.msgs[i].sys&store.Deleted == 0 {
				continue
			}
			x = m.msgs[i]
			if err := m.removeFile(x); err != nil {
				return out, fmt.Errorf("maildir: expunge: %w", err)
			}
		}
		m.removeExpunged(x.uid, h)
		freed += x.size
		count++
		out = append(out, uid)
	}
	m.s.quotaDelta(-freed, -count)
	return out, nil
}

// removeExpunged drops uid from the state and tells the handles (m.mu
// held); origin's own view is updated directly.
func (m *mbox) removeExpunged(uid uint32, origin *handle) {
	m.msgs, _ = removeMsg(m.msgs, uid)
	ms := m.nextModSeq()
	m.emit(event{kind: store.ChangeExpunge, uid: uid, modseq: ms, origin: origin})
	if origin != nil {
		origin.view, _ = removeMsg(origin.view, uid)
		if ms > origin.hms {
			origin.hms = ms
		}
	}
}
