package mbox

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/yubinmail/yubin/store"
)

// keywordsPadding is the room Dovecot leaves after X-Keywords so flags can
// change in place (MBOX_HEADER_PADDING).
const keywordsPadding = 50

// fromLine is a From_ separator line as Dovecot writes it: the envelope
// sender, two spaces, asctime(3) in local time with a zero-padded day.
func fromLine(sender string, t time.Time) string {
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	return "From " + sender + "  " + t.Local().Format("Mon Jan 02 15:04:05 2006") + "\n"
}

// baseHeader is the X-IMAPbase of the first message.
type baseHeader struct {
	uidValidity uint32
	lastUID     uint32
	keywords    []string
}

// writeHidden writes the fields Dovecot keeps in a message's header, in
// Dovecot's order. base is set for the first message of the file. It
// returns the offset within b of X-IMAPbase's 10-digit UID field, or -1.
func writeHidden(b *bytes.Buffer, base *baseHeader, uid uint32, f store.Flags, contentLength int64) int {
	digits := -1
	if base != nil {
		b.WriteString("X-IMAPbase: ")
		fmt.Fprintf(b, "%d ", base.uidValidity)
		digits = b.Len()
		fmt.Fprintf(b, "%010d", base.lastUID)
		for _, k := range base.keywords {
			b.WriteByte(' ')
			b.WriteString(k)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(b, "X-UID: %d\n", uid)
	if f.System&store.Seen != 0 {
		b.WriteString("Status: RO\n")
	} else {
		b.WriteString("Status: O\n")
	}
	b.WriteString("X-Keywords:")
	for _, k := range f.Keywords {
		b.WriteByte(' ')
		b.WriteString(k)
	}
	b.WriteString(strings.Repeat(" ", keywordsPadding))
	b.WriteByte('\n')
	fmt.Fprintf(b, "Content-Length: %d\n", contentLength)
	if xs := xStatus(f.System); xs != "" {
		b.WriteString("X-Status: " + xs + "\n")
	}
	return digits
}

// xStatus is the X-Status value of flags: A answered, F flagged, T draft,
// D deleted.
func xStatus(s store.SystemFlags) string {
	var b strings.Builder
	for _, x := range []struct {
		f store.SystemFlags
		c byte
	}{{store.Answered, 'A'}, {store.Flagged, 'F'}, {store.Draft, 'T'}, {store.Deleted, 'D'}} {
		if s&x.f != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// flags reads a message's flags from its Status, X-Status and
// X-Keywords fields.
func (m *headerState) flags() store.Flags {
	var f store.Flags
	if strings.IndexByte(m.status, 'R') >= 0 {
		f.System |= store.Seen
	}
	for _, c := range []byte(m.xstatus) {
		switch c {
		case 'A':
			f.System |= store.Answered
		case 'F':
			f.System |= store.Flagged
		case 'T':
			f.System |= store.Draft
		case 'D':
			f.System |= store.Deleted
		}
	}
	f.Keywords = (store.Flags{}).Apply(store.FlagsAdd, store.Flags{Keywords: m.keywords}).Keywords
	return f
}
