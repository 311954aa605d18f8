package maildir

import (
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// fileName is a Maildir message file name taken apart:
//
//	<base>[:2,<flag letters>[,<rest>]]
//
// where base is the message's identity (the key in dovecot-uidlist) and
// may carry ",S=<size>" and ",W=<vsize>" fields.
type fileName struct {
	Base     string
	Size     int64 // ,S= value, -1 when absent
	VSize    int64 // ,W= value, -1 when absent
	HasInfo  bool  // a ":2," info part is present
	System   store.SystemFlags
	Keywords uint32 // bit i = keyword letter 'a'+i
	Extra    string // unknown upper-case letters and "P", kept as found
	Rest     string // a second ","-group after the letters, kept verbatim (with its comma)
	Other    string // an info part that is not "2,..." (kept verbatim, with the ':')
}

// parseFileName splits a Maildir file name. It never fails: a name that
// does not follow the scheme is a base name with no sizes and no flags.
func parseFileName(name string) fileName {
	f := fileName{Base: name, Size: -1, VSize: -1}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		f.Base = name[:i]
		info := name[i+1:]
		if strings.HasPrefix(info, "2,") {
			f.HasInfo = true
			letters := info[2:]
			if j := strings.IndexByte(letters, ','); j >= 0 {
				f.Rest = letters[j:]
				letters = letters[:j]
			}
			for k := 0; k < len(letters); k++ {
				c := letters[k]
				switch {
				case c == 'D':
					f.System |= store.Draft
				case c == 'F':
					f.System |= store.Flagged
				case c == 'R':
					f.System |= store.Answered
				case c == 'S':
					f.System |= store.Seen
				case c == 'T':
					f.System |= store.Deleted
				case c >= 'a' && c <= 'z':
					f.Keywords |= 1 << (c - 'a')
				case c >= 'A' && c <= 'Z':
					if strings.IndexByte(f.Extra, c) < 0 {
						f.Extra += string(c)
					}
				}
			}
		} else {
			f.Other = name[i:]
		}
	}
	f.Size = sizeField(f.Base, ",S=")
	f.VSize = sizeField(f.Base, ",W=")
	return f
}

// sizeField finds key (",S=") in base and parses the digits after it up
// to the next ',' or the end, as Dovecot does; -1 when absent or bad.
func sizeField(base, key string) int64 {
	i := strings.Index(base, key)
	if i < 0 {
		return -1
	}
	v := base[i+len(key):]
	if j := strings.IndexByte(v, ','); j >= 0 {
		v = v[:j]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// String assembles the file name, with the flag letters sorted by ASCII
// code as Dovecot writes them.
func (f fileName) String() string {
	if f.Other != "" {
		return f.Base + f.Other
	}
	if !f.HasInfo {
		return f.Base
	}
	return f.Base + ":2," + flagLetters(f.System, f.Keywords, f.Extra) + f.Rest
}

// flagLetters returns the info letters for the flags, sorted by ASCII.
func flagLetters(sys store.SystemFlags, kw uint32, extra string) string {
	var set [128]bool
	for i := 0; i < len(extra); i++ {
		if extra[i] < 128 {
			set[extra[i]] = true
		}
	}
	if sys&store.Draft != 0 {
		set['D'] = true
	}
	if sys&store.Flagged != 0 {
		set['F'] = true
	}
	if sys&store.Answered != 0 {
		set['R'] = true
	}
	if sys&store.Seen != 0 {
		set['S'] = true
	}
	if sys&store.Deleted != 0 {
		set['T'] = true
	}
	for i := 0; i < 26; i++ {
		if kw&(1<<i) != 0 {
			set['a'+i] = true
		}
	}
	var b []byte
	for c := 0; c < 128; c++ {
		if set[c] {
			b = append(b, byte(c))
		}
	}
	return string(b)
}
