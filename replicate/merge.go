package replicate

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/yubinmail/yubin/store"
)

// side is one Endpoint and what the merge knows of it.
type side struct {
	e    Endpoint
	d    Diff
	next uint32 // UIDNEXT as the merge moves it
	news map[string]Msg
	chg  map[string]Msg
	exp  map[string]bool
}

func newSide(e Endpoint, d Diff) *side {
	s := &side{e: e, d: d, next: d.UIDNext, news: map[string]Msg{}, chg: map[string]Msg{}, exp: map[string]bool{}}
	for _, m := range d.New {
		s.news[m.GUID] = m
	}
	for _, m := range d.Changed {
		s.chg[m.GUID] = m
	}
	for _, g := range d.Expunged {
		s.exp[g] = true
	}
	return s
}

// diffs gets both sides' diffs of a mailbox, full on both when either
// lacks a usable base.
func diffs(ctx context.Context, a, b Endpoint, name string, full bool) (Diff, Diff, error) {
	da, err := a.Diff(ctx, name, full)
	if err != nil {
		return da, Diff{}, err
	}
	db, err := b.Diff(ctx, name, full)
	if err != nil {
		return da, db, err
	}
	if !full && da.HasBase != db.HasBase {
		return diffs(ctx, a, b, name, true)
	}
	if !da.Exists || !db.Exists {
		return da, db, fmt.Errorf("replicate: mailbox vanished during the sync")
	}
	return da, db, nil
}

// align gives both sides of a mailbox the same UIDVALIDITY and UIDs: a
// side that never gave out a UID takes the other's; otherwise the side
// with the lower UIDVALIDITY takes the higher one (RFC 9051 2.3.1.1: it
// must grow) and the other side's UIDs for the messages both hold, its
// own messages going above the other's UIDNEXT.
func align(ctx context.Context, a, b Endpoint, name string, da, db Diff) error {
	// The pristine side keeps UIDNEXT 1: the other side's messages are
	// then copied under their own UIDs, and the merge raises UIDNEXT
	// past them. Taking the other's UIDNEXT at once would make every
	// one of them look like a UID this side had used, and renumber it.
	pristine := func(d Diff) bool { return d.Messages == 0 && d.UIDNext <= 1 }
	switch {
	case pristine(db):
		return b.Renumber(ctx, name, da.UIDValidity, 1, nil)
	case pristine(da):
		return a.Renumber(ctx, name, db.UIDValidity, 1, nil)
	}
	hi, lo, dhi := a, b, da
	if db.UIDValidity > da.UIDValidity {
		hi, lo, dhi = b, a, db
	}
	full, err := hi.Diff(ctx, name, true)
	if err != nil {
		return err
	}
	uids := make(map[string]uint32, len(full.New))
	for _, m := range full.New {
		uids[m.GUID] = m.UID
	}
	return lo.Renumber(ctx, name, dhi.UIDValidity, full.UIDNext, uids)
}

