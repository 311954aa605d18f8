package imap

import (
	"strings"
	"unicode/utf8"

	"github.com/yubinmail/yubin/store"
)

// mailboxArg reads a mailbox argument and returns the store name: modified
// UTF-7 decoded (or taken as UTF-8 after ENABLE UTF8=ACCEPT), INBOX in
// canonical case.
func (c *conn) mailboxArg() (string, error) {
	raw, err := c.r.astring()
	if err != nil {
		return "", err
	}
	if strings.HasPrefix(raw, "~") {
		// Dovecot refuses such names everywhere ("~user" reads as
		// another user's home); the command line is still read whole.
		return "", errTildeName
	}
	return c.decodeName(raw)
}

// errTildeName answers a mailbox argument that begins with '~'.
var errTildeName = no("CANNOT", "Invalid mailbox name: Begins with '~'.")

func (c *conn) decodeName(raw string) (string, error) {
	name := raw
	if c.w.utf8 {
		if !utf8.ValidString(raw) {
			return "", no("CANNOT", "Mailbox name is not valid UTF-8.")
		}
	} else {
		var err error
		if name, err = DecodeMailboxName(raw); err != nil {
			return "", no("CANNOT", "Mailbox name is not valid mUTF-7.")
		}
	}
	name = strings.TrimSuffix(name, "/")
	return store.CanonicalName(name), nil
}

// checkName validates a name for CREATE/RENAME.
func checkName(name string) error {
	if err := store.ValidateName(name); err != nil {
		return no("CANNOT", "Invalid mailbox name.")
	}
	if name[0] == '~' {
		// Dovecot refuses it: "~user" reads as another user's home.
		return no("CANNOT", "Invalid mailbox name: Begins with '~'.")
	}
	return nil
}
