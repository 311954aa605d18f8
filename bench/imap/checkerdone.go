package imapbench

import (
	"slices"
	"strings"
)

// finish checks a command's tagged reply against what the command and
// its untagged replies have told.
func (k *checker) finish(r *reply) {
	c := k.cmd
	defer func() { k.cmd, k.expect = nil, nil }()
	k.code(r)
	switch r.Status {
	case "BAD":
		k.violate("BAD %s (the command is valid)", r.Text)
		k.failed(c)
		return
	case "NO":
		k.noText = "[" + r.Code + "] " + r.Text
		k.failed(c)
		return
	}
	switch c.Verb {
	case "SELECT", "EXAMINE":
		k.selected(c, r)
	case "APPEND":
		k.appended(c, r)
	case "COPY", "MOVE", "UID COPY", "UID MOVE":
		k.copied(c, r)
	case "STORE", "UID STORE":
		for n, want := range k.expect {
			if int(n) <= len(k.sel.msgs) {
				k.sel.msgs[n-1].flags = want
			}
		}
	case "FETCH", "UID FETCH":
		if k.sel != nil && k.sel.exact && !c.isUID() && strings.Contains(c.Items, "UID") {
			for i := range k.sel.msgs {
				if n := uint32(i + 1); c.Set.contains(n) && !k.fetched[n] {
					k.violate("FETCH gave no reply for message %d (nobody else writes this mailbox)", n)
				}
			}
		}
	case "SEARCH", "UID SEARCH":
		k.searched(c)
	case "EXPUNGE", "UID EXPUNGE":
		if k.sel != nil && k.sel.exact && c.Verb == "EXPUNGE" {
			if k.wantExpunge >= 0 && k.expunged != k.wantExpunge {
				k.violate("EXPUNGE removed %d messages, but %d had \\Deleted (nobody else writes this mailbox)", k.expunged, k.wantExpunge)
			}
			for i, m := range k.sel.msgs {
				if m.known && hasFlag(m.flags, `\Deleted`) {
					k.violate("EXPUNGE left message %d (UID %d), which has \\Deleted", i+1, m.uid)
				}
			}
		}
	case "STATUS":
		k.statused(c)
	case "LIST":
		if !k.listed["INBOX"] && strings.Contains(c.Text, `"*"`) {
			k.violate("LIST * without INBOX")
		}
		if p := k.private; p != nil && p.created && strings.Contains(c.Text, `"*"`) && !k.listed[p.name] {
			k.violate("LIST * without %s, which the client created", p.name)
		}
	case "CREATE":
		if k.private != nil && c.Mailbox == k.private.name {
			k.private.created = true
		}
	case "LOGOUT":
		if !k.sawBye {
			k.violate("LOGOUT's OK without an untagged BYE first (RFC 3501 §6.1.3)")
		}
		k.keep()
	case "ENABLE":
		for _, e := range c.Enable {
			if k.caps[e] && !k.enabled[e] {
				k.violate("ENABLE %s, advertised, but not in ENABLED", e)
			}
		}
	}
}

// failed handles a command's NO or BAD.
func (k *checker) failed(c *command) {
	switch c.Verb {
	case "SELECT", "EXAMINE":
		k.sel = nil // RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected
	case "CREATE":
		if k.private != nil && c.Mailbox == k.private.name && strings.Contains(k.noText, "ALREADYEXISTS") {
			k.private.created = true
		}
	case "STORE", "UID STORE", "EXPUNGE", "UID EXPUNGE":
		if k.sel != nil && k.sel.exact {
			// a store error part way: the flags are not known now
			for i := range k.sel.msgs {
				k.sel.msgs[i].known = false
			}
		}
	case "APPEND", "COPY", "MOVE", "UID COPY", "UID MOVE":
		if k.private != nil && c.Mailbox == k.private.name {
			k.private.known = false
		}
	}
}

