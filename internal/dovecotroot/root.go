// Package dovecotroot holds the files Dovecot keeps at the root of a
// user's mail, shared by the maildir and sdbox stores: the subscriptions
// file and dovecot-uidvalidity.
package dovecotroot

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/internal/mutf7"
	"github.com/yubinmail/yubin/store"
)

// The subscriptions file (FORMATS.md 1.10): "V\t2\n\n", then one name per
// line, its levels in modified UTF-7 joined by TAB, each level escaped
// with \x01 ('1' \x01, 't' TAB, 'r' CR, 'n' LF, '0' NUL).

var subsEscaper = strings.NewReplacer("\x01", "\x011", "\t", "\x01t", "\r", "\x01r", "\n", "\x01n", "\x00", "\x010")
var subsUnescaper = strings.NewReplacer("\x011", "\x01", "\x01t", "\t", "\x01r", "\r", "\x01n", "\n", "\x010", "\x00")

// FormatSubscription is one line of the subscriptions file for name.
func FormatSubscription(name string) string {
	levels := strings.Split(name, "/")
	for i, l := range levels {
		levels[i] = subsEscaper.Replace(mutf7.Encode(l))
	}
	return strings.Join(levels, "\t")
}

// ParseSubscriptions returns the valid mailbox names of a subscriptions
// file (damaged lines are skipped).
func ParseSubscriptions(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<10)
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			if strings.HasPrefix(line, "V\t") {
				continue
			}
		}
		if line == "" {
			continue
		}
		levels := strings.Split(line, "\t")
		ok := true
		for i, l := range levels {
			d, err := mutf7.Decode(subsUnescaper.Replace(l))
			if err != nil {
				ok = false
				break
			}
			levels[i] = d
		}
		name := store.CanonicalName(strings.Join(levels, "/"))
		if ok && store.ValidateName(name) == nil {
			out = append(out, name)
		}
	}
	return out
}

// EditSubscriptions adds name to (add) or removes it from the
// subscriptions file data and returns the new file; changed is false
// when there was nothing to do.
func EditSubscriptions(data []byte, name string, add bool) (out []byte, changed bool) {
	var names []string
	found := false
	for _, n := range ParseSubscriptions(data) {
		if n == name {
			found = true
			if !add {
				continue
			}
		}
		names = append(names, n)
	}
	if add == found {
		return data, false
	}
	if add {
		names = append(names, name)
	}
	var b strings.Builder
	b.WriteString("V\t2\n\n")
	for _, n := range names {
		b.WriteString(FormatSubscription(n))
		b.WriteByte('\n')
	}
	return []byte(b.String()), true
}

// NewUIDValidity allocates a UIDVALIDITY for a new or rebuilt folder
// through the root's dovecot-uidvalidity file, as Dovecot does
// (FORMATS.md 1.10): the file holds the last value in 8 hex digits and an
// empty companion "dovecot-uidvalidity.<hex>" whose rename is the lock.
// The value is the current time, or one more than the last value, and
// always above old.
func NewUIDValidity(root string, old uint32, chown func(path string), write func(path string, data []byte) error) uint32 {
	main := filepath.Join(root, "dovecot-uidvalidity")
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
		chown(newComp)
		write(main, []byte(fmt.Sprintf("%08x", next)))
		return next
	}
	// Could not use the file: fall back to the time.
	v := uint32(time.Now().Unix())
	if v <= old {
		v = old + 1
	}
	return v
}
