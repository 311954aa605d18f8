package imap

import (
	"io"
	"strings"

	"github.com/emersion/go-message/charset"
)

// maxSearchString bounds a search string decoded from another charset.
const maxSearchString = 1 << 20

// decodeSearchStrings converts the string arguments of k's content keys
// from the charset cs (SEARCH CHARSET, SORT's and THREAD's charset
// argument) to UTF-8, so any charset the server can read is accepted, as
// Dovecot accepts any its iconv knows. An unknown charset is answered
// NO [BADCHARSET] (RFC 9051 6.4.4).
func decodeSearchStrings(k *searchKey, cs string) error {
	switch strings.ToUpper(cs) {
	case "", "UTF-8", "US-ASCII", "UTF8":
		return nil
	}
	if _, err := charset.Reader(cs, strings.NewReader("")); err != nil {
		return no("BADCHARSET", "Unsupported charset.")
	}
	return k.walkStrings(func(s string) (string, error) {
		r, err := charset.Reader(cs, strings.NewReader(s))
		if err != nil {
			return "", no("BADCHARSET", "Unsupported charset.")
		}
		b, err := io.ReadAll(io.LimitReader(r, maxSearchString))
		if err != nil {
			return "", badf("Search string not in its charset.")
		}
		return string(b), nil
	})
}

// walkStrings replaces the text arguments of content keys in the tree.
func (k *searchKey) walkStrings(f func(string) (string, error)) error {
	var err error
	switch k.op {
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		k.str, err = f(k.str)
	case "HEADER":
		k.str2, err = f(k.str2)
	}
	if err != nil {
		return err
	}
	for _, ch := range k.children {
		if err := ch.walkStrings(f); err != nil {
			return err
		}
	}
	return nil
}
