package imapmsg

import "strings"

// envelopeOf builds an ENVELOPE from a header.
func envelopeOf(h Header) *Envelope {
	e := &Envelope{}
	// The last of repeated fields wins, as in Dovecot.
	get := func(name string) (Field, bool) {
		for i := len(h) - 1; i >= 0; i-- {
			if equalFoldASCII(h[i].Name, name) {
				return h[i], true
			}
		}
		return Field{}, false
	}
	if f, ok := get("Date"); ok {
		e.Date, e.hasDate, e.dateFolded = f.Value, true, f.Folded
	}
	if f, ok := get("Subject"); ok {
		e.Subject, e.hasSubject, e.subjectFolded = f.Value, true, f.Folded
	}
	if f, ok := get("In-Reply-To"); ok {
		e.InReplyTo, e.hasIRT, e.irtFolded = f.Value, true, f.Folded
	}
	if f, ok := get("Message-ID"); ok {
		e.MessageID, e.hasMsgID, e.msgIDFolded = f.Value, true, f.Folded
	}
	// Repeated address fields are concatenated, as in Dovecot.
	addrs := func(name string) []Address {
		var out []Address
		for _, v := range h.Values(name) {
			out = append(out, ParseAddressList(v)...)
		}
		return out
	}
	e.From = addrs("From")
	e.Sender = addrs("Sender")
	e.ReplyTo = addrs("Reply-To")
	e.To = addrs("To")
	e.Cc = addrs("Cc")
	e.Bcc = addrs("Bcc")
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

// envelope writes an ENVELOPE list.
func (w *wireWriter) envelope(e *Envelope) {
	w.WriteByte('(')
	w.envString(e.Date, e.hasDate, e.dateFolded)
	w.WriteByte(' ')
	w.envString(e.Subject, e.hasSubject, e.subjectFolded)
	for _, l := range [][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.WriteByte(' ')
		w.addresses(l)
	}
	w.WriteByte(' ')
	w.envString(e.InReplyTo, e.hasIRT, e.irtFolded)
	w.WriteByte(' ')
	w.envString(e.MessageID, e.hasMsgID, e.msgIDFolded)
	w.WriteByte(')')
}

// envString writes an ENVELOPE string as Dovecot does: NIL when absent; a
// literal when folded or when it holds tabs (sent as spaces), quotes,
// backslashes, CR, LF or 8-bit bytes.
func (w *wireWriter) envString(s string, present, folded bool) {
	if !present {
		w.WriteString("NIL")
		return
	}
	if strings.IndexByte(s, '\t') >= 0 {
		s = strings.ReplaceAll(s, "\t", " ")
		folded = true
	}
	w.str(s, true, folded)
}

func (w *wireWriter) envNString(s string) {
	w.envString(s, s != "", false)
}

func (w *wireWriter) addresses(l []Address) {
	if len(l) == 0 {
		w.WriteString("NIL")
		return
	}
	w.WriteByte('(')
	for _, a := range l {
		w.WriteByte('(')
		switch {
		case a.GroupEnd:
			w.WriteString("NIL NIL NIL NIL")
		case a.GroupStart:
			w.WriteString("NIL NIL ")
			w.envNString(a.Mailbox)
			w.WriteString(" NIL")
		default:
			w.envNString(a.Name)
			w.WriteByte(' ')
			w.envNString(a.ADL)
			w.WriteByte(' ')
			w.envNString(a.Mailbox)
			w.WriteByte(' ')
			w.envNString(a.Host)
		}
		w.WriteByte(')')
	}
	w.WriteByte(')')
}
