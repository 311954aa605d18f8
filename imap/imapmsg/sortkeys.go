package imapmsg

import (
	"bytes"
	"io"
	"strings"
	"time"
)

// SortKeys are the values SORT (RFC 5256, RFC 5957) and THREAD compare
// for one message, taken from its top-level header. Strings are in
// i;unicode-casemap form (CaseMap) so they compare as bytes.
type SortKeys struct {
	// Date is the Date: header's time; HasDate is false when the field
	// is missing or unparsable (SORT then uses the internal date).
	Date    time.Time
	HasDate bool
	// Subject is the base subject (BaseSubject); ReplyOrFwd says the
	// subject had a reply or forward marker.
	Subject    string
	ReplyOrFwd bool
	// From, To and Cc are the mailbox part (addr-mailbox) of the first
	// address of the field, "" when there is none.
	From, To, Cc string
	// DisplayFrom and DisplayTo are the decoded display name of the first
	// From and To address, or its mailbox@host when it has none
	// (RFC 5957).
	DisplayFrom, DisplayTo string
	// MessageID is the first msg-id of Message-ID: without its angle
	// brackets, "" when there is none.
	MessageID string
	// References are the msg-ids of References: (oldest first), or when
	// it has none, the first msg-id of In-Reply-To:. At most
	// MaxReferences are kept: the first and the latest ones.
	References []string
}

// MaxReferences bounds the References a SortKeys keeps.
const MaxReferences = 100

// SortKeysOf extracts the sort and thread keys from a header.
func SortKeysOf(h Header) *SortKeys {
	k := &SortKeys{}
	if v, ok := h.Get("Date"); ok {
		if t, ok := parseDate(v); ok && t.Unix() > 0 {
			k.Date, k.HasDate = t, true
		}
	}
	if v, ok := h.Get("Subject"); ok {
		k.Subject, k.ReplyOrFwd = BaseSubject(v)
	}
	k.From = firstMailbox(h, "From")
	k.To = firstMailbox(h, "To")
	k.Cc = firstMailbox(h, "Cc")
	k.DisplayFrom = displayName(h, "From")
	k.DisplayTo = displayName(h, "To")
	if v, ok := h.Get("Message-ID"); ok {
		if ids := msgIDs(v, 1); len(ids) > 0 {
			k.MessageID = ids[0]
		}
	}
	if v, ok := h.Get("References"); ok {
		k.References = msgIDs(v, -1)
	}
	if len(k.References) == 0 {
		if v, ok := h.Get("In-Reply-To"); ok {
			k.References = msgIDs(v, 1)
		}
	}
	if n := len(k.References); n > MaxReferences {
		// Keep the root and the latest ancestors.
		refs := append([]string{k.References[0]}, k.References[n-MaxReferences+1:]...)
		k.References = refs
	}
	return k
}

// Mem is roughly the memory k holds, in bytes.
func (k *SortKeys) Mem() int {
	n := 160 + len(k.Subject) + len(k.From) + len(k.To) + len(k.Cc) + len(k.DisplayFrom) + len(k.DisplayTo) + len(k.MessageID)
	for _, r := range k.References {
		n += 16 + len(r)
	}
	return n
}

func firstMailbox(h Header, name string) string {
	v, ok := h.Get(name)
	if !ok {
		return ""
	}
	for _, a := range ParseAddressList(v) {
		if a.GroupEnd {
			continue
		}
		if a.Mailbox == missingMailbox {
			return ""
		}
		return CaseMap(a.Mailbox)
	}
	return ""
}

func displayName(h Header, name string) string {
	v, ok := h.Get(name)
	if !ok {
		return ""
	}
	for _, a := range ParseAddressList(v) {
		if a.GroupEnd {
			continue
		}
		if n := decodeHeaderValue(a.Name); n != "" {
			return CaseMap(n)
		}
		if a.GroupStart {
			return CaseMap(a.Mailbox)
		}
		box := a.Mailbox
		if box == missingMailbox {
			box = ""
		}
		if a.Host != "" && a.Host != missingDomain {
			return CaseMap(box + "@" + a.Host)
		}
		return CaseMap(box)
	}
	return ""
}

// maxMsgIDScan bounds the number of msg-ids read from one field.
const maxMsgIDScan = 10000

// msgIDs returns the "<...>" tokens of v without brackets (at most max
// when max > 0); comments and ids holding white space are skipped.
func msgIDs(v string, max int) []string {
	var out []string
	seen := 0
	for len(v) > 0 && seen < maxMsgIDScan {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		v = v[i+1:]
		j := strings.IndexByte(v, '>')
		if j < 0 {
			break
		}
		id := v[:j]
		v = v[j+1:]
		seen++
		if id == "" || strings.ContainsAny(id, " \t\r\n<") {
			continue
		}
		out = append(out, id)
		if max > 0 && len(out) >= max {
			break
		}
	}
	return out
}

// ReadHeader reads and parses only the top-level header of the message
// of stored size size (at most limits.MaxHeaderBytes of it), for callers
// that need header fields without the MIME structure (SORT, THREAD).
func ReadHeader(r io.ReaderAt, size int64, limits Limits) (Header, error) {
	lim := limits.withDefaults()
	limit := min(int64(lim.MaxHeaderBytes), size)
	buf := make([]byte, 0, min(limit, 4096))
	line := 0 // start of the first line not yet known complete
	for int64(len(buf)) < limit {
		n := int(min(limit-int64(len(buf)), 4096))
		if cap(buf)-len(buf) < n {
			nb := make([]byte, len(buf), 2*cap(buf)+n)
			copy(nb, buf)
			buf = nb
		}
		got, err := r.ReadAt(buf[len(buf):len(buf)+n], int64(len(buf)))
		buf = buf[:len(buf)+got]
		for {
			j := bytes.IndexByte(buf[line:], '\n')
			if j < 0 {
				break
			}
			l := buf[line : line+j+1]
			if len(l) == 1 || (len(l) == 2 && l[0] == '\r') {
				return parseHeader(buf[:line], lim.MaxHeaderFields), nil
			}
			line += j + 1
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if got == 0 || err == io.EOF {
			break
		}
	}
	return parseHeader(buf, lim.MaxHeaderFields), nil
}
