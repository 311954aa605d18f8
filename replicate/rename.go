package replicate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// A mailbox is known across renames by its UIDVALIDITY (what IMAP's
// OBJECTID MAILBOXID is made of here, and what a rename keeps), as dsync
// knows it by its mailbox GUID: a mailbox of the base missing under its
// name on one side, while that side has a mailbox not in the base with
// the same UIDVALIDITY holding some of the base's messages, was renamed
// on that side. (UIDVALIDITYs alone can repeat: each server allocates
// its own, and a mailbox aligned to the partner's takes one of the
// partner's.)

// rename is one rename: a mailbox's old and new names.
type rename struct{ from, to string }

// findRenames returns the renames side r made since the base, by old
// name.
func findRenames(ctx context.Context, e Endpoint, r BeginResult) map[string]string {
	cur := metaMap(r.Mailboxes)
	byUV := map[uint32][]string{} // new mailboxes by UIDVALIDITY
	for n, m := range cur {
		if !m.NoSelect && !m.InBase && m.UIDValidity != 0 {
			byUV[m.UIDValidity] = append(byUV[m.UIDValidity], n)
		}
	}
	gone := map[uint32][]BaseMailbox{}
	for _, b := range r.Base {
		if m := cur[normName(b.Name)]; m != nil && m.UIDValidity == b.UIDValidity || len(b.Probe) == 0 {
			// Still there, or nothing to recognise it by: an empty
			// mailbox renamed is a delete and a create, which copy
			// nothing.
			continue
		}
		gone[b.UIDValidity] = append(gone[b.UIDValidity], b)
	}
	out := map[string]string{}
	for uv, bs := range gone {
		cands := byUV[uv]
		if len(bs) != 1 || len(cands) != 1 || normName(bs[0].Name) == "INBOX" {
			continue
		}
		b, to := bs[0], cands[0]
		if h, err := e.Hash(ctx, to, b.Probe); err != nil || len(h) == 0 {
			continue
		}
		out[normName(b.Name)] = to
	}
	return out
}

// tempName is the name a mailbox is moved to when a rename from the
// other side needs its name, as dsync's "<name>-temp-<n>".
func tempName(name string, uidValidity uint32, taken func(string) bool) string {
	for i := uint32(0); ; i++ {
		n := fmt.Sprintf("%s-temp-%x", name, uidValidity+i)
		if !taken(n) {
			return n
		}
	}
}

