package maildir

import (
	"slices"
	"strings"
)

// New messages get their UIDs in arrival order, as Dovecot gives them:
// a sync that finds files without a UID sorts them by the time in their
// names (seconds, then microseconds) before it numbers them, and a
// delivery's name carries the time the message was received
// (store.AppendOptions.InternalDate, which the LMTP deliverer sets to the
// queue's arrival time), not the time the queue got round to delivering
// it. A group commit numbers its batch in the same order. So messages
// that the queue hands over in arrival order (it orders local deliveries
// per recipient: queue.LocalTransport) keep that order in UIDs and in
// POP3 message numbers, whether yubin or Dovecot adopts them.

// compareNames orders Maildir file names as Dovecot's
// maildir_filename_sort_cmp does: by the leading seconds, then by the
// ".M<usecs>" microseconds when present, then by the rest of the base
// name. The rest is compared with runs of digits taken as numbers, so
// that yubin's own "P<pid>Q<n>" names keep their sequence past Q9.
func compareNames(a, b string) int {
	sa, ra := leadingNumber(a)
	sb, rb := leadingNumber(b)
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	ua, ra := micros(ra)
	ub, rb := micros(rb)
	if ua != ub {
		if ua < ub {
			return -1
		}
		return 1
	}
	return compareNatural(baseOf(ra), baseOf(rb))
}

// sortByArrival sorts files by compareNames of their names.
func sortByArrival(files []fileEnt) {
	slices.SortStableFunc(files, func(x, y fileEnt) int { return compareNames(x.name, y.name) })
}

// leadingNumber parses the decimal digits at the start of s (at most 18,
// so that it cannot overflow) and returns them and the rest.
func leadingNumber(s string) (uint64, string) {
	var n uint64
	i := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if i < 18 {
			n = n*10 + uint64(s[i]-'0')
		}
	}
	return n, s[i:]
}

// micros parses ".M<digits>" at the start of s; -1 when absent, which
// sorts before any microseconds as in Dovecot.
func micros(s string) (int64, string) {
	if !strings.HasPrefix(s, ".M") {
		return -1, s
	}
	n, rest := leadingNumber(s[2:])
	return int64(n), rest
}

// baseOf cuts the ":2,..." info part off a name.
func baseOf(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i]
	}
	return s
}

// compareNatural compares a and b bytewise, except that runs of digits
// compare as numbers (shorter run of equal value first).
func compareNatural(a, b string) int {
	for a != "" && b != "" {
		if isDigit(a[0]) && isDigit(b[0]) {
			da, db := digitRun(a), digitRun(b)
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				if len(na) < len(nb) {
					return -1
				}
				return 1
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if da != db {
				if da < db {
					return -1
				}
				return 1
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			if a[0] < b[0] {
				return -1
			}
			return 1
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digitRun(s string) int {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}