// selected checks a SELECT's replies: RFC 3501 §6.3.1's required FLAGS,
// EXISTS, RECENT and UIDVALIDITY (RECENT not for IMAP4rev2), RFC 7162's
// HIGHESTMODSEQ or NOMODSEQ; and in the private mailbox, the state the
// last session left.
func (k *checker) selected(c *command, r *reply) {
	v := k.sel
	if r.Code == "READ-ONLY" {
		v.readOnly = true
	}
	if v.recent > len(v.msgs) {
		k.violate("RECENT %d beyond EXISTS %d", v.recent, len(v.msgs))
	}
	for _, req := range []struct {
		ok   bool
		what string
	}{{v.sawFlags, "FLAGS"}, {v.sawExists, "EXISTS"}, {v.sawRecent || k.enabled["IMAP4REV2"], "RECENT"},
		{v.sawUIDValidity, "UIDVALIDITY"}, {v.sawModSeq || !c.CondStore, "HIGHESTMODSEQ or NOMODSEQ"}} {
		if !req.ok {
			k.violate("%s's reply has no %s", c.Verb, req.what)
		}
	}
	p := k.private
	if !v.exact {
		return
	}
	if !p.known {
		p.uidValidity, p.uidNext, p.nextExact = v.uidValidity, v.uidNext, v.uidNext != 0
		p.msgs, p.recent = nil, -1
		return
	}
	switch {
	case v.uidValidity != p.uidValidity:
		k.violate("UIDVALIDITY %d, was %d (nobody else writes this mailbox)", v.uidValidity, p.uidValidity)
		p.known = false
		return
	case len(v.msgs) != len(p.msgs):
		k.violate("EXISTS %d, but %d messages were left (nobody else writes this mailbox)", len(v.msgs), len(p.msgs))
		p.known = false
		return
	case p.nextExact && v.uidNext != p.uidNext || !p.nextExact && v.uidNext < p.uidNext:
		k.violate("UIDNEXT %d, but %d was next (nobody else writes this mailbox)", v.uidNext, p.uidNext)
	case p.recent >= 0 && v.recent != p.recent:
		k.violate("RECENT %d, but %d messages came since the last SELECT", v.recent, p.recent)
	}
	for i := range v.msgs {
		v.msgs[i].uid, v.msgs[i].flags, v.msgs[i].known = p.msgs[i].uid, p.msgs[i].flags, p.msgs[i].known
		v.msgs[i].recent = -1
		if i >= len(v.msgs)-p.recent {
			v.msgs[i].recent = 1
		}
	}
}

// keep writes the private mailbox's view back for the next session.
func (k *checker) keep() {
	v, p := k.sel, k.private
	if v == nil || !v.exact || p == nil {
		return
	}
	p.known = !v.approx
	for _, m := range v.msgs {
		if m.uid == 0 {
			p.known = false
		}
	}
	p.msgs = slices.Clone(v.msgs)
	p.uidValidity = v.uidValidity
	p.uidNext, p.nextExact = max(v.uidNext, v.maxUID()+1), v.uidNext > v.maxUID()
	p.recent = 0
}

// appended checks APPEND's APPENDUID (RFC 4315): the mailbox's
// UIDVALIDITY, and a UID above every one known (the predicted UIDNEXT
// in the private mailbox).
func (k *checker) appended(c *command, r *reply) {
	if r.Code != "APPENDUID" {
		if k.caps["UIDPLUS"] {
			k.violate("APPEND's OK has no APPENDUID, UIDPLUS being advertised")
		}
		return
	}
	if len(r.CodeSets[0]) != 1 {
		k.violate("APPENDUID of %d UIDs for one message", len(r.CodeSets[0]))
		return
	}
	uid := r.CodeSets[0][0]
	if v := k.sel; v != nil && v.name == c.Mailbox {
		if uint64(v.uidValidity) != r.CodeNum {
			k.violate("APPENDUID's UIDVALIDITY %d, but the mailbox's is %d", r.CodeNum, v.uidValidity)
		}
		if uid < v.uidNext || uid <= v.maxUID() {
			k.violate("APPENDUID %d, but UIDNEXT was %d and UID %d is known", uid, v.uidNext, v.maxUID())
		}
	}
	if p := k.private; p != nil && c.Mailbox == p.name {
		k.checkNext(uint32(r.CodeNum), uid)
		p.add(uint32(r.CodeNum), []uint32{uid})
	}
}

// checkNext checks a UID given to a new message of the private mailbox.
func (k *checker) checkNext(uidValidity, uid uint32) {
	p := k.private
	if !p.known {
		return
	}
	if uidValidity != p.uidValidity {
		k.violate("UIDVALIDITY %d, but the mailbox's is %d", uidValidity, p.uidValidity)
	}
	if p.nextExact && uid != p.uidNext || uid < p.uidNext {
		k.violate("new message's UID %d, but %d was next", uid, p.uidNext)
	}
}

