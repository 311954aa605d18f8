package mbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// mailboxGUIDs returns the GUIDs of a mailbox's messages by UID.
func mailboxGUIDs(t *testing.T, s *Store, name string) map[uint32]string {
	t.Helper()
	c := context.Background()
	mb, err := s.OpenMailbox(c, name, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	out := map[uint32]string{}
	if err := mb.Messages(c, nil, func(mi *store.MessageInfo) error {
		out[mi.UID] = mi.GUID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func appendAll(t *testing.T, s *Store, name string, bodies ...string) []uint32 {
	t.Helper()
	c := context.Background()
	mb, err := s.OpenMailbox(c, name, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	var uids []uint32
	for _, b := range bodies {
		r, err := mb.Append(c, strings.NewReader(b), store.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, r.UID)
	}
	return uids
}

func sameGUIDs(t *testing.T, when string, want, got map[uint32]string) {
	t.Helper()
	for u, g := range want {
		if got[u] != g {
			t.Errorf("%s: UID %d has GUID %q, had %q", when, u, got[u], g)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d messages, want %d", when, len(got), len(want))
	}
}

// appendToFile appends text to a file, as another program would.
func appendToFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

var newGUID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TestGUIDStable: a message's GUID stays as it is across flag changes,
// a rewrite of the file (an expunge, which also gives a header-only
// message its empty line) and a fresh read of the file; messages of one
// mailbox, also of the same bytes, have different GUIDs.
func TestGUIDStable(t *testing.T) {
	home := t.TempDir()
	s := openHomeOpts(t, home, Options{NoSync: true})
	c := context.Background()
	uids := appendAll(t, s, store.Inbox,
		"Subject: a\r\n\r\nA\r\n",
		"no header at all",
		"Header: only\r\n",
		"H: v\n\nno newline at the end",
		"",
		"Subject: a\r\n\r\nA\r\n",
		"Subject: x\n\nFrom y\n\nFrom z  Mon Jan 01 12:00:00 2024\n",
		"Subject: long\r\n\r\n"+strings.Repeat("0123456789abcdef", 1000)+"\r\n",
	)
	s.Close()
	// A message another program wrote last, a header without the empty
	// line (which a rewrite adds).
	appendToFile(t, filepath.Join(home, "inbox"), "From mda@example.org  Mon Jan 01 12:00:00 2024\nSubject: header only\n")
	s = openHomeOpts(t, home, Options{NoSync: true})
	g := mailboxGUIDs(t, s, store.Inbox)
	if len(g) != len(uids)+1 {
		t.Fatalf("%d messages", len(g))
	}
	seen := map[string]uint32{}
	for u, x := range g {
		if !newGUID.MatchString(x) {
			t.Errorf("UID %d: GUID %q", u, x)
		}
		if o, dup := seen[x]; dup {
			t.Errorf("UIDs %d and %d share GUID %s", o, u, x)
		}
		seen[x] = u
	}
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.SetFlags(c, store.UIDSetOf(uids[0], uids[2]), store.FlagsAdd, store.Flags{System: store.Seen, Keywords: []string{"$Work"}}, 0); err != nil {
		t.Fatal(err)
	}
	sameGUIDs(t, "after a flag change", g, mailboxGUIDs(t, s, store.Inbox))
	if _, _, err := mb.SetFlags(c, store.UIDSetOf(uids[1]), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(c, nil); err != nil {
		t.Fatal(err)
	}
	mb.Close()
	delete(g, uids[1])
	sameGUIDs(t, "after a rewrite", g, mailboxGUIDs(t, s, store.Inbox))
	s2 := openHomeOpts(t, home, Options{NoSync: true})
	sameGUIDs(t, "read afresh", g, mailboxGUIDs(t, s2, store.Inbox))
}

// TestGUIDSameUIDValidityDiffers: two mailboxes of one UIDVALIDITY (two
// servers' mailboxes created in the same second) give different
// messages with the same UID different GUIDs; the same bytes under the
// same UIDVALIDITY and UID are the same message, with one GUID.
func TestGUIDSameUIDValidityDiffers(t *testing.T) {
	c := context.Background()
	var gs [2]map[uint32]string
	for i, body := range []string{"from A\r\n", "from B\r\n"} {
		s := openHomeOpts(t, t.TempDir(), Options{NoSync: true})
		// An empty mailbox takes any UIDVALIDITY: both take one.
		if err := s.ReplicaRenumber(c, store.Inbox, 1700000000, 1, nil); err != nil {
			t.Fatal(err)
		}
		if u := appendAll(t, s, store.Inbox, body, "Subject: same\r\n\r\nsame\r\n"); u[0] != 1 || u[1] != 2 {
			t.Fatalf("UIDs %v", u)
		}
		gs[i] = mailboxGUIDs(t, s, store.Inbox)
	}
	if gs[0][1] == gs[1][1] {
		t.Errorf("different messages of UIDVALIDITY 1700000000 and UID 1 share GUID %s", gs[0][1])
	}
	if gs[0][2] != gs[1][2] {
		t.Errorf("the same message under one UIDVALIDITY and UID: GUIDs %s and %s", gs[0][2], gs[1][2])
	}
	if !strings.HasPrefix(gs[0][1], "6553f10000000001") {
		t.Errorf("GUID %s does not start with UIDVALIDITY and UID", gs[0][1])
	}
}

// TestGUIDOfOlderMailboxesKept: the messages of a mailbox from before
// the GUID digest (no yubin-mbox-guids file) keep their GUIDs of
// UIDVALIDITY and UID, also after a restart; messages added later, by
// yubin or by a delivery agent appending to the file, get digests.
func TestGUIDOfOlderMailboxesKept(t *testing.T) {
	home := t.TempDir()
	s := openHomeOpts(t, home, Options{NoSync: true})
	appendAll(t, s, store.Inbox, "Subject: 1\r\n\r\none\r\n", "Subject: 2\r\n\r\ntwo\r\n")
	st, err := s.Status(context.Background(), store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// As an older yubin left it.
	scheme := filepath.Join(home, "mail", ".imap", "INBOX", guidSchemeFile)
	if err := os.Remove(scheme); err != nil {
		t.Fatal(err)
	}

	s = openHomeOpts(t, home, Options{NoSync: true})
	g := mailboxGUIDs(t, s, store.Inbox)
	for _, u := range []uint32{1, 2} {
		if want := fmt.Sprintf("%08x%08x", st.UIDValidity, u); g[u] != want {
			t.Errorf("UID %d: GUID %q, want %q as before", u, g[u], want)
		}
	}
	if data, _ := os.ReadFile(scheme); string(data) != fmt.Sprintf("V1 %d 3\n", st.UIDValidity) {
		t.Errorf("%s: %q", guidSchemeFile, data)
	}
	appendAll(t, s, store.Inbox, "Subject: 3\r\n\r\nthree\r\n")
	s.Close()
	// A delivery agent appends a message without X-UID.
	appendToFile(t, filepath.Join(home, "inbox"), "From mda@example.org  Mon Jan 01 12:00:00 2024\nSubject: 4\n\nfour\n\n")

	s = openHomeOpts(t, home, Options{NoSync: true})
	g2 := mailboxGUIDs(t, s, store.Inbox)
	for u := uint32(1); u <= 4; u++ {
		switch {
		case u <= 2 && g2[u] != g[u]:
			t.Errorf("UID %d: GUID %q after a restart, was %q", u, g2[u], g[u])
		case u > 2 && !newGUID.MatchString(g2[u]):
			t.Errorf("UID %d, new: GUID %q", u, g2[u])
		}
	}
	s3 := openHomeOpts(t, home, Options{NoSync: true})
	sameGUIDs(t, "read again", g2, mailboxGUIDs(t, s3, store.Inbox))
}

// TestDovecotChangesKeepGUIDs: Dovecot flags, expunges (rewriting the
// file) and saves in a mailbox yubin wrote; the GUIDs yubin gives the
// messages it wrote stay as they were, in the open store and in a fresh
// one, and Dovecot's message gets a GUID that stays too.
func TestDovecotChangesKeepGUIDs(t *testing.T) {
	d, home, s, mb := dovecotInbox(t)
	c := context.Background()
	for _, b := range []string{"Subject: y1\n\nyubin 1\n", "Subject: y2\n\nyubin 2\n", "Header: only\n", "Subject: y4\n\nno newline", "Subject: y5\r\n\r\ncrlf\r\n"} {
		if _, err := mb.Append(c, strings.NewReader(b), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	g := mailboxGUIDs(t, s, store.Inbox)
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Seen $Important`, "mailbox", "INBOX", "uid", "1,3,4")
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Deleted`, "mailbox", "INBOX", "uid", "2")
	d.Doveadm(t, nil, "expunge", "-u", "alice", "mailbox", "INBOX", "uid", "2")
	d.Doveadm(t, []byte("From: d@example.org\nSubject: from dovecot\n\ndovecot body\n"), "save", "-u", "alice")
	if _, err := mb.Poll(c); err != nil {
		t.Fatal(err)
	}
	delete(g, 2)
	got := mailboxGUIDs(t, s, store.Inbox)
	if !newGUID.MatchString(got[6]) {
		t.Errorf("Dovecot's message: GUID %q", got[6])
	}
	g[6] = got[6]
	sameGUIDs(t, "after Dovecot's changes", g, got)
	s2 := openHome(t, home)
	sameGUIDs(t, "read afresh", g, mailboxGUIDs(t, s2, store.Inbox))
}

// BenchmarkParseDigest: reading a 64 MiB mbox file (parseFile, which
// digests each message for its GUID) and the digests alone, per message,
// for messages of 2 KiB and 8 KiB: what the digest adds to a full read.
func BenchmarkParseDigest(b *testing.B) {
	for _, msgSize := range []int64{2 << 10, 8 << 10} {
		path := filepath.Join(b.TempDir(), "inbox")
		n := writeBigMbox(b, path, 64<<20, msgSize, 0)
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		res, err := parseFile(f, fi.Size())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dKiB/parse", msgSize>>10), func(b *testing.B) {
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := parseFile(f, fi.Size()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/msg")
		})
		b.Run(fmt.Sprintf("%dKiB/digest", msgSize>>10), func(b *testing.B) {
			buf := make([]byte, digestBuf)
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				for _, m := range res.msgs {
					if _, err := contentDigest(f, m, buf); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/msg")
		})
	}
}

// TestGUIDSchemeFirstWriterWins: two processes reading an older mailbox
// for the first time at once (one appending in between) agree on where
// its GUIDs of UIDVALIDITY and UID end: the first record stays.
func TestGUIDSchemeFirstWriterWins(t *testing.T) {
	s := openHomeOpts(t, t.TempDir(), Options{NoSync: true})
	for i, below := range []uint32{5, 7} {
		got, err := s.createGUIDScheme("X", legacyGUIDs{100, below})
		if err != nil {
			t.Fatal(err)
		}
		if got != (legacyGUIDs{100, 5}) {
			t.Errorf("record %d: %+v, want the first", i, got)
		}
	}
}
