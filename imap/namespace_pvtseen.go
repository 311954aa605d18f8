package imap

import (
	"context"
	"io"
	"path/filepath"
	"slices"

	"github.com/yubinmail/yubin/store"
)

// PrivateSeenFileName is the file, in a SharedNamespace's PrivateDir,
// where a user keeps its own \Seen flags of one owner's mailboxes: per
// mailbox, the UIDVALIDITY they belong to and the UIDs seen, in JSON.
// (Dovecot keeps them in a private index of its own format there; the
// two do not read each other's.)
const PrivateSeenFileName = "yubin-private-seen.json"

// privateSeenEntry is one mailbox's private \Seen flags.
type privateSeenEntry struct {
	UIDValidity uint32       `json:"uidvalidity"`
	Seen        store.UIDSet `json:"seen"`
}

// privateSeen is a session's private \Seen flags of one shared mailbox.
type privateSeen struct {
	ns          *SharedNamespace
	dir         string
	mailbox     string
	uidValidity uint32
	seen        store.UIDSet // never nil once loaded (nil means all)
}

func (p *privateSeen) path() string { return filepath.Join(p.dir, PrivateSeenFileName) }

// load reads the mailbox's flags; those of another UIDVALIDITY are
// dropped.
func (p *privateSeen) load(ctx context.Context, mb store.Mailbox) error {
	st, err := mb.Status(ctx)
	if err != nil {
		return err
	}
	p.uidValidity = st.UIDValidity
	p.ns.pvtMu.Lock()
	defer p.ns.pvtMu.Unlock()
	return p.read()
}

// read takes the mailbox's set from the file (under pvtMu).
func (p *privateSeen) read() error {
	m := map[string]privateSeenEntry{}
	if err := loadJSONFile(p.path(), &m); err != nil {
		return err
	}
	p.seen = store.UIDSet{}
	if e, ok := m[p.mailbox]; ok && e.UIDValidity == p.uidValidity {
		for _, r := range e.Seen {
			if r.Start > 0 && r.Start <= r.Stop {
				p.seen.AddRange(r.Start, r.Stop)
			}
		}
	}
	return nil
}

// update changes the set as the file has it now (other sessions of the
// user may have changed it) and writes it back.
func (p *privateSeen) update(add bool, uids []uint32) error {
	if len(uids) == 0 {
		return nil
	}
	p.ns.pvtMu.Lock()
	defer p.ns.pvtMu.Unlock()
	m := map[string]privateSeenEntry{}
	if err := loadJSONFile(p.path(), &m); err != nil {
		return err
	}
	if err := p.read(); err != nil {
		return err
	}
	if add {
		for _, u := range uids {
			p.seen.Add(u)
		}
	} else {
		p.seen = subtractUIDs(p.seen, uids)
	}
	m[p.mailbox] = privateSeenEntry{UIDValidity: p.uidValidity, Seen: p.seen}
	return saveJSONFile(p.path(), m, true)
}

// subtractUIDs is set without uids, range by range (a range may be
// as long as the UIDs go).
func subtractUIDs(set store.UIDSet, uids []uint32) store.UIDSet {
	sorted := append([]uint32(nil), uids...)
	slices.Sort(sorted)
	keep := store.UIDSet{}
	for _, r := range set {
		start, done := r.Start, false
		for _, u := range sorted {
			if u < start || u > r.Stop {
				continue
			}
			if u > start {
				keep.AddRange(start, u-1)
			}
			if u == r.Stop {
				done = true
				break
			}
			start = u + 1
		}
		if !done && start <= r.Stop {
			keep.AddRange(start, r.Stop)
		}
	}
	return keep
}

// overlay gives f the user's own \Seen of uid.
func (p *privateSeen) overlay(uid uint32, f store.Flags) store.Flags {
	if p.seen.Contains(uid) {
		f.System |= store.Seen
	} else {
		f.System &^= store.Seen
	}
	return f
}

// Status implements store.Mailbox: Unseen counts the user's own \Seen.
func (m *sharedMailbox) Status(ctx context.Context) (store.MailboxStatus, error) {
	st, err := m.Mailbox.Status(ctx)
	if err != nil || m.pvt == nil {
		return st, err
	}
	var unseen uint32
	err = m.Mailbox.Messages(ctx, nil, func(mi *store.MessageInfo) error {
		if !m.pvt.seen.Contains(mi.UID) {
			unseen++
		}
		return nil
	})
	st.Unseen = unseen
	return st, err
}

