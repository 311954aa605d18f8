package imap

import (
	"strconv"

	"github.com/yubinmail/yubin/store"
)

func itoa(n uint32) string   { return strconv.FormatUint(uint64(n), 10) }
func itoa64(n uint64) string { return strconv.FormatUint(n, 10) }

// mailboxID is the OBJECTID MAILBOXID (RFC 8474) of a mailbox. The store
// has no mailbox GUID, so the UIDVALIDITY stands in: it changes exactly
// when the mailbox is recreated.
func mailboxID(st store.MailboxStatus) string {
	if st.UIDValidity == 0 {
		return ""
	}
	return "M" + strconv.FormatUint(uint64(st.UIDValidity), 16)
}
