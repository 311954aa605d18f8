package imap

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/yubinmail/yubin/store"
)

// SharedNamespace shows other users' mailboxes, those they gave the
// session's user rights on with SETACL, under Prefix+OWNER+"/" (RFC
// 2342's "other users" namespace), as Dovecot 2.3's shared namespace
// does with the acl plugin:
//
//	namespace {
//	  type = shared
//	  separator = /
//	  prefix = shared/%%u/
//	  location = maildir:%%h/Maildir:INDEXPVT=~/Maildir/shared/%%u
//	  subscriptions = no
//	  list = children
//	}
//
// The owner's store comes from Server.Backend, the rights from
// Server.ACL (a non-owner has none unless an entry gives them), and the
// owners who share with a user from Server.ACL when it implements
// SharedOwnersLister (Dovecot's acl_shared_dict). LIST shows the
// prefix and each owner as \Noselect parents, and only where the user
// may see at least one mailbox (list = children). Subscriptions to
// shared mailboxes are kept in the user's own (subscriptions = no).
type SharedNamespace struct {
	// Prefix is the namespace's prefix, ending in "/" (default
	// "shared/").
	Prefix string
	// PrivateDir, when set, returns the directory where user keeps its
	// own \Seen flags of owner's mailboxes (Dovecot's INDEXPVT, where
	// \Seen is a private flag): each user then sees and sets its own
	// \Seen there, and the owner's is neither shown nor changed. Nil
	// shares \Seen with the owner.
	PrivateDir func(ctx context.Context, user, owner string) (string, error)

	pvtMu sync.Mutex // one private-flags file update at a time
}

// SharedOwnersLister is implemented by ACL stores that know which users
// gave a user rights (FileACL with SharedDict): the owners a shared
// namespace lists.
type SharedOwnersLister interface {
	// SharedOwners returns the users who gave user (or "anyone" or
	// "authenticated") the lookup right on some mailbox.
	SharedOwners(ctx context.Context, user string) ([]string, error)
}

func (n *SharedNamespace) prefix() string {
	if n.Prefix == "" {
		return "shared/"
	}
	if !strings.HasSuffix(n.Prefix, "/") {
		return n.Prefix + "/"
	}
	return n.Prefix
}

// splitShared takes a shared name apart: "shared/alice/work" is owner
// "alice" and local "work", and the owner's level "shared/alice" is
// alice's INBOX, as Dovecot has it (so is "shared/alice/INBOX"). ok is
// false for a name outside the namespace; rest is false for the prefix
// itself ("shared"), which is never a mailbox.
func (n *SharedNamespace) splitShared(name string) (owner, local string, ok, rest bool) {
	p := n.prefix()
	top := strings.TrimSuffix(p, "/")
	if name == top {
		return "", "", true, false
	}
	if !strings.HasPrefix(name, p) {
		return "", "", false, false
	}
	owner, local, _ = strings.Cut(name[len(p):], "/")
	if owner == "" {
		return "", "", true, false
	}
	if local == "" {
		local = store.Inbox
	}
	return owner, store.CanonicalName(local), true, true
}

// aclTarget is whose list and which mailbox of theirs the ACL of name
// is: the session's own, or a shared mailbox's owner's.
func (c *conn) aclTarget(name string) (owner, local string) {
	if c.srv.Shared != nil {
		if o, l, ok, rest := c.srv.Shared.splitShared(name); ok && rest {
			return o, l
		}
	}
	return c.user, name
}

// withShared wraps a logged-in user's store with the shared namespace.
func (s *Server) withShared(user string, st store.Store) store.Store {
	if s.Shared == nil {
		return st
	}
	return &sharedStore{own: st, srv: s, ns: s.Shared, user: user, others: map[string]store.Store{}}
}

// sharedStore is a session's store with the shared namespace: names
// under the prefix go to their owner's store (opened once per session
// through Server.Backend), the others to the user's own.
type sharedStore struct {
	own  store.Store
	srv  *Server
	ns   *SharedNamespace
	user string

	mu     sync.Mutex
	others map[string]store.Store
}

// maxSharedOwners bounds the owners one LIST looks at.
const maxSharedOwners = 1000

// errNotShared is what a shared name that is not a mailbox gets.
var errNotShared = store.ErrNoSuchMailbox

