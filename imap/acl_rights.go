package imap

import (
	"sort"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// The message rights of RFC 4314 4, kept as Dovecot 2.3's acl plugin
// keeps them: flags a session has no right to change are left alone
// without an error (STORE, the \Seen of FETCH, the flags of APPEND and
// COPY), APPEND, COPY and MOVE need "i" on the destination, MOVE "e" on
// the source, EXPUNGE without "e" removes nothing, and SELECT opens
// read-only when no right to change anything is left.

// aclChangeRights are the rights that let a session change a selected
// mailbox; without any of them SELECT answers READ-ONLY (Dovecot's
// acl_is_readonly).
const aclChangeRights = RightInsert | RightExpunge | RightWrite | RightWriteSeen | RightWriteDeleted

// allSystemFlags are the system flags a message can keep.
const allSystemFlags = store.Seen | store.Answered | store.Flagged | store.Deleted | store.Draft

// systemFlags are the system flags the rights let a session set or
// clear: \Seen with "s", \Deleted with "t", the others with "w".
func (r Rights) systemFlags() store.SystemFlags {
	var f store.SystemFlags
	if r&RightWrite != 0 {
		f = store.Answered | store.Flagged | store.Draft
	}
	if r&RightWriteSeen != 0 {
		f |= store.Seen
	}
	if r&RightWriteDeleted != 0 {
		f |= store.Deleted
	}
	return f
}

// filterFlags keeps of f what the rights let a session give a message
// (keywords need "w").
func (r Rights) filterFlags(f store.Flags) store.Flags {
	f.System &= r.systemFlags()
	if r&RightWrite == 0 {
		f.Keywords = nil
	}
	return f
}

// openRights is what SELECT and EXAMINE may do with a mailbox: an error
// when its rights lack "l" or "r", else the rights (all of them without
// Server.ACL).
func (c *conn) openRights(name string) (Rights, error) {
	if c.srv.ACL == nil {
		return AllRights, nil
	}
	if err := c.checkACLOpen(name); err != nil {
		return 0, err
	}
	return c.myRightsOn(name)
}

// refreshSelectedRights reads the selected mailbox's rights again after
// an ACL command changed name's list.
func (c *conn) refreshSelectedRights(name string) {
	if c.sel == nil || c.srv.ACL == nil || store.CanonicalName(name) != c.sel.name {
		return
	}
	if r, err := c.myRightsOn(c.sel.name); err == nil {
		c.sel.rights = r
	}
}

// canSetSeen reports whether FETCH of a body may set \Seen.
func (s *selected) canSetSeen() bool {
	return !s.readOnly && s.rights&RightWriteSeen != 0
}

// permanentFlags is the PERMANENTFLAGS list of the selected mailbox:
// the system flags the rights allow, and the keywords and \* with "w"
// (Dovecot's acl_get_status); nil when read-only.
func (c *conn) permanentFlags(known []string) []string {
	r := c.sel.rights
	if c.sel.readOnly || r&aclChangeRights == 0 {
		return nil
	}
	if r&RightWrite != 0 && r.systemFlags() == allSystemFlags {
		return append(known, `\*`)
	}
	out := r.systemFlags().Names()
	if r&RightWrite != 0 {
		for _, f := range known {
			if !strings.HasPrefix(f, `\`) {
				out = append(out, f)
			}
		}
		out = append(out, `\*`)
	}
	return out
}

// setFlags is STORE's change of flags within the selected mailbox's
// rights. A replacement the rights allow only in part removes the
// allowed flags not asked for, then adds the allowed ones asked for, as
// Dovecot does; what the rights do not allow is dropped in silence.
func (c *conn) setFlags(set store.UIDSet, op store.FlagOp, flags store.Flags, since uint64) ([]store.FlagUpdate, store.UIDSet, error) {
	r, mb := c.sel.rights, c.sel.mb
	allowed := r.systemFlags()
	if allowed == allSystemFlags && r&RightWrite != 0 {
		return mb.SetFlags(c.ctx(), set, op, flags, since)
	}
	if op != store.FlagsReplace {
		flags = r.filterFlags(flags)
		if flags.System == 0 && len(flags.Keywords) == 0 {
			return nil, nil, nil
		}
		return mb.SetFlags(c.ctx(), set, op, flags, since)
	}
	if allowed == 0 {
		return nil, nil, nil
	}
	remove := store.Flags{System: allowed &^ flags.System}
	if r&RightWrite != 0 {
		err := mb.Messages(c.ctx(), set, func(m *store.MessageInfo) error {
			for _, k := range m.Flags.Keywords {
				if !flags.Has(k) && !(store.Flags{Keywords: remove.Keywords}).Has(k) {
					remove.Keywords = append(remove.Keywords, k)
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	add := r.filterFlags(flags)
	latest := map[uint32]store.FlagUpdate{}
	var failed store.UIDSet
	for _, step := range []struct {
		op store.FlagOp
		f  store.Flags
	}{{store.FlagsRemove, remove}, {store.FlagsAdd, add}} {
		if step.f.System == 0 && len(step.f.Keywords) == 0 {
			continue
		}
		updated, f, err := mb.SetFlags(c.ctx(), set, step.op, step.f, since)
		if err != nil {
			return nil, nil, err
		}
		for _, u := range updated {
			latest[u.UID] = u
		}
		if len(f) > 0 {
			failed = f
			set = c.sel.view.uidsIn(set, f)
		}
		since = 0
	}
	out := make([]store.FlagUpdate, 0, len(latest))
	for _, u := range latest {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out, failed, nil
}

// uidsIn are the UIDs of the view in set and not in drop.
func (v *view) uidsIn(set, drop store.UIDSet) store.UIDSet {
	var out []uint32
	for _, u := range v.uids {
		if set.Contains(u) && !drop.Contains(u) {
			out = append(out, u)
		}
	}
	return store.UIDSetOf(out...)
}

// insertRights checks that the session may APPEND, COPY or MOVE into
// name ("i"; a mailbox without "l" does not exist to it) and returns
// its rights there.
func (c *conn) insertRights(name string) (Rights, error) {
	if c.srv.ACL == nil {
		return AllRights, nil
	}
	r, err := c.myRightsOn(name)
	if err != nil {
		return 0, err
	}
	if r&RightInsert == 0 {
		if r&RightLookup == 0 {
			return 0, no("TRYCREATE", "Mailbox doesn't exist: "+name)
		}
		return 0, no("NOPERM", "Permission denied.")
	}
	return r, nil
}

// mayRead reports whether the session may read name: Dovecot gives no
// APPENDUID or COPYUID (RFC 4315) for a mailbox the user may only
// insert into.
func (c *conn) mayRead(name string) bool {
	if c.srv.ACL == nil {
		return true
	}
	r, err := c.myRightsOn(name)
	return err == nil && r&RightRead != 0
}

// copyMessages is COPY's and MOVE's store call, within the rights r
// on dest: the messages keep only the flags the rights there allow
// (Dovecot's acl_copy), so with fewer rights each message is stored
// anew with its flags filtered (and, for MOVE, then expunged here).
// Stores that cannot deliver by name, and a copy into a mailbox the
// session EXAMINEs, copy the flags as they are.
func (c *conn) copyMessages(set store.UIDSet, dest string, r Rights, move bool) (store.CopyResult, error) {
	mb := c.sel.mb
	d, deliver := c.st.(mailboxDeliverer)
	intoSelected := store.CanonicalName(dest) == c.sel.name
	own := intoSelected && !c.sel.readOnly
	// Into another user's mailboxes (or out of them) the store cannot
	// copy: each message is delivered anew.
	cross := c.crossStore(dest)
	if !cross && ((r.systemFlags() == allSystemFlags && r&RightWrite != 0) || (!deliver && !own) || (intoSelected && !own)) {
		if move {
			return mb.Move(c.ctx(), set, dest)
		}
		return mb.Copy(c.ctx(), set, dest)
	}
	var infos []store.MessageInfo
	err := mb.Messages(c.ctx(), set, func(m *store.MessageInfo) error {
		infos = append(infos, store.MessageInfo{UID: m.UID, Flags: m.Flags, InternalDate: m.InternalDate})
		return nil
	})
	if err != nil {
		return store.CopyResult{}, err
	}
	var res store.CopyResult
	for _, m := range infos {
		rd, err := mb.Open(c.ctx(), m.UID)
		if err != nil {
			return res, err
		}
		opts := store.AppendOptions{Flags: r.filterFlags(m.Flags), InternalDate: m.InternalDate}
		var ar store.AppendResult
		if own {
			ar, err = mb.Append(c.ctx(), rd, opts)
		} else {
			ar, err = d.Deliver(c.ctx(), dest, rd, opts)
		}
		rd.Close()
		if err != nil {
			return res, err
		}
		res.DestUIDValidity = ar.UIDValidity
		res.SourceUIDs = append(res.SourceUIDs, m.UID)
		res.DestUIDs = append(res.DestUIDs, ar.UID)
	}
	if move && len(res.SourceUIDs) > 0 {
		src := store.UIDSetOf(res.SourceUIDs...)
		if _, _, err := mb.SetFlags(c.ctx(), src, store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
			return res, err
		}
		if res.Expunged, err = mb.Expunge(c.ctx(), src); err != nil {
			return res, err
		}
	}
	return res, nil
}
