package imap

import (
	"sort"
	"strconv"
	"strings"
)

// Default METADATA limits (Server.MetadataMaxSize, MetadataMaxEntries).
const (
	DefaultMetadataMaxSize    = 64 << 10
	DefaultMetadataMaxEntries = 1000
)

// maxMetadataEntryName bounds an entry name.
const maxMetadataEntryName = 1024

// metadataEntry checks an entry name (RFC 5464 3.2) and returns it
// lower-cased. forSet refuses the bare "/private" and "/shared".
func metadataEntry(e string, forSet bool) (string, error) {
	l := strings.ToLower(e)
	bad := len(l) > maxMetadataEntryName || strings.Contains(l, "//") || strings.ContainsAny(l, "*%") ||
		strings.HasSuffix(l, "/")
	for i := 0; i < len(l) && !bad; i++ {
		bad = l[i] < 0x20 || l[i] == 0x7f
	}
	switch {
	case bad:
	case l == "/private" || l == "/shared":
		bad = forSet
	case strings.HasPrefix(l, "/private/") || strings.HasPrefix(l, "/shared/"):
	default:
		bad = true
	}
	if bad {
		return "", badf("Invalid metadata entry name.")
	}
	return l, nil
}

// metadataMailbox reads GETMETADATA's and SETMETADATA's mailbox: "" is
// the server; another must exist.
func (c *conn) metadataMailbox() (string, error) {
	raw, err := c.r.astring()
	if err != nil || raw == "" {
		return "", err
	}
	if strings.HasPrefix(raw, "~") {
		return "", errTildeName
	}
	return c.decodeName(raw)
}

func (c *conn) checkMetadataMailbox(name string) error {
	if name == "" {
		return nil
	}
	if _, err := c.st.Status(c.ctx(), name); err != nil {
		return no("", "Mailbox doesn't exist: "+name)
	}
	return nil
}

// writeMetadataMailbox writes a mailbox name of a METADATA response: an
// atom where it can be one, as Dovecot writes it.
func (c *conn) writeMetadataMailbox(name string) {
	if name != "" && name == EncodeMailboxName(name) && !c.w.utf8 {
		atom := true
		for i := 0; i < len(name); i++ {
			atom = atom && isAtomChar(name[i])
		}
		if atom {
			c.w.str(name)
			return
		}
	}
	c.w.mailbox(name)
}