// copied checks COPY's and MOVE's COPYUID (RFC 4315, RFC 6851): as many
// destination UIDs as source ones, sources among those asked, and for
// MOVE, the moved messages expunged from the client's view.
func (k *checker) copied(c *command, r *reply) {
	if r.Code != "COPYUID" && k.copyUID != nil {
		r = k.copyUID
	}
	if r.Code != "COPYUID" {
		if v := k.sel; v != nil && v.exact && v.name == c.Mailbox && k.added > 0 {
			k.violate("COPY without COPYUID, but %d messages came (nobody else writes this mailbox)", k.added)
		}
		return
	}
	src, dst := r.CodeSets[0], r.CodeSets[1]
	if len(src) != len(dst) {
		k.violate("COPYUID has %d source UIDs and %d destination UIDs", len(src), len(dst))
		if k.private != nil && c.Mailbox == k.private.name {
			k.private.known = false
		}
		return
	}
	if c.isUID() {
		for _, u := range src {
			if !c.Set.contains(u) {
				k.violate("COPYUID names source UID %d, not asked", u)
			}
		}
	}
	if strings.HasSuffix(c.Verb, "MOVE") && k.sel != nil && !k.sel.approx {
		for _, u := range src {
			if k.sel.indexOfUID(u) >= 0 {
				k.violate("MOVE's OK, but UID %d was not expunged (RFC 6851 §4.3)", u)
			}
		}
	}
	if !slices.IsSorted(dst) {
		k.violate("COPYUID's destination UIDs %v are not ascending", dst)
	}
	if p := k.private; p != nil && c.Mailbox == p.name {
		if k.sel != nil && k.sel.name == p.name {
			if k.added < len(dst) {
				k.violate("copied %d messages into the selected mailbox, but EXISTS grew by %d", len(dst), k.added)
			}
			return
		}
		if len(dst) > 0 {
			k.checkNext(uint32(r.CodeNum), dst[0])
		}
		p.add(uint32(r.CodeNum), dst)
	}
}

// searched checks, in the private mailbox, that a SEARCH for a flag
// found exactly the messages the model says have it.
func (k *checker) searched(c *command) {
	v := k.sel
	if v == nil || !v.exact {
		return
	}
	var flag string
	not := false
	switch key := c.Items; {
	case key == "UNSEEN":
		flag, not = `\Seen`, true
	case key == "FLAGGED", key == "DELETED", key == "SEEN":
		flag = `\` + key
	case strings.HasPrefix(key, "KEYWORD "):
		flag = strings.TrimPrefix(key, "KEYWORD ")
	default:
		return
	}
	var want []uint32
	for i, m := range v.msgs {
		if !m.known || m.uid == 0 && c.isUID() {
			return
		}
		if hasFlag(m.flags, flag) != not {
			want = append(want, uint32(i+1))
			if c.isUID() {
				want[len(want)-1] = m.uid
			}
		}
	}
	got := slices.Clone(k.search)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		k.violate("SEARCH found %v, but the messages with that flag are %v (nobody else writes this mailbox)", got, want)
	}
}

// statused checks STATUS of the private mailbox against the model.
func (k *checker) statused(c *command) {
	r := k.status
	if r == nil {
		k.violate("STATUS's OK without a STATUS reply")
		return
	}
	p := k.private
	if p == nil || c.Mailbox != p.name || !p.known || k.sel != nil && k.sel.name == p.name {
		return
	}
	want := map[string]uint64{"MESSAGES": uint64(len(p.msgs)), "UIDVALIDITY": uint64(p.uidValidity)}
	if p.recent >= 0 {
		want["RECENT"] = uint64(p.recent)
	}
	if p.nextExact {
		want["UIDNEXT"] = uint64(p.uidNext)
	} else if r.Items["UIDNEXT"] < uint64(p.uidNext) {
		k.violate("STATUS UIDNEXT %d, but UID %d is taken", r.Items["UIDNEXT"], p.uidNext-1)
	}
	unseen := 0
	for _, m := range p.msgs {
		if !m.known {
			unseen = -1
			break
		}
		if !hasFlag(m.flags, `\Seen`) {
			unseen++
		}
	}
	if unseen >= 0 {
		want["UNSEEN"] = uint64(unseen)
	}
	for name, got := range r.Items {
		if w, ok := want[name]; ok && w != got {
			k.violate("STATUS %s %d, but the mailbox has %d (nobody else writes it)", name, got, w)
		}
	}
}
