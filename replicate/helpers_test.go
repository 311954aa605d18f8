package replicate

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// pair is two Maildir stores of one user and the endpoints syncing them.
type pair struct {
	t    *testing.T
	A, B store.Store
	ea   *LocalEndpoint
	eb   *LocalEndpoint
	// boxes are the mailboxes randomConverge uses (nil: a default with
	// a child mailbox).
	boxes []string
}

func newPair(t *testing.T) *pair {
	t.Helper()
	open := func() *maildir.Store {
		s, err := maildir.Open(t.TempDir(), maildir.Options{NoSync: true, Hostname: "h"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	p := &pair{t: t, A: open(), B: open()}
	p.ea = &LocalEndpoint{Store: p.A, States: &StateStore{Dir: t.TempDir(), NoSync: true}, Partner: "b", User: "u"}
	p.eb = &LocalEndpoint{Store: p.B, States: &StateStore{Dir: t.TempDir(), NoSync: true}, Partner: "a", User: "u"}
	return p
}

func (p *pair) sync() Stats {
	p.t.Helper()
	st, err := (&Syncer{}).Sync(context.Background(), p.ea, p.eb)
	if err != nil {
		p.t.Fatalf("sync: %v", err)
	}
	return st
}

func appendMsg(t *testing.T, s store.Store, mailbox, body string, flags store.Flags) uint32 {
	t.Helper()
	ctx := context.Background()
	h, err := s.OpenMailbox(ctx, mailbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r, err := h.Append(ctx, strings.NewReader(body), store.AppendOptions{Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return r.UID
}

// snapshot describes a store: mailbox → UIDVALIDITY and UID → GUID,
// flags, body.
type msgSnap struct {
	GUID, Body, Flags string
}

type boxSnap struct {
	UIDValidity uint32
	Msgs        map[uint32]msgSnap
}

func snapshot(t *testing.T, s store.Store) (map[string]boxSnap, []string) {
	t.Helper()
	ctx := context.Background()
	infos, err := s.ListMailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]boxSnap{}
	for _, mi := range infos {
		if mi.NoSelect {
			continue
		}
		h, err := s.OpenMailbox(ctx, mi.Name, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		st, _ := h.Status(ctx)
		bs := boxSnap{UIDValidity: st.UIDValidity, Msgs: map[uint32]msgSnap{}}
		var uids []uint32
		var infos []store.MessageInfo
		h.Messages(ctx, nil, func(m *store.MessageInfo) error {
			uids = append(uids, m.UID)
			c := *m
			c.Flags.Keywords = append([]string(nil), m.Flags.Keywords...)
			infos = append(infos, c)
			return nil
		})
		for _, m := range infos {
			r, err := h.Open(ctx, m.UID)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			r.Close()
			kws := append([]string(nil), m.Flags.Keywords...)
			for i := range kws {
				kws[i] = strings.ToLower(kws[i])
			}
			sort.Strings(kws)
			bs.Msgs[m.UID] = msgSnap{GUID: m.GUID, Body: string(b), Flags: fmt.Sprint(m.Flags.System, kws)}
		}
		h.Close()
		out[mi.Name] = bs
	}
	subs, _ := s.Subscriptions(ctx)
	sort.Strings(subs)
	return out, subs
}

// same fails unless both stores hold the same mailboxes, UIDVALIDITYs,
// UIDs, GUIDs, bytes, flags and subscriptions.
func (p *pair) same() map[string]boxSnap {
	p.t.Helper()
	sa, subA := snapshot(p.t, p.A)
	sb, subB := snapshot(p.t, p.B)
	if fmt.Sprint(subA) != fmt.Sprint(subB) {
		p.t.Errorf("subscriptions differ: %v vs %v", subA, subB)
	}
	for name, a := range sa {
		b, ok := sb[name]
		if !ok {
			p.t.Errorf("mailbox %q only on A", name)
			continue
		}
		if a.UIDValidity != b.UIDValidity {
			p.t.Errorf("%s: UIDVALIDITY %d vs %d", name, a.UIDValidity, b.UIDValidity)
		}
		for uid, m := range a.Msgs {
			if mb, ok := b.Msgs[uid]; !ok || mb != m {
				p.t.Errorf("%s UID %d: A %+v, B %+v", name, uid, m, b.Msgs[uid])
			}
		}
		for uid := range b.Msgs {
			if _, ok := a.Msgs[uid]; !ok {
				p.t.Errorf("%s UID %d only on B", name, uid)
			}
		}
		guids := map[string]bool{}
		for _, m := range a.Msgs {
			if guids[m.GUID] {
				p.t.Errorf("%s: GUID %s twice", name, m.GUID)
			}
			guids[m.GUID] = true
		}
	}
	for name := range sb {
		if _, ok := sa[name]; !ok {
			p.t.Errorf("mailbox %q only on B", name)
		}
	}
	return sa
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
