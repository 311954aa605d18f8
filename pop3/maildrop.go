package pop3

import (
	"context"

	"github.com/yubinmail/yubin/store"
)

// maildrop is the TRANSACTION state's fixed view of INBOX (RFC 1939
// section 5): messages are numbered 1..n as of login, in UID order, and
// keep their numbers and sizes for the whole session even when another
// session removes them.
type maildrop struct {
	uidValidity uint32
	msgs        []message
	count       int   // messages not marked deleted
	size        int64 // their total size
}

type message struct {
	uid       uint32
	size      int64
	guid      string
	fileName  string
	seen      bool // \Seen at login
	deleted   bool
	retrieved bool
	uidl      string
}

// loadMaildrop reads the message list of mbox.
func loadMaildrop(ctx context.Context, mbox store.Mailbox) (*maildrop, error) {
	st, err := mbox.Status(ctx)
	if err != nil {
		return nil, err
	}
	d := &maildrop{uidValidity: st.UIDValidity, msgs: make([]message, 0, st.Messages)}
	err = mbox.Messages(ctx, nil, func(m *store.MessageInfo) error {
		d.msgs = append(d.msgs, message{uid: m.UID, size: m.Size, guid: m.GUID, fileName: m.FileName, seen: m.Flags.System&store.Seen != 0})
		d.count++
		d.size += m.Size
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// get returns message number arg (1-based) or the -ERR to send.
func (d *maildrop) get(arg string) (*message, int, error) {
	n, ok := parseNumber(arg)
	if !ok {
		return nil, 0, &Error{Text: "Invalid message number: " + quoteArg(arg)}
	}
	if n < 1 || int64(n) > int64(len(d.msgs)) {
		return nil, 0, &Error{Text: "There's no message " + quoteArg(arg) + "."}
	}
	m := &d.msgs[n-1]
	if m.deleted {
		return nil, 0, errNoMessage
	}
	return m, int(n), nil
}

func (d *maildrop) markDeleted(m *message) {
	m.deleted = true
	d.count--
	d.size -= m.size
}

// reset unmarks every deleted message (RSET).
func (d *maildrop) reset() {
	for i := range d.msgs {
		if d.msgs[i].deleted {
			d.msgs[i].deleted = false
			d.count++
			d.size += d.msgs[i].size
		}
	}
}

func (d *maildrop) deletedSet() store.UIDSet {
	var set store.UIDSet
	for _, m := range d.msgs {
		if m.deleted {
			set.Add(m.uid)
		}
	}
	return set
}

func (d *maildrop) seenSet() store.UIDSet {
	var set store.UIDSet
	for _, m := range d.msgs {
		if m.retrieved && !m.deleted && !m.seen {
			set.Add(m.uid)
		}
	}
	return set
}

func (d *maildrop) clearSeen() {
	for i := range d.msgs {
		d.msgs[i].retrieved = false
	}
}

// quoteArg makes a client argument safe to echo in a reply.
func quoteArg(s string) string {
	if len(s) > 20 {
		s = s[:20] + "..."
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x21 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
