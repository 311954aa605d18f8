package imap

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// fakeConn feeds a session from a byte slice and discards its output.
type fakeConn struct{ r io.Reader }

func (f *fakeConn) Read(p []byte) (int, error)       { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 143} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzCommand runs arbitrary client input through a whole session
// (logged in, INBOX selected with two messages): the parser and every
// command handler must answer or disconnect, never panic or hang.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.10>)\r\n",
		"a UID SEARCH RETURN (MIN MAX COUNT SAVE) OR SEEN (NOT FLAGGED) UID 1:*\r\n",
		"a STORE 1 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Seen foo)\r\n",
		"a APPEND INBOX (\\Seen) \"01-Jan-2024 10:00:00 +0000\" {5+}\r\nhello\r\n",
		"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"*\" \"%\") RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
		"a SELECT INBOX (QRESYNC (1 1 1:5 (1:2 1:2)))\r\n",
		"a ID (\"name\" \"x\")\r\na ENABLE QRESYNC UTF8=ACCEPT\r\n",
		"a CREATE \"&AOQ-\" (USE (\\Sent))\r\na RENAME x y\r\n",
		"a IDLE\r\nDONE\r\n",
		"a FETCH 1 (BINARY[1]<0.3> BINARY.SIZE[1] BODYSTRUCTURE ENVELOPE)\r\n",
		"a LOGIN {3}\r\nabc {2}\r\nde\r\n",
		"a SEARCH (((((\r\n",
		"a COPY 1:2 Trash\r\na UID MOVE 1 Junk\r\na EXPUNGE\r\n",
		"a APPEND INBOX {5+}\r\nhello (\\Bad {9+}\r\nb NOOP\r\n\r\nc NOOP\r\n",
		"a APPEND INBOX {3+}\r\nabc {5+}\r\nde\r\n",
		"a BLURDY {4+}\r\nx\r\n {2+}\r\nab\r\n",
		"a LIST \"\" ~foo\r\na] SELECT ~foo\r\nb LSUB \"\" ~%\r\nc STATUS ~{ (RECENT)\r\n",
		"a SELECT INBOX\r\nb STORE 1:* +FLAGS (NewKw \\Seen)\r\nc FETCH 1 (MODSEQ FLAGS)\r\nd COPY 1 INBOX\r\ne MOVE 2 INBOX\r\n",
		"a SEARCH RETURN (MIN MAX) MODSEQ 1\r\nb SEARCH NEW OLD RECENT\r\nc LSUB \"\" %\r\n",
		"a SORT (REVERSE DATE SUBJECT DISPLAYFROM) UTF-8 OR ALL 1:*\r\nb UID SORT RETURN (MIN COUNT SAVE) (SIZE) UTF-8 ALL\r\n",
		"a THREAD REFERENCES UTF-8 ALL\r\nb UID THREAD ORDEREDSUBJECT ISO-8859-1 SUBJECT {3}\r\n\xe9tc\r\n",
		"a SEARCH RETURN (PARTIAL -1:-30 COUNT) YOUNGER 5\r\nb UID SORT RETURN (PARTIAL 1:2) (DATE) UTF-8 OLDER 1\r\n",
		"a FETCH 1:* (PREVIEW (LAZY) PREVIEW)\r\nb FETCH 1 (PREVIEW ())\r\n",
		"a SETMETADATA INBOX (/private/a {3}\r\nabc /shared/b NIL)\r\nb GETMETADATA (MAXSIZE 2 DEPTH infinity) \"\" (/private /shared/x)\r\n",
		"a APPEND INBOX CATENATE (TEXT {3+}\r\nabc URL \"/INBOX/;UID=1/;SECTION=1\" URL \";UID=2/;PARTIAL=1.2\") CATENATE (URL \"imap://u@h/INBOX/;UID=1\")\r\n",
		"a COMPRESS DEFLATE\r\n\x02\x08\x00\x00\xff\xffjunk",
		"a SORT (REVERSE) X ALL\r\nb SORT () UTF-8 ALL\r\nc SORT RETURN (ALL) (CC) UTF-8 $\r\n",
		"a NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\nb CREATE x\r\nc NOOP\r\nd IDLE\r\nDONE\r\ne NOTIFY NONE\r\n",
		"a UID SEARCH RETURN (UPDATE COUNT) UNSEEN\r\nb SEARCH RETURN (UPDATE CONTEXT) 1:*\r\nc STORE 1 +FLAGS (\\Seen)\r\nd CANCELUPDATE \"a\" {1}\r\nb\r\n",
		"a GENURLAUTH \"imap://u@h/INBOX/;UID=1;URLAUTH=authuser\" INTERNAL\r\nb URLFETCH \"imap://u@h/INBOX/;UID=1/;PARTIAL=0.3;URLAUTH=user+u:INTERNAL:0123456789abcdef0123456789abcdef\"\r\nc RESETKEY INBOX INTERNAL\r\nd RESETKEY\r\n",
		"a SETACL INBOX bob +lrc\r\nb SETACL INBOX -owner d\r\nc GETACL INBOX\r\nd MYRIGHTS INBOX\r\ne DELETEACL INBOX {3}\r\nbob\r\nf LISTRIGHTS INBOX $g\r\ng SETACL INBOX u \"\"\r\nh SELECT INBOX\r\n",
	} {
		f.Add([]byte(s))
	}
	root := f.TempDir()
	st, err := maildir.Open(filepath.Join(root, "Maildir"), maildir.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	mb, err := st.OpenMailbox(context.Background(), "INBOX", store.OpenOptions{})
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []string{"Subject: a\r\n\r\nbody\r\n", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n"} {
		if _, err := mb.Append(context.Background(), bytes.NewReader([]byte(m)), store.AppendOptions{}); err != nil {
			f.Fatal(err)
		}
	}
	mb.Close()
	srv := &Server{
		Authenticator: &testAuth{users: map[string]string{"u": "p"}, insecureOK: true},
		Backend: store.BackendFunc(func(ctx context.Context, user string) (store.Store, error) {
			return maildir.Open(filepath.Join(root, "Maildir"), maildir.Options{NoSync: true})
		}),
		MaxLineLength:        4096,
		Metadata:             &FileMetadata{Path: func(user string) string { return filepath.Join(root, user+"-metadata.json") }},
		MaxUserIPConnections: -1,
		URLAuth: &FileURLAuthKeys{Locate: func(_ context.Context, user string) (string, error) {
			return filepath.Join(root, user+"-urlauth.json"), nil
		}},
		ACL: &FileACL{Dir: func(_ context.Context, user, mailbox string) (string, error) {
			if mailbox == "INBOX" {
				return filepath.Join(root, "Maildir"), nil
			}
			return "", nil
		}},
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		prefix := "p LOGIN u p\r\np EXAMINE INBOX\r\n"
		c := srv.newConn(&fakeConn{r: io.MultiReader(bytes.NewReader([]byte(prefix)), bytes.NewReader(in))})
		done := make(chan struct{})
		go func() { defer close(done); c.serve() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("session hung on %q", in)
		}
	})
}

