package store

// The special-use attributes of RFC 6154 (and \Important of RFC 8457 is
// not among them on purpose: Dovecot 2.3 does not offer it by default).
const (
	SpecialAll     = `\All`
	SpecialArchive = `\Archive`
	SpecialDrafts  = `\Drafts`
	SpecialFlagged = `\Flagged`
	SpecialJunk    = `\Junk`
	SpecialSent    = `\Sent`
	SpecialTrash   = `\Trash`
)

// IsSpecialUse reports whether attr is one of the RFC 6154 attributes.
func IsSpecialUse(attr string) bool {
	switch attr {
	case SpecialAll, SpecialArchive, SpecialDrafts, SpecialFlagged, SpecialJunk, SpecialSent, SpecialTrash:
		return true
	}
	return false
}

// MailboxInfo describes one entry of a user's mailbox tree.
type MailboxInfo struct {
	Name string // "/"-separated UTF-8 name, "INBOX" for the inbox
	// NoSelect is set for a name that exists only as the parent of other
	// mailboxes (\Noselect).
	NoSelect bool
	// HasChildren reports whether any mailbox lies below this one.
	HasChildren bool
	// SpecialUse is the RFC 6154 attribute, or "".
	SpecialUse string
	// Subscribed reports whether the name is in the subscriptions.
	Subscribed bool
}

// MailboxStatus holds a mailbox's counters (IMAP SELECT/STATUS data).
type MailboxStatus struct {
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	Messages      uint32
	Unseen        uint32 // messages without \Seen
	Recent        uint32 // 0 where the format does not track \Recent
	Deleted       uint32 // messages with \Deleted
	Size          int64  // sum of MessageInfo.Size (STATUS=SIZE)
}

// AutoMode is Dovecot's "auto" setting of a configured mailbox.
type AutoMode int

// The values of Dovecot's mailbox { auto = ... }.
const (
	AutoNo        AutoMode = iota // created only on demand
	AutoCreate                    // created when the store is opened
	AutoSubscribe                 // created and subscribed
)

// AutoMailbox is a mailbox a format creates (and perhaps subscribes)
// when a user's store is opened, as Dovecot's namespace mailbox blocks do
// (Dovecot's usual namespace inbox: Drafts, Junk, Trash, Sent with auto = subscribe).
type AutoMailbox struct {
	Name       string
	SpecialUse string
	Auto       AutoMode
}

// DefaultAutoMailboxes are the special-use mailboxes Dovecot's example
// configuration declares, created and subscribed automatically.
func DefaultAutoMailboxes() []AutoMailbox {
	return []AutoMailbox{
		{Name: "Drafts", SpecialUse: SpecialDrafts, Auto: AutoSubscribe},
		{Name: "Junk", SpecialUse: SpecialJunk, Auto: AutoSubscribe},
		{Name: "Trash", SpecialUse: SpecialTrash, Auto: AutoSubscribe},
		{Name: "Sent", SpecialUse: SpecialSent, Auto: AutoSubscribe},
	}
}

// Quota is the usage and limits of a store; a zero limit means unlimited.
type Quota struct {
	StorageUsed   int64 // bytes
	StorageLimit  int64
	MessagesUsed  int64
	MessagesLimit int64
}

// Exceeds reports whether adding a message of size bytes would go over a
// limit.
func (q Quota) Exceeds(size int64) bool {
	if q.StorageLimit > 0 && q.StorageUsed+size > q.StorageLimit {
		return true
	}
	return q.MessagesLimit > 0 && q.MessagesUsed+1 > q.MessagesLimit
}
