package imap

import (
	"context"
	"sort"
	"strings"
)

// ACL keeps the access control lists (RFC 4314) of a user's own
// mailboxes. Setting Server.ACL turns the ACL capability on (with
// RIGHTS=texk, as Dovecot's imap_acl plugin advertises it).
// Implementations must be safe for concurrent use.
//
// The entries that apply to a session are "anyone", "authenticated",
// the user's own name, and "owner" in its own mailboxes; in another
// user's mailboxes (Server.Shared) a user has no rights but those its
// entries give. Group entries are kept and listed but never apply. The rights are enforced on mailboxes (LIST,
// SELECT, CREATE, DELETE, RENAME) and on messages (acl_rights.go).
type ACL interface {
	// MailboxACL returns the entries of the user's mailbox (none when
	// it has no list of its own).
	MailboxACL(ctx context.Context, user, mailbox string) ([]ACLEntry, error)
	// UpdateMailboxACL replaces the entries of the user's mailbox with
	// what update makes of them, with no other update in between; an
	// error from update is returned and nothing is changed.
	UpdateMailboxACL(ctx context.Context, user, mailbox string, update func([]ACLEntry) ([]ACLEntry, error)) error
}

// Rights is a set of RFC 4314 rights (RightLookup | RightRead ...).
type Rights uint16

// The rights of RFC 4314 2.1.
const (
	RightLookup       Rights = 1 << iota // l: the mailbox is visible to LIST
	RightRead                            // r: SELECT, FETCH, SEARCH, COPY from
	RightWrite                           // w: keep flags other than \Seen and \Deleted
	RightWriteSeen                       // s: keep \Seen
	RightWriteDeleted                    // t: keep \Deleted
	RightInsert                          // i: APPEND, COPY into
	RightPost                            // p: send mail to the submission address
	RightExpunge                         // e: EXPUNGE
	RightCreate                          // k: create mailboxes below it
	RightDelete                          // x: delete or rename the mailbox
	RightAdmin                           // a: administer the ACL
)

// AllRights are the rights a mailbox's owner has by default (Dovecot's
// default ACL for the owner).
const AllRights = RightLookup<<11 - RightLookup

// rightLetters are the letters of the rights in bit order, which is
// also the order Dovecot writes MYRIGHTS and default rights in.
const rightLetters = "lrwstipekxa"

// rightNameOrder is the order of the letters in a stored entry: Dovecot
// keeps rights sorted by name (admin, create, delete, expunge, insert,
// lookup, post, read, write, write-deleted, write-seen).
const rightNameOrder = "akxeilprwts"

// ParseRights reads rights letters (RFC 4314 2.1), with the obsolete
// "c" standing for "kx" and "d" for "et" (2.1.1). ok is false at a
// letter that names no right.
func ParseRights(s string) (r Rights, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'c':
			r |= RightCreate | RightDelete
		case 'd':
			r |= RightExpunge | RightWriteDeleted
		default:
			j := strings.IndexByte(rightLetters, s[i])
			if j < 0 {
				return 0, false
			}
			r |= 1 << j
		}
	}
	return r, true
}

// letters writes r in order, with "c" and "d" after them when a right
// they stand for is in r, as Dovecot does; "" for none.
func (r Rights) letters(order string) string {
	var b strings.Builder
	for i := 0; i < len(order); i++ {
		if r&(1<<strings.IndexByte(rightLetters, order[i])) != 0 {
			b.WriteByte(order[i])
		}
	}
	if r&(RightCreate|RightDelete) != 0 {
		b.WriteByte('c')
	}
	if r&(RightExpunge|RightWriteDeleted) != 0 {
		b.WriteByte('d')
	}
	return b.String()
}

// String is the rights in RFC 4314's letters, in Dovecot's MYRIGHTS
// order ("lrwstipekxacd" for all).
func (r Rights) String() string { return r.letters(rightLetters) }

// ACLEntry is one identifier's rights in a mailbox's list: the rights it
// is given and those it is denied ("-identifier" in RFC 4314). An entry
// may have either or both; HasRights and HasNegative tell an empty set
// from none.
type ACLEntry struct {
	// Identifier as on the wire: "owner", "anyone", "authenticated",
	// a user name, "$group", "!$group" (Dovecot's group-override).
	Identifier  string
	Rights      Rights
	HasRights   bool
	Negative    Rights
	HasNegative bool
}

// aclIDKind orders identifiers as Dovecot sorts a list: anyone,
// authenticated, groups, owner, users, group overrides.
func aclIDKind(id string) int {
	switch {
	case id == "anyone":
		return 0
	case id == "authenticated":
		return 1
	case strings.HasPrefix(id, "$"):
		return 2
	case id == "owner":
		return 3
	case strings.HasPrefix(id, "!$"):
		return 5
	}
	return 4
}

// sortACL puts entries in Dovecot's order: by kind, then identifier.
func sortACL(entries []ACLEntry) {
	sort.SliceStable(entries, func(i, j int) bool {
		ki, kj := aclIDKind(entries[i].Identifier), aclIDKind(entries[j].Identifier)
		if ki != kj {
			return ki < kj
		}
		return entries[i].Identifier < entries[j].Identifier
	})
}

// aclIsOwner reports whether id names owner, the owner of a mailbox.
func aclIsOwner(id, owner string) bool { return id == "owner" || id == owner }

// aclApplies reports whether an entry of owner's mailbox speaks of user.
func aclApplies(id, owner, user string) bool {
	return id == "anyone" || id == "authenticated" || id == user || id == "owner" && owner == user
}

// myRights computes user's rights on one of its own mailboxes.
func myRights(entries []ACLEntry, user string) Rights { return myRightsAs(entries, user, user) }

// myRightsAs computes user's rights on a mailbox of owner from its
// entries, as Dovecot's vfile ACLs do: of the entries that apply, taken
// in list order, the last that gives rights wins (a user's own entry
// over "owner", "owner" over "anyone"); every right any of them denies
// is then taken away. When none of them gives rights, the owner has
// every right (Dovecot's default ACL for the owner) and another user
// none.
func myRightsAs(entries []ACLEntry, owner, user string) Rights {
	sorted := append([]ACLEntry(nil), entries...)
	sortACL(sorted)
	r, denied := Rights(0), Rights(0)
	if owner == user {
		r = AllRights
	}
	for _, e := range sorted {
		if !aclApplies(e.Identifier, owner, user) {
			continue
		}
		if e.HasRights {
			r = e.Rights
		}
		if e.HasNegative {
			denied |= e.Negative
		}
	}
	return r &^ denied
}

// hasPositiveOwner reports whether an entry gives the owner rights.
func hasPositiveOwner(entries []ACLEntry, user string) bool {
	for _, e := range entries {
		if e.HasRights && aclIsOwner(e.Identifier, user) {
			return true
		}
	}
	return false
}