// FuzzSequenceSet checks that sequence-set parsing never panics, that
// what it accepts formats back to something it parses the same way, and
// that resolving against a mailbox stays within it.
func FuzzSequenceSet(f *testing.F) {
	for _, s := range []string{"1", "1:*", "*", "$", "1,3:5,7:*", "4294967295", "1:4294967295", "0", "1::2", ",", "2:1"} {
		f.Add(s)
	}
	v := &view{uids: []uint32{2, 5, 9, 10, 4000000000}}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := parseNumSet(s)
		if err != nil {
			return
		}
		again, err := parseNumSet(set.String())
		if err != nil || again.String() != set.String() {
			t.Fatalf("%q: reformatted %q does not parse back (%v)", s, set.String(), err)
		}
		if set.Saved {
			return
		}
		for _, r := range v.uidSetOf(set) {
			if r.Start > r.Stop || r.Start == 0 {
				t.Fatalf("%q: bad UID range %v", s, r)
			}
		}
		uids, err := v.seqToUIDSet(set)
		if err == nil {
			for _, r := range uids {
				if r.Start < v.uids[0] || r.Stop > v.maxUID() {
					t.Fatalf("%q: range %v outside the mailbox", s, r)
				}
			}
		}
	})
}

// FuzzMailboxName checks modified UTF-7 decoding and the round trip.
func FuzzMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "&AOQ-", "&-", "Entw&APw-rfe", "&Jjo", "&AGE-&AGE-", "a&b", "&2D3eAQ-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := DecodeMailboxName(s); err == nil {
			if !utf8.ValidString(dec) {
				t.Fatalf("%q decoded to invalid UTF-8", s)
			}
		}
		if utf8.ValidString(s) {
			enc := EncodeMailboxName(s)
			dec, err := DecodeMailboxName(enc)
			if err != nil && !hasControl(s) {
				t.Fatalf("%q: encoded %q does not decode: %v", s, enc, err)
			}
			if err == nil && dec != s {
				t.Fatalf("%q: round trip gave %q", s, dec)
			}
		}
	})
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
