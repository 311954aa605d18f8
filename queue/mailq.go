package queue

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// The column layouts of Postfix's showq_compat.c: short queue IDs
// (enable_long_queue_ids = no, the default) and long ones.
const (
	mailqShortString = "%-11s %7s %-20s %s\n"
	mailqShortSender = "%-11s %7d %20.20s %s\n"
	mailqLongString  = "%-17s %8s %-19s %s\n"
	mailqLongSender  = "%-17s %8d %19.19s %s\n"
)

// WriteMailq writes entries as Postfix 3.7's "postqueue -p" (mailq)
// does: a heading, one block per message (the queue ID followed by "*"
// when active and "!" when held, the size, the arrival time in the local
// time zone, the sender or MAILER-DAEMON for the null sender), the
// deferral reason in parentheses before the recipients it applies to,
// the recipients indented, and a "-- N Kbytes in M Requests." trailer;
// "Mail queue is empty" when there are no entries.
//
// Postfix picks the column widths by enable_long_queue_ids; WriteMailq
// uses the long layout when an ID is not a short Postfix ID (upper-case
// hexadecimal). Reasons are not wrapped (Postfix right-aligns a reason
// that fits in 76 columns and starts a longer one in column 0), local
// parts that are not dot-atoms are quoted ("a b"@example.jp), and
// control characters in addresses and reasons are shown as "?".
func WriteMailq(w io.Writer, entries []Entry) error {
	bw := bufio.NewWriter(w)
	if len(entries) == 0 {
		bw.WriteString("Mail queue is empty\n")
		return bw.Flush()
	}
	long := false
	for _, e := range entries {
		if !isShortQueueID(e.ID) {
			long = true
		}
	}
	strFmt, senderFmt := mailqShortString, mailqShortSender
	if long {
		strFmt, senderFmt = mailqLongString, mailqLongSender
		fmt.Fprintf(bw, strFmt, "----Queue ID-----", "--Size--", "---Arrival Time----", "--Sender/Recipient------")
	} else {
		fmt.Fprintf(bw, strFmt, "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------")
	}
	var total int64
	for i, e := range entries {
		if i > 0 {
			bw.WriteString("\n")
		}
		total += max(e.Size, 0)
		id := printable(e.ID)
		switch e.Queue {
		case "active":
			id += "*"
		case "hold":
			id += "!"
		}
		sender := "MAILER-DAEMON"
		if e.From != "" {
			sender = printable(quoteLocal(e.From))
		}
		// asctime(3): "Mon Dec  7 05:30:01 2026\n", cut to the column.
		arrival := e.Arrival.Local().Format("Mon Jan _2 15:04:05 2006") + "\n"
		fmt.Fprintf(bw, senderFmt, id, e.Size, arrival, sender)
		reason := ""
		for _, r := range e.Recipients {
			// As showq_compat: a "(reason)" line when the reason differs
			// from the previous recipient's, "(reason unavailable)" when
			// a reason is followed by none.
			if r.Reason != reason {
				reason = r.Reason
				show := printable(reason)
				if show == "" {
					show = "reason unavailable"
				}
				pad := max(76-len(show), 0)
				fmt.Fprintf(bw, "%*s(%s)\n", pad, "", show)
			}
			fmt.Fprintf(bw, strFmt, "", "", "", printable(quoteLocal(r.Addr)))
		}
	}
	n := len(entries)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(bw, "\n-- %d Kbytes in %d Request%s.\n", total/1024, n, plural)
	return bw.Flush()
}

// isShortQueueID reports whether id looks like a short Postfix queue ID:
// upper-case hexadecimal.
func isShortQueueID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// printable replaces control characters (and invalid UTF-8) with "?",
// as Postfix's printable() does before it shows an address or a reason.
func printable(s string) string {
	ok := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r < 0xa0) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// quoteLocal quotes the local part of addr when it is not a dot-atom
// (RFC 5322 section 3.4.1; UTF-8 allowed as in RFC 6532), as Postfix's
// quote_822_local does before showing an address: a b@example.jp
// becomes "a b"@example.jp. A local part already in quotes is kept.
func quoteLocal(addr string) string {
	local, domain := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain = addr[:i], addr[i:]
	}
	if local == "" || isDotAtom(local) || len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		return addr
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if local[i] == '"' || local[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteByte('"')
	return b.String() + domain
}

// isDotAtom reports whether s is atext runs separated by single dots.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}
