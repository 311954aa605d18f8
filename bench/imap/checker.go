package imapbench

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// checker follows one IMAP session, command by command, and checks every
// reply against the rules of RFC 3501 and RFC 9051 (and UIDPLUS,
// CONDSTORE, QRESYNC, MOVE) for what the client has been told: a model
// of the selected mailbox kept from EXISTS, EXPUNGE, VANISHED, FETCH and
// FLAGS replies. It asserts only what the RFCs guarantee under
// concurrency (other sessions' changes arrive as untagged replies); in
// the client's private mailbox, which no other session touches, it
// asserts the exact state too. Each violation is passed to report as a
// one-line description.
type checker struct {
	client, session int
	report          func(string)
	claims          *recentClaims
	private         *privateBox

	caps    map[string]bool
	enabled map[string]bool
	sel     *view
	// cmd is the command in progress (the load tool sends one at a
	// time); nil between commands.
	cmd    *command
	sawBye bool
	// Set by the command in progress.
	expect   map[uint32][]string // private STORE: flags after, by sequence number
	search   []uint32
	status   *reply
	listed   map[string]bool
	fetched  map[uint32]bool // sequence numbers a FETCH replied with a UID for
	expunged int             // EXPUNGE/VANISHED during the command
	// wantExpunge: an EXPUNGE in the private mailbox removes this many
	// (-1 when some flags are not known).
	wantExpunge int
	added       int    // EXISTS growth during the command
	noText      string // a NO's text, for the caller
	// copyUID is COPYUID when it came untagged (MOVE, RFC 6851 §4.3).
	copyUID *reply
}

func newChecker(client, session int, report func(string), claims *recentClaims, private *privateBox) *checker {
	return &checker{client: client, session: session, report: report, claims: claims, private: private,
		caps: map[string]bool{}, enabled: map[string]bool{}, fetched: map[uint32]bool{}}
}

// violate reports a protocol error, naming the command in progress.
func (k *checker) violate(format string, args ...any) {
	what := "between commands"
	if k.cmd != nil {
		what = k.cmd.Text
		if len(what) > 60 {
			what = what[:60] + "..."
		}
	}
	k.report(fmt.Sprintf("client %d session %d, %s: %s", k.client, k.session, what, fmt.Sprintf(format, args...)))
}

// exists is the message count the client knows.
func (k *checker) exists() int {
	if k.sel == nil {
		return 0
	}
	return len(k.sel.msgs)
}

// send records a command about to be written (its whole text).
func (k *checker) send(line string) *command {
	c := parseCommand(line, k.exists())
	k.cmd = c
	k.expect, k.search, k.status, k.listed, k.fetched, k.expunged, k.added, k.noText, k.copyUID = nil, nil, nil, nil, map[uint32]bool{}, 0, 0, "", nil
	switch c.Verb {
	case "SELECT", "EXAMINE":
		// The old mailbox is closed; every reply now is the new one's.
		k.sel = &view{name: c.Mailbox, readOnly: c.Verb == "EXAMINE", flags: map[string]bool{},
			exact: k.private != nil && c.Mailbox == k.private.name}
		if c.CondStore {
			k.enabled["CONDSTORE"] = true
		}
	case "LIST":
		k.listed = map[string]bool{}
	case "EXPUNGE":
		k.wantExpunge = -1
		if k.sel != nil && k.sel.exact {
			k.wantExpunge = 0
			for _, m := range k.sel.msgs {
				switch {
				case !m.known:
					k.wantExpunge = -1
				case hasFlag(m.flags, `\Deleted`) && k.wantExpunge >= 0:
					k.wantExpunge++
				}
			}
		}
	case "STORE", "UID STORE":
		if k.sel != nil && k.sel.exact {
			k.expect = map[uint32][]string{}
			for i := range k.sel.msgs {
				m := &k.sel.msgs[i]
				target := c.Set.contains(uint32(i + 1))
				if c.isUID() {
					target = m.uid != 0 && c.Set.contains(m.uid)
				}
				if target && m.known {
					k.expect[uint32(i+1)] = applyStore(m.flags, c.StoreOp, c.Flags)
				}
			}
		}
	}
	return c
}

// receive checks one reply as read from the server; done tells the
// command's tagged reply (or a malformed line carrying its tag).
func (k *checker) receive(raw []byte) (r *reply, done bool) {
	r, err := parseReply(raw)
	if err != nil {
		k.violate("malformed reply: %v", err)
		if k.cmd != nil && bytes.HasPrefix(raw, []byte(k.cmd.Tag+" ")) {
			k.cmd = nil
			return nil, true
		}
		return nil, false
	}
	switch {
	case r.Tag == "+":
		k.violate("continuation request, but the client sent only non-synchronizing literals")
	case r.Tag == "*":
		k.untagged(r)
	case k.cmd == nil || r.Tag != k.cmd.Tag:
		k.violate("tagged reply %q for no command in progress", r.Tag)
	default:
		k.finish(r)
		return r, true
	}
	return r, false
}

