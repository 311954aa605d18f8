package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"sync"

	"github.com/yubinmail/yubin/lmtp"
)

// Quarantine into the Junk folder: at the end of DATA a DMARC failure
// whose action is "junk" (dmarc_quarantine_action) gets a marker field
// at the top of the message; the local delivery (LMTP and the queue's
// local transport, with or without Sieve) stores a marked message in the
// dmarc_quarantine_mailbox instead of INBOX, creating it when missing.
// Marker fields that arrive with a message are removed where the checks
// run, so a sender cannot choose the folder (msgauth_inbound_checks off,
// a forged marker only sends the sender's own mail to Junk).

// junkMarker is the marker field's name.
const junkMarker = "X-Yubin-Quarantine"

// junkPeek bounds how much of a message's start is searched for the
// marker: it is added at the top at the end of DATA, and only the
// delivery's own fields (Return-Path, Delivered-To) come before it.
const junkPeek = 16 << 10

// junkMarkerField is the marker for a message of fromDomain.
func junkMarkerField(fromDomain string) string {
	return junkMarker + ": junk (DMARC failure for " + fromDomain + ")\r\n"
}

// hasJunkMarker reports whether the header section at the start of b
// holds the marker field.
func hasJunkMarker(b []byte) bool {
	end := bytes.Index(b, []byte("\n\r\n"))
	if e2 := bytes.Index(b, []byte("\n\n")); e2 >= 0 && (end < 0 || e2 < end) {
		end = e2
	}
	if end >= 0 {
		b = b[:end+1]
	}
	name := []byte(strings.ToLower(junkMarker) + ":")
	for len(b) > 0 {
		if len(b) >= len(name) && bytes.EqualFold(b[:len(name)], name) {
			return true
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		b = b[i+1:]
	}
	return false
}

// peekJunk wraps msg so that its start can be searched for the marker
// without losing it. release recycles the reader once the delivery is
// done with it (one 16 KiB buffer per delivery otherwise).
func peekJunk(msg io.Reader) (br *bufio.Reader, junk bool, release func()) {
	br = junkReaders.Get().(*bufio.Reader)
	br.Reset(msg)
	b, _ := br.Peek(junkPeek)
	return br, hasJunkMarker(b), func() {
		br.Reset(nil)
		junkReaders.Put(br)
	}
}

var junkReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, junkPeek) }}

// stripJunkMarker removes marker fields from a header section.
func stripJunkMarker(hdr []byte) []byte {
	if !startsSomeLine(hdr, junkMarker) { // no copy of hdr for the common case
		return hdr
	}
	var out bytes.Buffer
	for len(hdr) > 0 {
		n := fieldLen(hdr)
		f := hdr[:n]
		name, _, ok := bytes.Cut(f, []byte(":"))
		if !ok || !strings.EqualFold(strings.TrimRight(string(name), " \t"), junkMarker) {
			out.Write(f)
		}
		hdr = hdr[n:]
	}
	return out.Bytes()
}

// fieldLen is the length of the first header field in h with its
// continuation lines (or of the blank line that ends the header).
func fieldLen(h []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(h[i:], '\n')
		if j < 0 {
			return len(h)
		}
		i += j + 1
		if i == len(h) || h[i] != ' ' && h[i] != '\t' || i <= 2 && (h[0] == '\n' || h[0] == '\r') {
			return i
		}
	}
}

// deliverJunk stores a marked message in the quarantine mailbox.
func (d *sieveDeliverer) deliverJunk(ctx context.Context, env *lmtp.Envelope, rcpt, user string, msg io.Reader) error {
	raw, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	return d.store(ctx, env, rcpt, user, d.junkBox(), nil, true, raw)
}

func (d *sieveDeliverer) junkBox() string {
	if d.junk == "" {
		return "Junk"
	}
	return d.junk
}

// startsSomeLine reports whether a line of b starts with prefix, in any
// case (a field named prefix starts a line).
func startsSomeLine(b []byte, prefix string) bool {
	for len(b) > 0 {
		if len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix)) {
			return true
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		b = b[i+1:]
	}
	return false
}