// syncRenames replays the renames each side made since the base on the
// other, so the renamed mailbox keeps its mail, UIDs and UIDVALIDITY
// there without a copy. It reports whether anything was renamed (the
// caller then lists the mailboxes again).
//
// Conflicts, as dsync resolves them:
//   - renamed on one side, deleted on the other: nothing to replay; the
//     renamed mailbox is new to the other side and is created there with
//     all its mail (mail is never lost to a delete);
//   - renamed on both sides to the same name: only the state moves;
//   - renamed on both sides to different names: one name wins on both
//     (dsync takes the newer rename; the store keeps no rename times, so
//     here the name that sorts first, the same choice on both sides);
//   - renamed onto a name the other side has used meanwhile (a mailbox
//     created there): that mailbox moves aside to
//     "<name>-temp-<UIDVALIDITY hex>", as dsync's temp- names, and
//     reaches this side under that name;
//   - renames that swap or chain names are done through temporary names.
func (s *Syncer) syncRenames(ctx context.Context, a, b Endpoint, ba, bb BeginResult, st *Stats) (bool, error) {
	ra, rb := findRenames(ctx, a, ba), findRenames(ctx, b, bb)
	if len(ra) == 0 && len(rb) == 0 {
		return false, nil
	}
	A := &renameSide{e: a, meta: metaMap(ba.Mailboxes), base: baseUV(ba.Base)}
	B := &renameSide{e: b, meta: metaMap(bb.Mailboxes), base: baseUV(bb.Base)}
	olds := map[string]bool{}
	for o := range ra {
		olds[o] = true
	}
	for o := range rb {
		olds[o] = true
	}
	sorted := make([]string, 0, len(olds))
	for o := range olds {
		sorted = append(sorted, o)
	}
	sort.Strings(sorted) // parents before children
	for _, o := range sorted {
		ta, okA := ra[o]
		tb, okB := rb[o]
		switch {
		case okA && okB:
			win := min(ta, tb)
			A.state = append(A.state, rename{o, ta})
			B.state = append(B.state, rename{o, tb})
			if ta != win {
				A.replay = append(A.replay, rename{o, win})
			}
			if tb != win {
				B.replay = append(B.replay, rename{o, win})
			}
		case okA:
			if m := B.meta[o]; m != nil && m.InBase {
				A.state = append(A.state, rename{o, ta})
				B.replay = append(B.replay, rename{o, ta})
			}
		case okB:
			if m := A.meta[o]; m != nil && m.InBase {
				B.state = append(B.state, rename{o, tb})
				A.replay = append(A.replay, rename{o, tb})
			}
		}
	}
	var errs []error
	for _, x := range []*renameSide{A, B} {
		n, err := s.renames(ctx, x, A.meta, B.meta)
		st.MailboxesRenamed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return true, errors.Join(errs...)
}

// renameSide is one side's part of syncRenames.
type renameSide struct {
	e      Endpoint
	meta   map[string]*MailboxMeta
	base   map[string]uint32 // base UIDVALIDITY by name
	state  []rename          // its own renames: the state follows
	replay []rename          // the other side's renames, done here
}

func baseUV(bs []BaseMailbox) map[string]uint32 {
	out := make(map[string]uint32, len(bs))
	for _, b := range bs {
		out[normName(b.Name)] = b.UIDValidity
	}
	return out
}

// renames does one side's renames: first the state of the side's own
// (the store has them already), then the replays, each from the name
// the mailbox has now on this side. A replay of a child whose parent's
// replay carried it along only moves the state. It returns the number
// of replays done.
func (s *Syncer) renames(ctx context.Context, x *renameSide, ma, mb map[string]*MailboxMeta) (int, error) {
	var errs []error
	if len(x.state) > 0 {
		m := map[string]string{}
		for _, r := range x.state {
			m[r.from] = r.to
		}
		if err := x.e.RenameState(ctx, m); err != nil {
			errs = append(errs, fmt.Errorf("renames (state): %w", err))
		}
	}
	// The name each replayed mailbox has now (its own rename, if any,
	// was recorded above).
	cur := map[string]string{}
	for _, r := range x.state {
		cur[r.from] = r.to
	}
	type job struct{ from, to string }
	var jobs, carried []job
	var parents []job
	for _, r := range x.replay {
		from := r.from
		if c, ok := cur[r.from]; ok {
			from = c
		}
		j := job{from, r.to}
		isCarried := false
		for _, p := range parents {
			if isChildOf(j.from, p.from) && j.to == p.to+strings.TrimPrefix(j.from, p.from) {
				isCarried = true
			}
		}
		if isCarried {
			carried = append(carried, j)
			continue
		}
		parents = append(parents, j)
		jobs = append(jobs, j)
	}
	// A target that is the source of another replay (a swap or chain):
	// every source goes to a temporary name first.
	sources := map[string]bool{}
	for _, j := range jobs {
		sources[j.from] = true
	}
	chained := false
	for _, j := range jobs {
		chained = chained || sources[j.to]
	}
	taken := func(n string) bool { return ma[n] != nil || mb[n] != nil }
	if chained {
		for i, j := range jobs {
			tmp := tempName(j.from, x.base[j.from]+uint32(i), taken)
			if err := x.e.RenameMailbox(ctx, j.from, tmp); err != nil {
				errs = append(errs, fmt.Errorf("rename %s to %s: %w", j.from, tmp, err))
				jobs[i].to = ""
				continue
			}
			x.meta[tmp] = &MailboxMeta{Name: tmp}
			jobs[i].from = tmp
		}
	}
	n := 0
	for _, j := range jobs {
		if j.to == "" {
			continue
		}
		err := x.e.RenameMailbox(ctx, j.from, j.to)
		if errors.Is(err, store.ErrMailboxExists) {
			// The name was used on this side meanwhile: that mailbox
			// moves aside.
			aside := tempName(j.to, metaUV(x.meta[j.to]), taken)
			if err = x.e.RenameMailbox(ctx, j.to, aside); err == nil {
				x.meta[aside] = &MailboxMeta{Name: aside}
				s.log().Info("replicate: mailbox moved aside for a rename", "mailbox", j.to, "aside", aside)
				err = x.e.RenameMailbox(ctx, j.from, j.to)
			}
		}
		if err != nil {
			s.log().Warn("replicate: rename not replayed", "from", j.from, "to", j.to, "err", err)
			errs = append(errs, fmt.Errorf("rename %s to %s: %w", j.from, j.to, err))
			continue
		}
		n++
	}
	for _, j := range carried {
		if err := x.e.RenameMailbox(ctx, j.from, j.to); err != nil {
			errs = append(errs, fmt.Errorf("rename %s to %s (child): %w", j.from, j.to, err))
		}
	}
	return n, errors.Join(errs...)
}

func metaUV(m *MailboxMeta) uint32 {
	if m == nil {
		return 0
	}
	return m.UIDValidity
}

// isChildOf reports whether name lies below parent.
func isChildOf(name, parent string) bool { return strings.HasPrefix(name, parent+"/") }
