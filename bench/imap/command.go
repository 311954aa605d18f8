package imapbench

import (
	"strconv"
	"strings"
)

// command is what the checker knows of a command the client sent: the
// load tool's own small vocabulary, read back from the command's text.
type command struct {
	Tag  string
	Verb string // upper case; "UID FETCH", "UID STORE", ... for UID commands
	Text string // the first line, for messages
	// Set is the sequence-set or uid-set the command names, expanded
	// ("*" is the message count the client knew when sending).
	Set     numSet
	Mailbox string
	// StoreOp is "FLAGS", "+FLAGS" or "-FLAGS" (.SILENT dropped);
	// Silent tells .SILENT.
	StoreOp string
	Silent  bool
	Flags   []string // STORE's and APPEND's flags
	Items   string   // FETCH's items, upper case; SEARCH's key; STATUS's items
	// CondStore: SELECT (CONDSTORE); Enable: ENABLE's capabilities.
	CondStore bool
	Enable    []string
}

// isUID tells a UID command.
func (c *command) isUID() bool { return strings.HasPrefix(c.Verb, "UID ") }

// parseCommand reads back a command line the load tool wrote (tag,
// verb, arguments; an APPEND's literal after the first line is
// ignored); exists resolves "*" in a set.
func parseCommand(line string, exists int) *command {
	first, _, _ := strings.Cut(line, "\r\n")
	c := &command{Text: first}
	words := strings.Fields(first)
	if len(words) < 2 {
		return c
	}
	c.Tag, c.Verb = words[0], strings.ToUpper(words[1])
	args := words[2:]
	if c.Verb == "UID" && len(args) > 0 {
		c.Verb += " " + strings.ToUpper(args[0])
		args = args[1:]
	}
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	rest := func(i int) string {
		if i < len(args) {
			return strings.ToUpper(strings.Join(args[i:], " "))
		}
		return ""
	}
	star := uint32(exists)
	if c.isUID() {
		star = 1<<32 - 1
	}
	switch strings.TrimPrefix(c.Verb, "UID ") {
	case "SELECT", "EXAMINE":
		c.Mailbox = unquoteMailbox(arg(0))
		c.CondStore = strings.Contains(rest(1), "CONDSTORE")
	case "STATUS", "CREATE":
		c.Mailbox = unquoteMailbox(arg(0))
		c.Items = rest(1)
	case "APPEND":
		c.Mailbox = unquoteMailbox(arg(0))
		if strings.HasPrefix(arg(1), "(") {
			f, _, _ := strings.Cut(strings.Join(args[1:], " "), ")")
			c.Flags = strings.Fields(strings.TrimPrefix(f, "("))
		}
	case "FETCH":
		c.Set = expandSet(arg(0), star)
		c.Items = rest(1)
	case "STORE":
		c.Set = expandSet(arg(0), star)
		op := strings.ToUpper(arg(1))
		c.StoreOp, c.Silent = strings.TrimSuffix(op, ".SILENT"), strings.HasSuffix(op, ".SILENT")
		f := strings.Join(args[min(2, len(args)):], " ")
		c.Flags = strings.Fields(strings.Trim(f, "()"))
	case "SEARCH":
		c.Items = rest(0)
	case "COPY", "MOVE":
		c.Set = expandSet(arg(0), star)
		c.Mailbox = unquoteMailbox(arg(1))
	case "EXPUNGE":
		if c.isUID() {
			c.Set = expandSet(arg(0), star)
		}
	case "ENABLE":
		c.Enable = strings.Fields(rest(0))
	}
	return c
}

// unquoteMailbox reads a mailbox name as the load tool writes it (an
// atom or a quoted string without escapes).
func unquoteMailbox(s string) string {
	s = strings.Trim(s, `"`)
	if strings.EqualFold(s, "INBOX") {
		return "INBOX"
	}
	return s
}

// numSet is a sequence-set or uid-set: ranges, low and high included.
type numSet [][2]uint32

// contains tells whether n is in the set.
func (s numSet) contains(n uint32) bool {
	for _, r := range s {
		if n >= r[0] && n <= r[1] {
			return true
		}
	}
	return false
}

// expandSet reads a sequence-set of the load tool's commands; "*" is
// star (the message count, or the highest UID).
func expandSet(s string, star uint32) numSet {
	var out numSet
	num := func(t string) uint32 {
		if t == "*" {
			return star
		}
		n, _ := strconv.ParseUint(t, 10, 32)
		return uint32(n)
	}
	for _, r := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(r, ":")
		lo, hi := num(a), num(a)
		if ok {
			hi = num(b)
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		out = append(out, [2]uint32{lo, hi})
	}
	return out
}
