package replicate

import "context"

// mergeSpecialUse is a three-way merge of the special-use attributes of
// the mailboxes both sides have: an attribute changed on one side since
// the base (store.SpecialUseSetter, or a rename that carried it) is set
// on the other; changed on both, the first side's wins. A mailbox on one
// side only takes its attribute with it when it is created on the other.
// It returns the attribute of every mailbox as both sides have it after.
func (s *Syncer) mergeSpecialUse(ctx context.Context, a, b Endpoint, ba, bb BeginResult) map[string]string {
	base := map[string]string{}
	for _, x := range ba.Base {
		base[normName(x.Name)] = x.SpecialUse
	}
	ma, mb := metaMap(ba.Mailboxes), metaMap(bb.Mailboxes)
	out := map[string]string{}
	for name, xa := range ma {
		xb := mb[name]
		if xb == nil {
			out[name] = xa.SpecialUse
			continue
		}
		want := xb.SpecialUse
		if xa.SpecialUse != base[name] {
			want = xa.SpecialUse
		}
		out[name] = want
		for _, p := range []struct {
			e   Endpoint
			has string
		}{{a, xa.SpecialUse}, {b, xb.SpecialUse}} {
			if p.has == want {
				continue
			}
			if err := p.e.SetSpecialUse(ctx, name, want); err != nil {
				s.log().Warn("replicate: special use not set", "mailbox", name, "err", err)
				out[name] = base[name]
			}
		}
	}
	for name, xb := range mb {
		if ma[name] == nil {
			out[name] = xb.SpecialUse
		}
	}
	return out
}