// mergeMailbox merges the messages of a mailbox both sides have.
func (s *Syncer) mergeMailbox(ctx context.Context, a, b Endpoint, name string, st *Stats, md mode) (*Commit, error) {
	generic := md.generic
	da, db, err := diffs(ctx, a, b, name, false)
	if err != nil {
		return nil, err
	}
	if generic && da.UIDValidity == db.UIDValidity {
		// Each side keeps its own UIDs: under one UIDVALIDITY a client
		// that moves from one side to the other would find other
		// messages under the UIDs it knows. A side with store.Replica
		// takes a new UIDVALIDITY; without one, the mailbox is left.
		var x Endpoint
		switch {
		case md.replicaB:
			x = b
		case md.replicaA:
			x = a
		default:
			return nil, fmt.Errorf("%w (UIDVALIDITY %d)", ErrUIDValidityClash, da.UIDValidity)
		}
		if err := x.Renumber(ctx, name, da.UIDValidity+1, max(da.UIDNext, db.UIDNext), nil); err != nil {
			return nil, err
		}
		if da, db, err = diffs(ctx, a, b, name, true); err != nil {
			return nil, err
		}
		if da.UIDValidity == db.UIDValidity {
			return nil, fmt.Errorf("%w (UIDVALIDITY %d)", ErrUIDValidityClash, da.UIDValidity)
		}
	}
	if !generic && da.UIDValidity != db.UIDValidity {
		if err := align(ctx, a, b, name, da, db); err != nil {
			return nil, err
		}
		if da, db, err = diffs(ctx, a, b, name, true); err != nil {
			return nil, err
		}
		if da.UIDValidity != db.UIDValidity {
			return nil, fmt.Errorf("replicate: UIDVALIDITY %d and %d could not be aligned", da.UIDValidity, db.UIDValidity)
		}
	}
	A, B := newSide(a, da), newSide(b, db)
	c := &Commit{Mailbox: name, Reset: !da.HasBase, Put: map[string]BaseMsg{}}
	baseOf := func(g string) BaseMsg {
		if x, ok := da.Base[g]; ok {
			return x
		}
		return db.Base[g]
	}

	// 1. Expunges: a base message gone from one side goes from the
	// other, flag changes there notwithstanding (expunge wins, as in
	// dsync).
	for _, p := range [][2]*side{{A, B}, {B, A}} {
		from, to := p[0], p[1]
		var ms []UIDGUID
		var gs []string
		for g := range from.exp {
			if to.exp[g] {
				continue
			}
			uid := baseOf(g).UID
			if m, ok := to.chg[g]; ok {
				uid = m.UID
			}
			ms = append(ms, UIDGUID{UID: uid, GUID: g})
			gs = append(gs, g)
		}
		if len(ms) > 0 {
			if err := to.e.Expunge(ctx, name, ms); err != nil && !errors.Is(err, store.ErrNoSuchMessage) {
				s.log().Warn("replicate: expunge failed", "mailbox", name, "err", err)
				continue
			}
			st.Expunged += len(ms)
		}
		c.Del = append(c.Del, gs...)
	}
	for g := range A.exp {
		if B.exp[g] {
			c.Del = append(c.Del, g)
		}
	}

	// 2. Flags of base messages changed on either side: a three-way
	// merge per flag against the base.
	changed := map[string]bool{}
	for g := range A.chg {
		changed[g] = true
	}
	for g := range B.chg {
		changed[g] = true
	}
	var fcA, fcB []FlagChange
	type planned struct {
		g      string
		uid    uint32
		fa, fb Msg
	}
	var plans []planned
	for g := range changed {
		if A.exp[g] || B.exp[g] {
			continue
		}
		bm := baseOf(g)
		ma, okA := A.chg[g]
		mb, okB := B.chg[g]
		if !okA {
			ma = Msg{UID: bm.UID, GUID: g, Flags: bm.Flags}
		}
		if !okB {
			mb = Msg{UID: bm.UID, GUID: g, Flags: bm.Flags}
		}
		final := merge3(bm.Flags, ma.Flags, mb.Flags)
		if !final.Equal(ma.Flags) {
			fcA = append(fcA, FlagChange{UID: ma.UID, GUID: g, Flags: final, UnchangedSince: ma.ModSeq})
		}
		if !final.Equal(mb.Flags) {
			fcB = append(fcB, FlagChange{UID: mb.UID, GUID: g, Flags: final, UnchangedSince: mb.ModSeq})
		}
		c.Put[g] = BaseMsg{UID: ma.UID, Flags: final}
		plans = append(plans, planned{g, ma.UID, ma, mb})
	}
	failedA, failedB := s.applyFlags(ctx, A, name, fcA, st), s.applyFlags(ctx, B, name, fcB, st)
	for _, p := range plans {
		// A side that did not take the merged flags keeps them in the
		// base as it has them, so that the next sync tries again.
		if failedA[p.uid] {
			c.Put[p.g] = BaseMsg{UID: p.uid, Flags: p.fa.Flags}
		} else if failedB[p.uid] {
			c.Put[p.g] = BaseMsg{UID: p.uid, Flags: p.fb.Flags}
		}
	}

	// 3. New messages.
	if generic {
		s.mergeNewGeneric(ctx, A, B, name, c, st)
		return c, nil
	}
	clashes := s.guidClashes(ctx, A, B, name)
	s.mergeNew(ctx, A, B, name, c, st)

	// 4. UIDNEXT in step, so that a UID one side used is not given
	// to another message by the other.
	next := max(A.next, B.next)
	for _, x := range []*side{A, B} {
		if x.next < next {
			if err := x.e.SetUIDNext(ctx, name, next); err != nil {
				s.log().Warn("replicate: UIDNEXT not raised", "mailbox", name, "err", err)
			}
		}
	}
	if clashes > 0 {
		return nil, fmt.Errorf("%w: %d messages left as they are", ErrGUIDClash, clashes)
	}
	return c, nil
}