func (k *checker) untagged(r *reply) {
	verb := ""
	if k.cmd != nil {
		verb = k.cmd.Verb
	}
	if r.Status != "" {
		if r.Status == "BYE" {
			k.sawBye = true
		}
		if r.Status == "PREAUTH" {
			k.violate("PREAUTH after the greeting")
		}
		k.code(r)
		return
	}
	switch r.Kind {
	case "CAPABILITY":
		k.setCaps(r.Words)
	case "ENABLED":
		if verb != "ENABLE" {
			k.violate("ENABLED without ENABLE")
		}
		for _, w := range r.Words {
			k.enabled[w] = true
		}
		if k.enabled["QRESYNC"] {
			k.enabled["CONDSTORE"] = true // RFC 7162 §3.2.3
		}
	case "FLAGS":
		if k.needSel("FLAGS") {
			k.sel.flags = map[string]bool{}
			for _, f := range r.Flags {
				k.sel.flags[strings.ToUpper(f)] = true
			}
			k.sel.sawFlags = true
		}
	case "EXISTS":
		k.existsReply(int(r.Num))
	case "RECENT":
		if k.needSel("RECENT") {
			k.sel.recent, k.sel.sawRecent = int(r.Num), true
		}
	case "EXPUNGE":
		k.expunge(int(r.Num))
	case "VANISHED":
		k.vanished(r)
	case "FETCH":
		k.fetch(r)
	case "SEARCH":
		if verb != "SEARCH" && verb != "UID SEARCH" {
			k.violate("SEARCH reply to %s", verb)
			return
		}
		if r.ModSeq != 0 && !strings.Contains(k.cmd.Items, "MODSEQ") {
			k.violate("SEARCH (MODSEQ) for a search without MODSEQ")
		}
		k.searchReply(r.Nums)
	case "ESEARCH":
		k.violate("ESEARCH, but no command asked RETURN options")
	case "LIST", "LSUB":
		if verb != r.Kind {
			k.violate("%s reply to %s", r.Kind, verb)
			return
		}
		k.listed[r.Mailbox] = true
	case "STATUS":
		if verb != "STATUS" || r.Mailbox != k.cmd.Mailbox {
			k.violate("STATUS of %q in reply to %s", r.Mailbox, verb)
			return
		}
		k.status = r
	case "ID", "NAMESPACE":
		if verb != r.Kind {
			k.violate("%s reply to %s", r.Kind, verb)
		}
	}
}

// needSel reports a reply that needs a selected mailbox when none is.
func (k *checker) needSel(what string) bool {
	if k.sel == nil {
		k.violate("%s with no mailbox selected", what)
		return false
	}
	return true
}

func (k *checker) setCaps(words []string) {
	k.caps = map[string]bool{}
	for _, w := range words {
		k.caps[w] = true
	}
}

// code applies an untagged or tagged response code.
func (k *checker) code(r *reply) {
	switch r.Code {
	case "CAPABILITY":
		k.setCaps(r.Words)
	case "UIDVALIDITY":
		if k.needSel("UIDVALIDITY") {
			if k.sel.sawUIDValidity && uint64(k.sel.uidValidity) != r.CodeNum {
				k.violate("UIDVALIDITY changed from %d to %d without a new SELECT", k.sel.uidValidity, r.CodeNum)
			}
			k.sel.uidValidity, k.sel.sawUIDValidity = uint32(r.CodeNum), true
		}
	case "UIDNEXT":
		if k.needSel("UIDNEXT") && k.cmd != nil && (k.cmd.Verb == "SELECT" || k.cmd.Verb == "EXAMINE") {
			k.sel.uidNext = uint32(r.CodeNum)
		}
	case "UNSEEN":
		if k.needSel("UNSEEN") && int(r.CodeNum) > len(k.sel.msgs) {
			k.violate("UNSEEN %d beyond EXISTS %d", r.CodeNum, len(k.sel.msgs))
		}
	case "PERMANENTFLAGS":
		if !k.needSel("PERMANENTFLAGS") {
			return
		}
		for _, f := range r.Flags {
			switch {
			case strings.EqualFold(f, `\Recent`):
				k.violate(`PERMANENTFLAGS lists \Recent, which no client can set`)
			case f == `\*` || systemFlags[strings.ToUpper(f)]:
			case !k.sel.flags[strings.ToUpper(f)]:
				k.violate("PERMANENTFLAGS lists %s, which the last FLAGS does not", f)
			}
		}
	case "HIGHESTMODSEQ":
		if k.needSel("HIGHESTMODSEQ") {
			if r.CodeNum < k.sel.modSeq {
				k.violate("HIGHESTMODSEQ went down from %d to %d", k.sel.modSeq, r.CodeNum)
			}
			k.sel.modSeq, k.sel.sawModSeq = max(k.sel.modSeq, r.CodeNum), true
		}
	case "COPYUID":
		if r.Tag == "*" {
			if k.cmd == nil || !strings.HasSuffix(k.cmd.Verb, "MOVE") {
				k.violate("untagged COPYUID outside MOVE")
			}
			k.copyUID = r
		}
	case "NOMODSEQ":
		if k.needSel("NOMODSEQ") {
			k.sel.sawModSeq = true
		}
	}
}