// ownerStore is owner's store, opened once for the session.
func (s *sharedStore) ownerStore(ctx context.Context, owner string) (store.Store, error) {
	if owner == "" || owner == s.user {
		return s.own, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.others[owner]; ok {
		return st, nil
	}
	if len(s.others) >= maxSharedOwners {
		return nil, errNotShared
	}
	st, err := s.srv.Backend.Open(ctx, owner)
	if errors.Is(err, store.ErrNoSuchUser) {
		return nil, errNotShared
	}
	if err != nil {
		return nil, err
	}
	s.others[owner] = st
	return st, nil
}

// route is the store and the name in it of a mailbox name.
func (s *sharedStore) route(ctx context.Context, name string) (st store.Store, owner, local string, err error) {
	o, l, ok, rest := s.ns.splitShared(name)
	if !ok {
		return s.own, s.user, name, nil
	}
	if !rest {
		return nil, o, "", errNotShared
	}
	st, err = s.ownerStore(ctx, o)
	return st, o, l, err
}

// sameStore reports whether two names are in the same store (a COPY
// between them can be the store's own).
func (s *sharedStore) sameStore(a, b string) bool {
	oa, _, oka, _ := s.ns.splitShared(a)
	ob, _, okb, _ := s.ns.splitShared(b)
	if !oka {
		oa = s.user
	}
	if !okb {
		ob = s.user
	}
	return oa == ob
}

// ListMailboxes implements store.Store: the user's own mailboxes, then
// each sharing owner's mailboxes the user may look up.
func (s *sharedStore) ListMailboxes(ctx context.Context) ([]store.MailboxInfo, error) {
	list, err := s.own.ListMailboxes(ctx)
	if err != nil {
		return nil, err
	}
	lister, ok := s.srv.ACL.(SharedOwnersLister)
	if !ok {
		return list, nil
	}
	owners, err := lister.SharedOwners(ctx, s.user)
	if err != nil {
		// The user's own mailboxes are still listed.
		s.srv.logger().Warn("imap: reading who shares mailboxes failed", "user", s.user, "err", err)
		return list, nil
	}
	subs := map[string]bool{}
	for _, l := range list {
		if l.Subscribed {
			subs[l.Name] = true
		}
	}
	if names, err := s.own.Subscriptions(ctx); err == nil {
		for _, n := range names {
			subs[n] = true
		}
	}
	sort.Strings(owners)
	p := s.ns.prefix()
	any := false
	for i, owner := range owners {
		if owner == s.user || owner == "" || strings.Contains(owner, "/") || i >= maxSharedOwners {
			continue
		}
		st, err := s.ownerStore(ctx, owner)
		if err != nil {
			continue // a user who is gone shares nothing
		}
		theirs, err := st.ListMailboxes(ctx)
		if err != nil {
			return nil, err
		}
		var shown []store.MailboxInfo
		root := false
		for _, m := range theirs {
			if m.NoSelect {
				continue
			}
			entries, err := s.srv.ACL.MailboxACL(ctx, owner, m.Name)
			if err != nil {
				return nil, err
			}
			if myRightsAs(entries, owner, s.user)&RightLookup == 0 {
				continue
			}
			name := p + owner + "/" + m.Name
			if m.Name == store.Inbox {
				// The owner's INBOX is the owner's level itself.
				root = true
				continue
			}
			shown = append(shown, store.MailboxInfo{Name: name, Subscribed: subs[name]})
		}
		if len(shown) == 0 && !root {
			continue // list = children
		}
		any = true
		list = append(list, store.MailboxInfo{Name: p + owner, NoSelect: !root, HasChildren: len(shown) > 0, Subscribed: subs[p+owner]})
		list = append(list, sharedParents(shown, p+owner)...)
		list = append(list, shown...)
	}
	if any {
		top := strings.TrimSuffix(p, "/")
		list = append(list, store.MailboxInfo{Name: top, NoSelect: true, HasChildren: true, Subscribed: subs[top]})
	}
	return list, nil
}

// sharedParents are \Noselect entries for the levels between an
// owner's root and the shared mailboxes that are not shown themselves
// (the user may not look them up): LIST shows them only to a pattern
// that does not match their children (hiddenParent).
func sharedParents(shown []store.MailboxInfo, root string) []store.MailboxInfo {
	have := map[string]bool{}
	for _, m := range shown {
		have[m.Name] = true
	}
	var out []store.MailboxInfo
	for _, m := range shown {
		name := m.Name
		for {
			i := strings.LastIndexByte(name, '/')
			if i <= len(root) {
				break
			}
			name = name[:i]
			if have[name] {
				break
			}
			have[name] = true
			out = append(out, store.MailboxInfo{Name: name, NoSelect: true, HasChildren: true})
		}
	}
	return out
}

// hiddenParent reports whether LIST leaves out a \Noselect level below
// another user's root because patterns match one of its children too,
// as Dovecot does: such a level is shown only where the pattern stops
// at it ("%").
func (c *conn) hiddenParent(e *listEntry, patterns []string, names []string) bool {
	if c.srv.Shared == nil || !e.info.NoSelect {
		return false
	}
	owner, local, ok, rest := c.srv.Shared.splitShared(e.info.Name)
	if !ok || !rest || owner == "" || local == store.Inbox || e.info.Name == c.srv.Shared.prefix()+owner {
		return false
	}
	i := sort.SearchStrings(names, e.info.Name+"/")
	for ; i < len(names) && strings.HasPrefix(names[i], e.info.Name+"/"); i++ {
		if matchAny(patterns, names[i]) {
			return true
		}
	}
	return false
}

// CreateMailbox implements store.Store.
func (s *sharedStore) CreateMailbox(ctx context.Context, name string, opts store.CreateOptions) error {
	st, _, local, err := s.route(ctx, name)
	if err != nil {
		return store.ErrNotAllowed
	}
	return st.CreateMailbox(ctx, local, opts)
}

// DeleteMailbox implements store.Store.
func (s *sharedStore) DeleteMailbox(ctx context.Context, name string) error {
	st, _, local, err := s.route(ctx, name)
	if err != nil {
		return err
	}
	return st.DeleteMailbox(ctx, local)
}

// RenameMailbox implements store.Store: within one user's mailboxes.
func (s *sharedStore) RenameMailbox(ctx context.Context, oldName, newName string) error {
	if !s.sameStore(oldName, newName) {
		return store.ErrNotAllowed
	}
	st, _, from, err := s.route(ctx, oldName)
	if err != nil {
		return err
	}
	_, _, to, err := s.route(ctx, newName)
	if err != nil {
		return store.ErrNotAllowed
	}
	return st.RenameMailbox(ctx, from, to)
}

// Subscribe implements store.Store: in the user's own subscriptions.
func (s *sharedStore) Subscribe(ctx context.Context, name string) error {
	return s.own.Subscribe(ctx, name)
}

// Unsubscribe implements store.Store.
func (s *sharedStore) Unsubscribe(ctx context.Context, name string) error {
	return s.own.Unsubscribe(ctx, name)
}

// Subscriptions implements store.Store.
func (s *sharedStore) Subscriptions(ctx context.Context) ([]string, error) {
	return s.own.Subscriptions(ctx)
}

// Status implements store.Store; a shared mailbox's Unseen counts the
// user's own \Seen when it is private.
func (s *sharedStore) Status(ctx context.Context, name string) (store.MailboxStatus, error) {
	st, owner, local, err := s.route(ctx, name)
	if err != nil {
		return store.MailboxStatus{}, err
	}
	if owner == s.user || s.ns.PrivateDir == nil {
		return st.Status(ctx, local)
	}
	mb, err := s.OpenMailbox(ctx, name, store.OpenOptions{ReadOnly: true})
	if err != nil {
		return store.MailboxStatus{}, err
	}
	defer mb.Close()
	return mb.Status(ctx)
}

// OpenMailbox implements store.Store. A shared mailbox's handle is
// named with its full name, and keeps \Seen privately when
// PrivateDir is set.
func (s *sharedStore) OpenMailbox(ctx context.Context, name string, opts store.OpenOptions) (store.Mailbox, error) {
	st, owner, local, err := s.route(ctx, name)
	if err != nil {
		return nil, err
	}
	mb, err := st.OpenMailbox(ctx, local, opts)
	if err != nil || owner == s.user {
		return mb, err
	}
	sm := &sharedMailbox{Mailbox: mb, name: store.CanonicalName(name), root: s.ns.prefix() + owner, local: local}
	if s.ns.PrivateDir != nil {
		dir, err := s.ns.PrivateDir(ctx, s.user, owner)
		if err != nil {
			mb.Close()
			return nil, err
		}
		if dir != "" {
			sm.pvt = &privateSeen{ns: s.ns, dir: dir, mailbox: local}
			if err := sm.pvt.load(ctx, mb); err != nil {
				mb.Close()
				return nil, err
			}
		}
	}
	return sm, nil
}

// Deliver appends to a mailbox by name (mailboxDeliverer), through the
// owner's store's Deliver where it has one.
func (s *sharedStore) Deliver(ctx context.Context, name string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error) {
	st, owner, local, err := s.route(ctx, name)
	if err != nil {
		return store.AppendResult{}, err
	}
	if d, ok := st.(mailboxDeliverer); ok {
		// A \Seen asked for in another user's mailbox is the user's
		// own, kept apart when PrivateDir is set.
		private := owner != s.user && s.ns.PrivateDir != nil && opts.Flags.System&store.Seen != 0
		if private {
			opts.Flags.System &^= store.Seen
		}
		res, err := d.Deliver(ctx, local, r, opts)
		if err != nil || !private || res.UID == 0 {
			return res, err
		}
		dir, err := s.ns.PrivateDir(ctx, s.user, owner)
		if err != nil || dir == "" {
			return res, err
		}
		pvt := &privateSeen{ns: s.ns, dir: dir, mailbox: local, uidValidity: res.UIDValidity}
		return res, pvt.update(true, []uint32{res.UID})
	}
	mb, err := s.OpenMailbox(ctx, name, store.OpenOptions{})
	if err != nil {
		return store.AppendResult{}, err
	}
	defer mb.Close()
	return mb.Append(ctx, r, opts)
}

// Quota implements store.Store: the user's own.
func (s *sharedStore) Quota(ctx context.Context) (store.Quota, error) { return s.own.Quota(ctx) }

// Close implements store.Store: the owners' stores opened for the
// session, then the user's own.
func (s *sharedStore) Close() error {
	s.mu.Lock()
	for _, st := range s.others {
		st.Close()
	}
	s.others = nil
	s.mu.Unlock()
	return s.own.Close()
}

// sharedMailbox is a handle on another user's mailbox: its full name
// in the session's namespace, COPY and MOVE within the owner's store,
// and the user's private \Seen (pvt, when kept).
type sharedMailbox struct {
	store.Mailbox
	name  string // "shared/alice/INBOX" (or "shared/alice"), as opened
	root  string // "shared/alice"
	local string // "INBOX"
	pvt   *privateSeen
}

// Name implements store.Mailbox: the name in the session's namespace.
func (m *sharedMailbox) Name() string { return m.name }

// localDest maps a COPY or MOVE destination to the owner's name for it
// (the session copies across stores itself: copyMessages).
func (m *sharedMailbox) localDest(dest string) (string, bool) {
	dest = store.CanonicalName(dest)
	if dest == m.root {
		return store.Inbox, true
	}
	if !strings.HasPrefix(dest, m.root+"/") || len(dest) == len(m.root)+1 {
		return "", false
	}
	return store.CanonicalName(dest[len(m.root)+1:]), true
}

// Copy implements store.Mailbox within the owner's store.
func (m *sharedMailbox) Copy(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	local, ok := m.localDest(dest)
	if !ok {
		return store.CopyResult{}, store.ErrNoSuchMailbox
	}
	return m.Mailbox.Copy(ctx, uids, local)
}

// Move implements store.Mailbox within the owner's store.
func (m *sharedMailbox) Move(ctx context.Context, uids store.UIDSet, dest string) (store.CopyResult, error) {
	local, ok := m.localDest(dest)
	if !ok {
		return store.CopyResult{}, store.ErrNoSuchMailbox
	}
	return m.Mailbox.Move(ctx, uids, local)
}

// crossStore reports whether a COPY or MOVE from the selected mailbox
// to dest leaves its store (another user's mailboxes): the session
// then copies message by message.
func (c *conn) crossStore(dest string) bool {
	s, ok := c.st.(*sharedStore)
	return ok && c.sel != nil && !s.sameStore(c.sel.name, dest)
}