// ErrGUIDClash: a mailbox holds on each side a message new since the
// base under one GUID, but their bytes differ: they are different
// messages (two stores that derive GUIDs from UIDVALIDITY and UID alone,
// as mbox did for the messages it keeps such GUIDs for, of mailboxes
// created apart with one UIDVALIDITY). Both are left as they are and the
// mailbox's sync is reported as failed, rather than one taken for the
// other and lost from view.
var ErrGUIDClash = errors.New("replicate: one GUID names different messages on the two sides")

// guidClashes finds the GUIDs new on both sides whose bytes differ,
// takes them out of the merge, and returns how many there were.
func (s *Syncer) guidClashes(ctx context.Context, A, B *side, name string) int {
	var both []string
	for g := range A.news {
		if _, ok := B.news[g]; ok {
			both = append(both, g)
		}
	}
	if len(both) == 0 {
		return 0
	}
	sort.Strings(both)
	ha, errA := A.e.Hash(ctx, name, both)
	hb, errB := B.e.Hash(ctx, name, both)
	if errA != nil || errB != nil {
		return 0 // paired by GUID, as before the check
	}
	n := 0
	for _, g := range both {
		if ha[g] != "" && hb[g] != "" && ha[g] != hb[g] {
			s.log().Warn("replicate: one GUID names different messages on the two sides; both left as they are", "mailbox", name, "guid", g)
			delete(A.news, g)
			delete(B.news, g)
			n++
		}
	}
	return n
}

// applyFlags sends flag changes to one side and returns the UIDs that
// did not take them.
func (s *Syncer) applyFlags(ctx context.Context, x *side, name string, fcs []FlagChange, st *Stats) map[uint32]bool {
	out := map[uint32]bool{}
	if len(fcs) == 0 {
		return out
	}
	failed, err := x.e.SetFlags(ctx, name, fcs)
	if err != nil {
		s.log().Warn("replicate: flags not set", "mailbox", name, "err", err)
		for _, f := range fcs {
			out[f.UID] = true
		}
		return out
	}
	for _, u := range failed {
		out[u] = true
	}
	st.FlagUpdates += len(fcs) - len(failed)
	return out
}