func (k *checker) existsReply(n int) {
	if !k.needSel("EXISTS") {
		return
	}
	v := k.sel
	selecting := k.cmd != nil && (k.cmd.Verb == "SELECT" || k.cmd.Verb == "EXAMINE")
	if n < len(v.msgs) {
		k.violate("EXISTS %d, below the %d messages known, without EXPUNGE", n, len(v.msgs))
		v.msgs = v.msgs[:n]
		return
	}
	k.added += n - len(v.msgs)
	for len(v.msgs) < n {
		v.msgs = append(v.msgs, message{atSelect: selecting})
	}
	v.sawExists = v.sawExists || selecting
}

// noExpungeDuring tells the commands during which RFC 3501 §7.4.1
// forbids EXPUNGE (sequence numbers would shift under the client).
func noExpungeDuring(verb string) bool {
	return verb == "FETCH" || verb == "STORE" || verb == "SEARCH"
}

func (k *checker) expunge(n int) {
	if !k.needSel("EXPUNGE") {
		return
	}
	if k.enabled["QRESYNC"] {
		k.violate("EXPUNGE after QRESYNC was enabled (RFC 7162 §3.2.10 says VANISHED)")
	}
	if k.cmd != nil && noExpungeDuring(k.cmd.Verb) {
		k.violate("EXPUNGE %d during %s (RFC 3501 §7.4.1)", n, k.cmd.Verb)
	}
	if n < 1 || n > len(k.sel.msgs) {
		k.violate("EXPUNGE %d, but EXISTS is %d", n, len(k.sel.msgs))
		return
	}
	k.sel.msgs = slices.Delete(k.sel.msgs, n-1, n)
	k.expunged++
}

func (k *checker) vanished(r *reply) {
	if !k.needSel("VANISHED") {
		return
	}
	if !k.enabled["QRESYNC"] {
		k.violate("VANISHED, but QRESYNC is not enabled")
		return
	}
	if r.Earlier {
		k.violate("VANISHED (EARLIER), but no command asked for it")
		return
	}
	if k.cmd != nil && noExpungeDuring(k.cmd.Verb) {
		k.violate("VANISHED during %s", k.cmd.Verb)
	}
	v := k.sel
	for _, uid := range r.Nums {
		i := v.indexOfUID(uid)
		if i < 0 {
			g := v.gaps(uid)
			switch {
			case len(g) == 0 && !v.approx:
				k.violate("VANISHED UID %d, which no message can have", uid)
				continue
			case len(g) == 0:
				continue
			case len(g) > 1:
				v.approx = true
			}
			i = g[0]
		}
		v.msgs = slices.Delete(v.msgs, i, i+1)
		k.expunged++
	}
}

// dataItem tells a FETCH item that is not flag or UID bookkeeping, so
// that only a FETCH command asks for it.
func dataItem(name string) bool {
	return name != "FLAGS" && name != "UID" && name != "MODSEQ"
}