// Messages implements store.Mailbox with the user's own \Seen.
func (m *sharedMailbox) Messages(ctx context.Context, uids store.UIDSet, fn func(*store.MessageInfo) error) error {
	if m.pvt == nil {
		return m.Mailbox.Messages(ctx, uids, fn)
	}
	return m.Mailbox.Messages(ctx, uids, func(mi *store.MessageInfo) error {
		c := *mi
		c.Flags = m.pvt.overlay(c.UID, c.Flags)
		return fn(&c)
	})
}

// Poll implements store.Mailbox with the user's own \Seen.
func (m *sharedMailbox) Poll(ctx context.Context) ([]store.Change, error) {
	changes, err := m.Mailbox.Poll(ctx)
	if m.pvt != nil {
		for i := range changes {
			if k := changes[i].Kind; k == store.ChangeNew || k == store.ChangeFlags {
				changes[i].Message.Flags = m.pvt.overlay(changes[i].Message.UID, changes[i].Message.Flags)
			}
		}
	}
	return changes, err
}

// Append implements store.Mailbox: a \Seen asked for is the user's own.
func (m *sharedMailbox) Append(ctx context.Context, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	if m.pvt == nil || opts.Flags.System&store.Seen == 0 {
		return m.Mailbox.Append(ctx, r, opts)
	}
	opts.Flags.System &^= store.Seen
	res, err := m.Mailbox.Append(ctx, r, opts)
	if err == nil && res.UID != 0 {
		err = m.pvt.update(true, []uint32{res.UID})
	}
	return res, err
}

// SetFlags implements store.Mailbox: \Seen changes the user's own set,
// the other flags the owner's messages (whose \Seen stays as it is).
func (m *sharedMailbox) SetFlags(ctx context.Context, uids store.UIDSet, op store.FlagOp, flags store.Flags, since uint64) ([]store.FlagUpdate, store.UIDSet, error) {
	if m.pvt == nil {
		return m.Mailbox.SetFlags(ctx, uids, op, flags, since)
	}
	wantSeen := flags.System&store.Seen != 0
	rest := flags
	rest.System &^= store.Seen
	// The messages there are, and which of them have the owner's \Seen.
	var present []uint32
	var ownerSeen store.UIDSet
	err := m.Mailbox.Messages(ctx, uids, func(mi *store.MessageInfo) error {
		present = append(present, mi.UID)
		if mi.Flags.System&store.Seen != 0 {
			ownerSeen.Add(mi.UID)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	touched := map[uint32]bool{}
	var failed store.UIDSet
	apply := func(set store.UIDSet, f store.Flags) error {
		if len(set) == 0 {
			return nil
		}
		updated, fl, err := m.Mailbox.SetFlags(ctx, set, op, f, since)
		for _, u := range updated {
			touched[u.UID] = true
		}
		failed = append(failed, fl...)
		return err
	}
	switch {
	case op == store.FlagsReplace:
		// Replace keeps the owner's \Seen: messages with and without it
		// are replaced apart.
		var with, without store.UIDSet
		for _, u := range present {
			if ownerSeen.Contains(u) {
				with.Add(u)
			} else {
				without.Add(u)
			}
		}
		wf := rest
		wf.System |= store.Seen
		if err := apply(with, wf); err != nil {
			return nil, nil, err
		}
		if err := apply(without, rest); err != nil {
			return nil, nil, err
		}
	case rest.System != 0 || len(rest.Keywords) > 0:
		if err := apply(uids, rest); err != nil {
			return nil, nil, err
		}
	}
	// The private part: messages not refused by UNCHANGEDSINCE.
	var change []uint32
	add := op != store.FlagsRemove && wantSeen
	if wantSeen || op == store.FlagsReplace {
		for _, u := range present {
			if len(failed) > 0 && failed.Contains(u) {
				continue
			}
			has := m.pvt.seen.Contains(u)
			switch {
			case op == store.FlagsRemove && has, op != store.FlagsRemove && wantSeen && !has, op == store.FlagsReplace && !wantSeen && has:
				change = append(change, u)
				touched[u] = true
			case op == store.FlagsReplace:
				touched[u] = true
			}
		}
	}
	if err := m.pvt.update(add, change); err != nil {
		return nil, nil, err
	}
	var out []store.FlagUpdate
	var set []uint32
	for _, u := range present {
		if touched[u] {
			set = append(set, u)
		}
	}
	if len(set) == 0 {
		return nil, failed, nil
	}
	err = m.Messages(ctx, store.UIDSetOf(set...), func(mi *store.MessageInfo) error {
		out = append(out, store.FlagUpdate{UID: mi.UID, Flags: store.Flags{System: mi.Flags.System, Keywords: append([]string(nil), mi.Flags.Keywords...)}, ModSeq: mi.ModSeq})
		return nil
	})
	return out, failed, err
}