// mergeNew copies the messages new on one side to the other. A message
// keeps its UID when the other side has not reached it (UIDNEXT); any
// other (both sides got different messages under the same UIDs, or the
// other side used and expunged the UID) is renumbered on both sides
// above both UIDNEXTs: copied to the other side first, then expunged
// and re-added under the new UID on its own side, so that it exists
// somewhere at every step. UIDVALIDITY does not change: the old UID is
// expunged, the new one was never used.
func (s *Syncer) mergeNew(ctx context.Context, A, B *side, name string, c *Commit, st *Stats) {
	// The same GUID new on both sides (an interrupted earlier sync).
	for g, ma := range A.news {
		mb, ok := B.news[g]
		if !ok {
			continue
		}
		if ma.UID == mb.UID {
			final := union(ma.Flags, mb.Flags)
			fa := s.applyFlagsIf(ctx, A, name, ma, final, st)
			fb := s.applyFlagsIf(ctx, B, name, mb, final, st)
			if fa && fb {
				c.Put[g] = BaseMsg{UID: ma.UID, Flags: final}
			}
			delete(A.news, g)
			delete(B.news, g)
			continue
		}
		// Different UIDs: drop the lower copy; the higher is placed
		// as a message new on its side only.
		lo, m := B, mb
		if ma.UID < mb.UID {
			lo, m = A, ma
		}
		if err := lo.e.Expunge(ctx, name, []UIDGUID{{m.UID, g}}); err != nil && !errors.Is(err, store.ErrNoSuchMessage) {
			s.log().Warn("replicate: duplicate not expunged", "mailbox", name, "err", err)
		}
		delete(lo.news, g)
	}
	type item struct {
		from, to *side
		m        Msg
	}
	var keep, renum []item
	for _, p := range [][2]*side{{A, B}, {B, A}} {
		next0 := p[1].next
		for _, m := range p[0].news {
			it := item{p[0], p[1], m}
			if m.UID >= next0 {
				keep = append(keep, it)
			} else {
				renum = append(renum, it)
			}
		}
	}
	byUID := func(l []item) {
		sort.Slice(l, func(i, j int) bool {
			if l[i].m.UID != l[j].m.UID {
				return l[i].m.UID < l[j].m.UID
			}
			return l[i].m.GUID < l[j].m.GUID
		})
	}
	byUID(keep)
	for _, it := range keep {
		if err := copyMsg(ctx, it.from.e, it.to.e, name, UIDGUID{it.m.UID, it.m.GUID}, it.m); err != nil {
			if errors.Is(err, store.ErrUIDNotAvailable) {
				// The other side took the UID meanwhile (a delivery
				// since its diff): renumber, as for any other clash.
				renum = append(renum, it)
				continue
			}
			s.logCopyErr(name, it.m.GUID, err)
			continue
		}
		it.to.next = max(it.to.next, it.m.UID+1)
		c.Put[it.m.GUID] = BaseMsg{UID: it.m.UID, Flags: it.m.Flags}
		st.Copied++
		st.Bytes += it.m.Size
	}
	byUID(renum)
	for _, it := range renum {
		n := max(A.next, B.next)
		m := it.m
		m.UID = n
		err := copyMsg(ctx, it.from.e, it.to.e, name, UIDGUID{it.m.UID, it.m.GUID}, m)
		for tries := 0; errors.Is(err, store.ErrUIDNotAvailable) && tries < 3; tries++ {
			// The other side's UIDNEXT moved on meanwhile.
			n += 16
			m.UID = n
			err = copyMsg(ctx, it.from.e, it.to.e, name, UIDGUID{it.m.UID, it.m.GUID}, m)
		}
		if err != nil {
			s.logCopyErr(name, it.m.GUID, err)
			continue
		}
		it.to.next = n + 1
		st.Copied++
		st.Bytes += it.m.Size
		if err := it.from.e.Expunge(ctx, name, []UIDGUID{{it.m.UID, it.m.GUID}}); err != nil {
			if errors.Is(err, store.ErrNoSuchMessage) {
				// The user expunged it here since it was copied:
				// the copy goes too, or the next sync would bring
				// the message back.
				if err := it.to.e.Expunge(ctx, name, []UIDGUID{{n, m.GUID}}); err != nil && !errors.Is(err, store.ErrNoSuchMessage) {
					s.log().Warn("replicate: copy of a message expunged meanwhile not expunged", "mailbox", name, "err", err)
				}
				continue
			}
			s.log().Warn("replicate: renumbered message not expunged", "mailbox", name, "err", err)
			continue
		}
		if err := copyMsg(ctx, it.to.e, it.from.e, name, UIDGUID{n, m.GUID}, m); err != nil {
			// It is on the other side under n: the next sync brings
			// it back here (under n, or renumbered again).
			s.logCopyErr(name, m.GUID, err)
			continue
		}
		it.from.next = n + 1
		c.Put[m.GUID] = BaseMsg{UID: n, Flags: m.Flags}
		st.Renumbered++
	}
}