// GETMETADATA (RFC 5464 4.2) with MAXSIZE and DEPTH.
func (c *conn) cmdGetMetadata(tag string, _ bool) error {
	if c.srv.Metadata == nil {
		return badf("Unknown command.")
	}
	if err := c.r.sp(); err != nil {
		return err
	}
	maxSize, depth := int64(-1), 0
	if b, err := c.r.peek(); err != nil {
		return err
	} else if b == '(' {
		err := c.r.list(func() error {
			for {
				a, err := c.r.atom()
				if err == nil {
					err = c.r.sp()
				}
				if err != nil {
					return err
				}
				switch strings.ToUpper(a) {
				case "MAXSIZE":
					n, err := c.r.number64()
					if err != nil {
						return err
					}
					maxSize = int64(min(n, 1<<62))
				case "DEPTH":
					v, err := c.r.atom()
					if err != nil {
						return err
					}
					switch strings.ToLower(v) {
					case "0":
						depth = 0
					case "1":
						depth = 1
					case "infinity":
						depth = -1
					default:
						return badf("Invalid DEPTH.")
					}
				default:
					return badf("Unknown GETMETADATA option.")
				}
				b, err := c.r.peek()
				if err != nil || b != ' ' {
					return err
				}
				c.r.readByte()
			}
		})
		if err == nil {
			err = c.r.sp()
		}
		if err != nil {
			return err
		}
	}
	mbox, err := c.metadataMailbox()
	if err == nil {
		err = c.r.sp()
	}
	if err != nil {
		return err
	}
	var entries []string
	add := func() error {
		e, err := c.r.astring()
		if err == nil {
			e, err = metadataEntry(e, false)
		}
		if err == nil && len(entries) >= 1000 {
			err = badf("Too many entries.")
		}
		entries = append(entries, e)
		return err
	}
	b, err := c.r.peek()
	if err != nil {
		return err
	}
	if b == '(' {
		err = c.r.list(func() error {
			for {
				if err := add(); err != nil {
					return err
				}
				b, err := c.r.peek()
				if err != nil || b != ' ' {
					return err
				}
				c.r.readByte()
			}
		})
	} else {
		err = add()
	}
	if err == nil {
		err = c.r.crlf()
	}
	if err != nil {
		return err
	}
	if err := c.checkMetadataMailbox(mbox); err != nil {
		return err
	}
	have, err := c.srv.Metadata.GetMetadata(c.ctx(), c.user, mbox)
	if err != nil {
		return err
	}
	type kv struct {
		k   string
		v   string
		nil bool
	}
	var out []kv
	var longest int64
	take := func(k, v string) {
		if maxSize >= 0 && int64(len(v)) > maxSize {
			longest = max(longest, int64(len(v)))
			return
		}
		out = append(out, kv{k: k, v: v})
	}
	for _, e := range entries {
		if v, ok := have[e]; ok {
			take(e, v)
		} else if depth == 0 {
			out = append(out, kv{k: e, nil: true})
		}
		if depth == 0 {
			continue
		}
		var kids []string
		for k := range have {
			rest, ok := strings.CutPrefix(k, e+"/")
			if ok && (depth < 0 || !strings.Contains(rest, "/")) {
				kids = append(kids, k)
			}
		}
		sort.Strings(kids)
		for _, k := range kids {
			take(k, have[k])
		}
	}
	if len(out) > 0 {
		c.w.str("* METADATA ")
		c.writeMetadataMailbox(mbox)
		c.w.str(" (")
		for i, e := range out {
			if i > 0 {
				c.w.byte(' ')
			}
			c.w.str(e.k + " ")
			if e.nil {
				c.w.str("NIL")
			} else {
				c.w.literal(e.v)
			}
		}
		c.w.str(")\r\n")
	}
	if longest > 0 {
		c.okCode = "METADATA LONGENTRIES " + strconv.FormatInt(longest, 10)
	}
	return c.w.err
}

// SETMETADATA (RFC 5464 4.3).
func (c *conn) cmdSetMetadata(tag string, _ bool) error {
	if c.srv.Metadata == nil {
		return badf("Unknown command.")
	}
	err := c.r.sp()
	var mbox string
	if err == nil {
		mbox, err = c.metadataMailbox()
	}
	if err == nil {
		err = c.r.sp()
	}
	if err != nil {
		return err
	}
	maxSize := c.srv.MetadataMaxSize
	if maxSize == 0 {
		maxSize = DefaultMetadataMaxSize
	}
	set := map[string]*string{}
	tooBig := false
	err = c.r.list(func() error {
		for {
			e, err := c.r.astring()
			if err == nil {
				e, err = metadataEntry(e, true)
			}
			if err == nil {
				err = c.r.sp()
			}
			var v string
			var ok bool
			if err == nil {
				v, ok, err = c.r.nstring()
			}
			if err != nil {
				return err
			}
			if len(set) >= DefaultMetadataMaxEntries {
				return badf("Too many entries.")
			}
			if ok {
				if int64(len(v)) > maxSize {
					tooBig = true
				}
				set[e] = &v
			} else {
				set[e] = nil
			}
			b, err := c.r.peek()
			if err != nil || b != ' ' {
				return err
			}
			c.r.readByte()
		}
	})
	if err == nil {
		err = c.r.crlf()
	}
	if err != nil {
		return err
	}
	if err := c.checkMetadataMailbox(mbox); err != nil {
		return err
	}
	if tooBig {
		return no("METADATA MAXSIZE "+strconv.FormatInt(maxSize, 10), "Metadata entry value too large.")
	}
	if len(set) == 0 {
		return nil
	}
	have, err := c.srv.Metadata.GetMetadata(c.ctx(), c.user, mbox)
	if err != nil {
		return err
	}
	n := len(have)
	for k, v := range set {
		_, exists := have[k]
		switch {
		case v != nil && !exists:
			n++
		case v == nil && exists:
			n--
		}
	}
	limit := c.srv.MetadataMaxEntries
	if limit == 0 {
		limit = DefaultMetadataMaxEntries
	}
	if n > limit {
		return no("METADATA TOOMANY", "Too many metadata entries.")
	}
	return c.srv.Metadata.SetMetadata(c.ctx(), c.user, mbox, set)
}