func (k *checker) fetch(r *reply) {
	if !k.needSel("FETCH") {
		return
	}
	v, f, n := k.sel, r.Fetch, r.Num
	if int(n) > len(v.msgs) {
		k.violate("FETCH of message %d, but EXISTS is %d", n, len(v.msgs))
		return
	}
	m := &v.msgs[n-1]
	verb := ""
	if k.cmd != nil {
		verb = k.cmd.Verb
	}
	isFetch := verb == "FETCH" || verb == "UID FETCH"
	if slices.ContainsFunc(f.Items, dataItem) {
		switch {
		case !isFetch:
			k.violate("FETCH data %v for message %d unasked, in reply to %s", f.Items, n, verb)
		case verb == "UID FETCH" && f.UID == 0:
			k.violate("UID FETCH replied for message %d without its UID", n)
		case verb == "UID FETCH" && !k.cmd.Set.contains(f.UID):
			k.violate("UID FETCH replied for UID %d, not in the set asked", f.UID)
		case verb == "FETCH" && !k.cmd.Set.contains(n):
			k.violate("FETCH replied with data for message %d, not in the set asked", n)
		}
	}
	if k.cmd != nil && k.cmd.isUID() && f.UID == 0 && m.uid != 0 && k.cmd.Set.contains(m.uid) &&
		(verb == "UID FETCH" || verb == "UID STORE") {
		k.violate("%s replied for UID %d without the UID", verb, m.uid)
	}
	if f.UID != 0 {
		k.setUID(int(n), f.UID)
		k.fetched[n] = true
	}
	if f.HasModSeq {
		if !k.enabled["CONDSTORE"] && (k.cmd == nil || !strings.Contains(k.cmd.Items, "MODSEQ")) {
			k.violate("MODSEQ in FETCH, but CONDSTORE is not enabled")
		}
		if f.ModSeq < m.modseq {
			k.violate("message %d's MODSEQ went down from %d to %d", n, m.modseq, f.ModSeq)
		}
		m.modseq = max(m.modseq, f.ModSeq)
	}
	if f.HasFlags {
		if k.enabled["CONDSTORE"] && !f.HasModSeq && !(isFetch && strings.Contains(k.cmd.Items, "FLAGS")) {
			k.violate("FETCH FLAGS for message %d without MODSEQ, CONDSTORE being enabled (RFC 7162 §3.2)", n)
		}
		k.setFlags(int(n), f.Flags)
	}
}

func (k *checker) setUID(n int, uid uint32) {
	v := k.sel
	m := &v.msgs[n-1]
	if v.approx {
		m.uid = uid
		return
	}
	if m.uid != 0 {
		if m.uid != uid {
			k.violate("message %d has UID %d, but it was UID %d", n, uid, m.uid)
		}
		return
	}
	if ok, why := v.placeUID(n-1, uid); !ok {
		k.violate("%s", why)
	}
	if v.uidNext != 0 && m.atSelect && uid >= v.uidNext {
		k.violate("message %d was there at SELECT, but its UID %d is not below the SELECT's UIDNEXT %d", n, uid, v.uidNext)
	}
	if v.uidNext != 0 && !m.atSelect && uid < v.uidNext {
		k.violate("message %d came after SELECT, but its UID %d is below the SELECT's UIDNEXT %d", n, uid, v.uidNext)
	}
	m.uid = uid
	if m.recent == 1 {
		k.claimRecent(m)
	}
}

// claimRecent checks that no other session had m as \Recent.
func (k *checker) claimRecent(m *message) {
	if k.sel.readOnly || k.claims == nil || m.uid == 0 {
		return
	}
	if s, dup := k.claims.claim(k.sel.name, k.sel.uidValidity, m.uid, k.session); dup {
		k.violate(`UID %d is \Recent in this session and in session %d (RFC 3501 gives it to one)`, m.uid, s)
	}
}

func (k *checker) setFlags(n int, flags []string) {
	v := k.sel
	m := &v.msgs[n-1]
	for _, f := range flags {
		if !systemFlags[strings.ToUpper(f)] && !v.flags[strings.ToUpper(f)] {
			k.violate("message %d has %s, which the last FLAGS does not list (RFC 3501 §7.2.6)", n, f)
		}
	}
	norm, recent := normFlags(flags)
	switch {
	case m.recent == -1 && recent:
		k.violate(`message %d gained \Recent`, n)
	case m.recent == 1 && !recent:
		k.violate(`message %d lost \Recent within the session`, n)
	case m.recent == 0 && recent:
		m.recent = 1
		k.claimRecent(m)
	case m.recent == 0:
		m.recent = -1
	}
	if want, ok := k.expect[uint32(n)]; ok {
		if !slices.Equal(norm, want) {
			k.violate("STORE made message %d's flags %v, expected %v (nobody else writes this mailbox)", n, norm, want)
		}
	} else if v.exact && m.known && !slices.Equal(norm, m.flags) {
		k.violate("message %d's flags changed from %v to %v, but nobody else writes this mailbox", n, m.flags, norm)
	}
	m.flags, m.known = norm, true
}

// searchReply checks SEARCH's numbers: sequence numbers within EXISTS,
// UIDs of messages the client knows of.
func (k *checker) searchReply(nums []uint32) {
	k.search = append(k.search, nums...)
	if k.sel == nil {
		return
	}
	v := k.sel
	for _, n := range nums {
		if !k.cmd.isUID() {
			if int(n) > len(v.msgs) {
				k.violate("SEARCH found message %d, but EXISTS is %d", n, len(v.msgs))
			}
			continue
		}
		if v.indexOfUID(n) < 0 && len(v.gaps(n)) == 0 && !v.approx {
			k.violate("UID SEARCH found UID %d, which no message known can have", n)
		}
	}
}
