package main

import (
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/pgstore"
)

// withIMAPMessageData has pgstore compute, when a message is appended,
// the data the IMAP server keeps per message (its SORT and THREAD keys,
// imap.SortKeysDataName), so that the first SORT of a large mailbox
// reads no message body. Maildir users get the same from maildir's
// yubin-msgdata, filled by the IMAP server on first use.
func withIMAPMessageData(o *pgstore.Options) { o.Derive = imap.DeriveMessageData }
