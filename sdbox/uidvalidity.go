package sdbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// newUIDValidity allocates a UIDVALIDITY for a new or rebuilt folder
// through the root's dovecot-uidvalidity file, as Dovecot does
// (FORMATS.md 1.10): the file holds the last value in 8 hex digits and an
// empty companion "dovecot-uidvalidity.<hex>" whose rename is the lock.
// The value is the current time, or one more than the last value, and
// always above old.
func (s *Store) newUIDValidity(old uint32) uint32 {
	main := filepath.Join(s.root, "dovecot-uidvalidity")
	for attempt := 0; attempt < 10; attempt++ {
		var last uint32
		if data, err := os.ReadFile(main); err == nil {
			if v, err := strconv.ParseUint(strings.TrimSpace(string(data)), 16, 32); err == nil {
				last = uint32(v)
			}
		}
		next := uint32(time.Now().Unix())
		if next <= last {
			next = last + 1
		}
		if next <= old {
			next = old + 1
		}
		if next == 0 {
			next = 1
		}
		newComp := fmt.Sprintf("%s.%08x", main, next)
		err := os.Rename(fmt.Sprintf("%s.%08x", main, last), newComp)
		if errors.Is(err, os.ErrNotExist) {
			f, cerr := os.OpenFile(newComp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if cerr != nil {
				continue // someone else took this value
			}
			f.Close()
			err = nil
		}
		if err != nil {
			break
		}
		s.chown(newComp)
		s.writeFileAtomic(main, []byte(fmt.Sprintf("%08x", next)), false)
		return next
	}
	// Could not use the file: fall back to the time.
	v := uint32(time.Now().Unix())
	if v <= old {
		v = old + 1
	}
	return v
}
