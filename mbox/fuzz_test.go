package mbox

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/yubinmail/yubin/store"
)

func splitSeeds(f *testing.F) {
	if golden, err := os.ReadFile("testdata/dovecot/inbox.mbox"); err == nil {
		f.Add(golden)
	}
	for _, s := range []string{
		"",
		from1 + "Subject: a\n\nbody\n\n" + from2 + "Subject: b\n\nno newline",
		from1 + "Subject: a\nContent-Length: 3\n\nabc\n\n" + from2 + "X-UID: 9\nStatus: RO\nX-Status: AF\nX-Keywords: a b\n\nx\n",
		"junk\n\n" + from1 + "X-IMAP: 1 0000000005 kw\n\npseudo\n\n" + from1 + "Subject: x\r\n\r\nFrom y\r\n",
		from1 + "Subject: a\n continued\nContent-Length: 99999999999999999999\n\n",
		from1 + "X-IMAPbase: 123 0000000010 $a\nX-UID: 3\n\n\n\nFrom \n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzSplit: the splitter never panics, reports messages in file order
// with consistent ranges inside the file, and a message's reconstructed
// bytes never exceed the file.
func FuzzSplit(f *testing.F) {
	splitSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := parseFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		size := int64(len(data))
		prev := res.prefixEnd
		if prev < 0 || prev > size {
			t.Fatalf("prefixEnd %d of %d", prev, size)
		}
		if len(res.metas) != len(res.msgs) {
			t.Fatalf("%d metas for %d messages", len(res.metas), len(res.msgs))
		}
		for i, m := range res.msgs {
			if !(prev <= m.fromOff && m.fromOff < m.hdrOff && m.hdrOff <= m.sepOff && m.sepOff <= m.bodyOff && m.bodyOff <= m.bodyEnd && m.bodyEnd <= size) {
				t.Fatalf("message %d ranges %+v (prev %d, size %d)", i, m, prev, size)
			}
			if !bytes.HasPrefix(data[m.fromOff:], []byte("From ")) {
				t.Fatalf("message %d does not start at a From_ line", i)
			}
			var total int64
			for _, s := range m.segments() {
				if s.off < m.hdrOff || s.off+s.n > m.bodyEnd || s.n < 0 {
					t.Fatalf("segment %+v outside message %+v", s, m)
				}
				total += s.n
			}
			var b bytes.Buffer
			for _, s := range m.segments() {
				b.Write(data[s.off : s.off+s.n])
			}
			if crlf, _ := store.CRLFSize(bytes.NewReader(b.Bytes())); crlf != m.vsize() {
				t.Fatalf("message %d vsize %d, bytes have %d", i, m.vsize(), crlf)
			}
			prev = m.bodyEnd
			for _, h := range m.hiddenRuns() {
				if h.off < m.hdrOff || h.off+h.n > m.sepOff {
					t.Fatalf("hidden range %+v outside the header of %+v", h, m)
				}
			}
		}
	})
}

// FuzzAppendRoundTrip: any message appended reads back byte for byte
// (unless its header holds the fields Dovecot keeps for itself, which
// are dropped on save as Dovecot drops them), also after a rewrite,
// and keeps its GUID across the rewrite and a fresh read of the file.
func FuzzAppendRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a\r\n", "Subject: x\r\n\r\nbody", "\n\nleading blank", "no header at all", "Subject: x\n\nFrom y\n\nFrom z  Mon Jan 01 12:00:00 2024\n", "H: v\r\n\r\n\r\n", "From x\n\n"} {
		f.Add([]byte(s))
	}
	c := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		hdr, _, _ := bytes.Cut(data, []byte("\n\n"))
		for _, name := range []string{"x-uid", "status", "x-status", "x-keywords", "content-length", "x-imap"} {
			if bytes.Contains(bytes.ToLower(hdr), []byte(name)) {
				t.Skip("header holds a field Dovecot keeps")
			}
		}
		// A store of its own: each rewrite keeps the replaced file open
		// for a minute (salvage.go), which Close ends.
		dir := t.TempDir()
		s, err := Open(filepath.Join(dir, "mail"), Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close()
		res, err := mb.Append(c, bytes.NewReader(data), store.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		guidOf := func(mb store.Mailbox) string {
			var g string
			if err := mb.Messages(c, store.UIDSetOf(res.UID), func(mi *store.MessageInfo) error {
				g = mi.GUID
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			return g
		}
		guid := guidOf(mb)
		check := func(when string) {
			if g := guidOf(mb); g != guid {
				t.Fatalf("%s: GUID %q, was %q", when, g, guid)
			}
			r, err := mb.Open(c, res.UID)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if !bytes.Equal(got, data) {
				t.Fatalf("%s: appended %q, read %q", when, data, got)
			}
		}
		check("after append")
		if _, _, err := mb.SetFlags(c, store.UIDSetOf(res.UID), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
			t.Fatal(err)
		}
		check("after rewrite")
		// A fresh reader of the file agrees.
		s2, err := Open(filepath.Join(dir, "mail"), Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		mb2, err := s2.OpenMailbox(c, store.Inbox, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		r, err := mb2.Open(c, res.UID)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if g := guidOf(mb2); g != guid {
			t.Fatalf("reopened: GUID %q, was %q", g, guid)
		}
		mb2.Close()
		s2.Close()
		if !bytes.Equal(got, data) {
			t.Fatalf("reopened: appended %q, read %q", data, got)
		}
		if _, err := mb.Expunge(c, nil); err != nil {
			t.Fatal(err)
		}
	})
}
