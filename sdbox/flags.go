package sdbox

import (
	"context"
	"encoding/binary"
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// canonKeywords spells keywords the mailbox already has as it has them.
func (mb *Mailbox) canonKeywords(kws []string) []string {
	out := make([]string, 0, len(kws))
	for _, k := range kws {
		for _, n := range mb.view.kwNames {
			if strings.EqualFold(n, k) {
				k = n
				break
			}
		}
		out = append(out, k)
	}
	return out
}

// SetFlags implements store.Mailbox. Changes are appended to the log as
// Dovecot writes them: FLAG_UPDATE records (add/remove masks; a
// replacement removes every other system flag) and KEYWORD_UPDATE /
// KEYWORD_RESET records, all in one transaction.
func (mb *Mailbox) SetFlags(ctx context.Context, uids store.UIDSet, op store.FlagOp, flags store.Flags, unchangedSince uint64) ([]store.FlagUpdate, store.UIDSet, error) {
	if err := mb.check(true); err != nil {
		return nil, nil, err
	}
	if err := validKeywords(flags.Keywords); err != nil {
		return nil, nil, err
	}
	flags.Keywords = mb.canonKeywords(flags.Keywords)
	var failed store.UIDSet
	type change struct {
		uid      uint32
		old, new store.Flags
	}
	var changed []change
	var same []uint32
	for _, i := range mb.view.indexes(uids) {
		m := &mb.view.msgs[i]
		if unchangedSince > 0 && m.modseq > unchangedSince {
			failed.Add(m.uid)
			continue
		}
		old := flagsOf(mb.view, m)
		nf := old.Apply(op, flags)
		if nf.Equal(old) {
			if op == store.FlagsReplace {
				same = append(same, m.uid)
			}
			continue
		}
		changed = append(changed, change{m.uid, old, nf})
	}
	var updated []store.FlagUpdate
	if len(changed) > 0 {
		tx := newTx()
		// System flags: one FLAG_UPDATE entry per run of UIDs with the
		// same masks.
		var fb []byte
		var lastAdd, lastRem uint8
		var runStart, runEnd uint32
		flush := func() {
			if runStart != 0 {
				fb = binary.LittleEndian.AppendUint32(fb, runStart)
				fb = binary.LittleEndian.AppendUint32(fb, runEnd)
				fb = append(fb, lastAdd, lastRem, 0, 0)
			}
		}
		for _, c := range changed {
			o, n := indexFlags(c.old.System), indexFlags(c.new.System)
			if o == n {
				continue
			}
			add, rem := n&^o, o&^n
			if op == store.FlagsReplace {
				add, rem = n, flagsMask&^n
			}
			if runStart != 0 && add == lastAdd && rem == lastRem && c.uid == runEnd+1 {
				runEnd = c.uid
				continue
			}
			flush()
			runStart, runEnd, lastAdd, lastRem = c.uid, c.uid, add, rem
		}
		flush()
		if len(fb) > 0 {
			tx.add(recFlagUpdate, fb)
		}
		// Keywords: per keyword, the UIDs that gain or lose it.
		adds, rems := map[string][]uint32{}, map[string][]uint32{}
		for _, c := range changed {
			for _, k := range c.new.Keywords {
				if !c.old.Has(k) {
					adds[k] = append(adds[k], c.uid)
				}
			}
			for _, k := range c.old.Keywords {
				if !c.new.Has(k) {
					rems[k] = append(rems[k], c.uid)
				}
			}
		}
		for _, k := range sortedKeys(rems) {
			tx.add(recKeywordUpdate, keywordBody(1, k, rems[k]))
		}
		for _, k := range sortedKeys(adds) {
			tx.add(recKeywordUpdate, keywordBody(0, k, adds[k]))
		}
		t, err := mb.h.begin(ctx, mb)
		if err != nil {
			return nil, nil, err
		}
		sameBox := mb.sameMailbox(t)
		if !sameBox {
			// Renumbered or recreated: these UIDs name other messages.
			t.abort()
			return nil, nil, store.ErrMailboxGone
		}
		ms := t.tip.modseq
		data, off, err := t.commit(tx)
		if err != nil {
			return nil, nil, err
		}
		if sameBox {
			mb.applyOwn(t, data, off, ms)
		}
		mb.h.signal(mb)
	}
	for _, c := range changed {
		if m := mb.view.lookup(c.uid); m != nil {
			updated = append(updated, store.FlagUpdate{UID: c.uid, Flags: flagsOf(mb.view, m), ModSeq: max(m.modseq, 1)})
		}
	}
	for _, u := range same {
		if m := mb.view.lookup(u); m != nil {
			updated = append(updated, store.FlagUpdate{UID: u, Flags: flagsOf(mb.view, m), ModSeq: max(m.modseq, 1)})
		}
	}
	sort.Slice(updated, func(i, j int) bool { return updated[i].UID < updated[j].UID })
	return updated, failed, nil
}

func sortedKeys(m map[string][]uint32) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