// mergeNewGeneric copies new messages when a side keeps neither UIDs
// nor GUIDs (no store.Replica): each copy gets the UID its store gives
// and is known by the original's ID from then on. New messages on both
// sides with the same bytes (a copy made by an interrupted sync whose
// state was not written) are paired, not copied again.
func (s *Syncer) mergeNewGeneric(ctx context.Context, A, B *side, name string, c *Commit, st *Stats) {
	for g, ma := range A.news {
		if mb, ok := B.news[g]; ok {
			final := union(ma.Flags, mb.Flags)
			if s.applyFlagsIf(ctx, A, name, ma, final, st) && s.applyFlagsIf(ctx, B, name, mb, final, st) {
				c.Put[g] = BaseMsg{UID: ma.UID, Flags: final}
			}
			delete(A.news, g)
			delete(B.news, g)
		}
	}
	if len(A.news) > 0 && len(B.news) > 0 {
		ids := func(m map[string]Msg) []string {
			var out []string
			for g := range m {
				out = append(out, g)
			}
			sort.Strings(out)
			return out
		}
		ha, errA := A.e.Hash(ctx, name, ids(A.news))
		hb, errB := B.e.Hash(ctx, name, ids(B.news))
		if errA == nil && errB == nil {
			byHash := map[string][]string{}
			for _, g := range ids(B.news) {
				if h := hb[g]; h != "" {
					byHash[h] = append(byHash[h], g)
				}
			}
			for _, g := range ids(A.news) {
				l := byHash[ha[g]]
				if ha[g] == "" || len(l) == 0 {
					continue
				}
				gb := l[0]
				byHash[ha[g]] = l[1:]
				ma, mb := A.news[g], B.news[gb]
				final := union(ma.Flags, mb.Flags)
				if s.applyFlagsIf(ctx, A, name, ma, final, st) && s.applyFlagsIf(ctx, B, name, mb, final, st) {
					if c.Alias == nil {
						c.Alias = map[string]string{}
					}
					c.Alias[g] = gb
					c.Put[g] = BaseMsg{UID: ma.UID, Flags: final}
				}
				delete(A.news, g)
				delete(B.news, gb)
			}
		}
	}
	for _, p := range [][2]*side{{A, B}, {B, A}} {
		from, to := p[0], p[1]
		var ms []Msg
		for _, m := range from.news {
			ms = append(ms, m)
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].UID < ms[j].UID })
		for _, m := range ms {
			cp := m
			cp.UID = 0
			if err := copyMsg(ctx, from.e, to.e, name, UIDGUID{m.UID, m.GUID}, cp); err != nil {
				s.logCopyErr(name, m.GUID, err)
				continue
			}
			c.Put[m.GUID] = BaseMsg{UID: m.UID, Flags: m.Flags}
			st.Copied++
			st.Bytes += m.Size
		}
	}
}

// logCopyErr logs a message that was not copied. A message expunged or
// a UID taken meanwhile is the ordinary outcome of changes made during
// the sync (the next sync sees them); anything else is a warning.
func (s *Syncer) logCopyErr(name, guid string, err error) {
	if errors.Is(err, store.ErrNoSuchMessage) || errors.Is(err, store.ErrUIDNotAvailable) {
		s.log().Debug("replicate: message not copied, changed during the sync", "mailbox", name, "guid", guid, "err", err)
		return
	}
	s.log().Warn("replicate: message not copied", "mailbox", name, "guid", guid, "err", err)
}

// applyFlagsIf sets final on one side's message when it differs, and
// reports whether the side has final.
func (s *Syncer) applyFlagsIf(ctx context.Context, x *side, name string, m Msg, final store.Flags, st *Stats) bool {
	if m.Flags.Equal(final) {
		return true
	}
	failed := s.applyFlags(ctx, x, name, []FlagChange{{UID: m.UID, GUID: m.GUID, Flags: final, UnchangedSince: m.ModSeq}}, st)
	return !failed[m.UID]
}
