package imap

import (
	"strings"

	"github.com/yubinmail/yubin/store"
)

// parseFlags turns client flag names into store flags. \Recent is
// ignored (it cannot be set); other unknown system flags are refused.
func parseFlags(names []string) (store.Flags, error) {
	var f store.Flags
	for _, n := range names {
		if strings.HasPrefix(n, `\`) {
			if strings.EqualFold(n, `\Recent`) {
				continue
			}
			sf, ok := store.ParseSystemFlag(n)
			if !ok {
				return f, badf("Invalid system flag " + n)
			}
			f.System |= sf
			continue
		}
		if len(n) > 250 {
			return f, badf("Keyword too long.")
		}
		if !f.Has(n) {
			f.Keywords = append(f.Keywords, n)
		}
	}
	return f, nil
}
