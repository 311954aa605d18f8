package replicate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"

	"github.com/yubinmail/yubin/store"
)

// Stats counts what one Sync did.
type Stats struct {
	MailboxesCreated, MailboxesDeleted int
	MailboxesRenamed                   int // renames replayed on the other side
	Copied, Renumbered, Expunged       int // messages
	FlagUpdates                        int
	Bytes                              int64
}

// Syncer runs two-way syncs of one user between two Endpoints.
type Syncer struct {
	Logger *slog.Logger
}

func (s *Syncer) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Sync makes a and b hold the same mailboxes, subscriptions, messages
// (by GUID, with the same UIDs and UIDVALIDITY) and flags, resolving
// conflicts as the package documentation describes, then records the
// new state on both sides. It is safe to interrupt at any point: the
// next Sync starts from the last state both sides recorded.
func (s *Syncer) Sync(ctx context.Context, a, b Endpoint) (Stats, error) {
	var st Stats
	ga, err := a.Gens(ctx)
	if err != nil {
		return st, err
	}
	gb, err := b.Gens(ctx)
	if err != nil {
		return st, err
	}
	var gen, maxGen uint64
	for _, g := range ga {
		if slices.Contains(gb, g) && g > gen {
			gen = g
		}
		maxGen = max(maxGen, g)
	}
	for _, g := range gb {
		maxGen = max(maxGen, g)
	}
	ba, err := a.Begin(ctx, gen)
	if err != nil {
		return st, err
	}
	bb, err := b.Begin(ctx, gen)
	if err != nil {
		return st, err
	}
	if ba.Gen != bb.Gen {
		return st, errors.New("replicate: sides disagree on the sync state")
	}
	var errs []error
	renamed, err := s.syncRenames(ctx, a, b, ba, bb, &st)
	if err != nil {
		errs = append(errs, err)
	}
	if renamed {
		// List again: names moved, and the state with them.
		if ba, err = a.Begin(ctx, gen); err != nil {
			return st, err
		}
		if bb, err = b.Begin(ctx, gen); err != nil {
			return st, err
		}
	}
	subs := mergeSubscriptions(ctx, a, b, ba, bb)
	generic := mode{generic: !ba.Replica || !bb.Replica, replicaA: ba.Replica, replicaB: bb.Replica}

	ma, mb := metaMap(ba.Mailboxes), metaMap(bb.Mailboxes)
	names := map[string]bool{}
	for n := range ma {
		names[n] = true
	}
	for n := range mb {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	// Parents before children, so creations find their parents.
	sort.Strings(sorted)
	specialUse := s.mergeSpecialUse(ctx, a, b, ba, bb)
	var commits []Commit
	for _, name := range sorted {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		c, err := s.syncMailbox(ctx, a, b, name, ma[name], mb[name], &st, generic)
		if err != nil {
			s.log().Warn("replicate: mailbox not synced", "mailbox", name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if c != nil {
			c.SpecialUse = specialUse[name]
			commits = append(commits, *c)
		}
	}
	sieve, err := s.mergeSieve(ctx, a, b, ba, bb)
	if err != nil {
		s.log().Warn("replicate: Sieve scripts not all synced", "err", err)
		errs = append(errs, err)
	}
	newGen := maxGen + 1
	if err := b.Commit(ctx, newGen, subs, sieve, commits); err != nil {
		return st, err
	}
	if err := a.Commit(ctx, newGen, subs, sieve, commits); err != nil {
		return st, err
	}
	return st, errors.Join(errs...)
}

func metaMap(ms []MailboxMeta) map[string]*MailboxMeta {
	out := make(map[string]*MailboxMeta, len(ms))
	for i := range ms {
		out[normName(ms[i].Name)] = &ms[i]
	}
	return out
}

// mergeSubscriptions is a three-way merge of the subscription sets: a
// name whose subscription changed on one side since the base takes that
// side's value.
func mergeSubscriptions(ctx context.Context, a, b Endpoint, ba, bb BeginResult) []string {
	set := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, n := range l {
			m[n] = true
		}
		return m
	}
	base, sa, sb := set(ba.BaseSubscriptions), set(ba.Subscriptions), set(bb.Subscriptions)
	all := map[string]bool{}
	for _, m := range []map[string]bool{base, sa, sb} {
		for n := range m {
			all[n] = true
		}
	}
	var out []string
	for n := range all {
		want := sb[n]
		if sa[n] != base[n] {
			want = sa[n]
		}
		if sa[n] != want && a.Subscribe(ctx, n, want) != nil {
			continue
		}
		if sb[n] != want && b.Subscribe(ctx, n, want) != nil {
			continue
		}
		if want {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// dirty reports whether a side changed a mailbox since the base.
func dirty(d Diff) bool { return !d.HasBase || len(d.New) > 0 || len(d.Changed) > 0 }

// syncMailbox brings one mailbox in step and returns its Commit.
// mode says how UIDs are kept: generic when either side lacks
// store.Replica (each side its own UIDs), and which sides have it.
type mode struct{ generic, replicaA, replicaB bool }

func (s *Syncer) syncMailbox(ctx context.Context, a, b Endpoint, name string, ma, mb *MailboxMeta, st *Stats, generic mode) (*Commit, error) {
	if (ma != nil && ma.NoSelect) || (mb != nil && mb.NoSelect) {
		// A hierarchy-only name: its children carry it.
		return nil, nil
	}
	return s.syncMessages(ctx, a, b, name, ma, mb, st, generic)
}

// syncMessages handles the mailbox existence rules, then the messages.
func (s *Syncer) syncMessages(ctx context.Context, a, b Endpoint, name string, ma, mb *MailboxMeta, st *Stats, generic mode) (*Commit, error) {
	switch {
	case ma != nil && mb == nil, ma == nil && mb != nil:
		src, dst, m := a, b, ma
		if ma == nil {
			src, dst, m = b, a, mb
		}
		if m.InBase {
			// Deleted (or renamed away) on dst since the last sync:
			// delete here too, unless this side changed it since,
			// which keeps the mailbox (and its mail) on both.
			d, err := src.Diff(ctx, name, false)
			if err != nil {
				return nil, err
			}
			if !dirty(d) && name != "INBOX" {
				if err := src.DeleteMailbox(ctx, name); err != nil {
					return nil, err
				}
				st.MailboxesDeleted++
				return &Commit{Mailbox: name, Gone: true}, nil
			}
		}
		if err := dst.CreateMailbox(ctx, name, m.SpecialUse); err != nil {
			return nil, err
		}
		st.MailboxesCreated++
	case ma == nil && mb == nil:
		return &Commit{Mailbox: name, Gone: true}, nil
	}
	return s.mergeMailbox(ctx, a, b, name, st, generic)
}

// copyMsg copies message m from src to dst (dst's UID given in m).
func copyMsg(ctx context.Context, src, dst Endpoint, name string, from UIDGUID, m Msg) error {
	r, err := src.Fetch(ctx, name, from)
	if err != nil {
		return err
	}
	defer r.Close()
	return dst.Append(ctx, name, m, r)
}

// merge3 is the three-way merge of one message's flags: each flag and
// keyword that changed on one side since the base takes that side's
// value (a flag changed on both sides has the same value on both).
func merge3(base, fa, fb store.Flags) store.Flags {
	var out store.Flags
	changedA := base.System ^ fa.System
	out.System = (fb.System &^ changedA) | (fa.System & changedA)
	kws := map[string]bool{}
	var order []string
	for _, l := range [][]string{base.Keywords, fa.Keywords, fb.Keywords} {
		for _, k := range l {
			lk := lower(k)
			if !kws[lk] {
				kws[lk] = true
				order = append(order, k)
			}
		}
	}
	for _, k := range order {
		inA, inB, in0 := fa.Has(k), fb.Has(k), base.Has(k)
		want := inB
		if inA != in0 {
			want = inA
		}
		if want {
			out.Keywords = append(out.Keywords, k)
		}
	}
	return out
}

// union is the merge of flags without a base.
func union(fa, fb store.Flags) store.Flags { return fa.Apply(store.FlagsAdd, fb) }

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
