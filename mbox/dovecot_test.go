package mbox

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// dmsg is one message as doveadm fetch (or yubin) reports it.
type dmsg struct {
	Mailbox string
	UID     uint32
	Flags   string // sorted, lower-case, \Recent dropped
	Body    string // LF line endings
}

// mboxDovecot starts a private Dovecot on mbox:~/mail:INBOX=~/inbox and
// returns it with alice's home.
func mboxDovecot(t *testing.T) (*testutil.Dovecot, string) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{MailLocation: "mbox:~/mail:INBOX=~/inbox"})
	home := d.Home("alice")
	if err := os.MkdirAll(filepath.Join(home, "mail"), 0o700); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	return d, home
}

func openHome(t *testing.T, home string) *Store {
	t.Helper()
	return openHomeOpts(t, home, Options{})
}

func openHomeOpts(t *testing.T, home string, opts Options) *Store {
	t.Helper()
	opts.Inbox = filepath.Join(home, "inbox")
	s, err := Open(filepath.Join(home, "mail"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func normFlags(names []string) string {
	var out []string
	for _, n := range names {
		if n == "" || strings.EqualFold(n, `\Recent`) {
			continue
		}
		out = append(out, strings.ToLower(n))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func doveadmMessages(t *testing.T, d *testutil.Dovecot) map[string]dmsg {
	t.Helper()
	out := d.Doveadm(t, nil, "-f", "pager", "fetch", "-u", "alice", "mailbox uid flags text", "all")
	msgs := map[string]dmsg{}
	for _, rec := range strings.Split(out, "\f\n") {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		var m dmsg
		head, text, _ := strings.Cut(rec, "text:\n")
		for _, line := range strings.Split(head, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "mailbox":
				m.Mailbox = v
			case "uid":
				fmt.Sscan(v, &m.UID)
			case "flags":
				m.Flags = normFlags(strings.Fields(v))
			}
		}
		m.Body = strings.ReplaceAll(text, "\r\n", "\n")
		msgs[fmt.Sprintf("%s/%d", m.Mailbox, m.UID)] = m
	}
	return msgs
}

func yubinMessages(t *testing.T, s *Store) map[string]dmsg {
	t.Helper()
	c := context.Background()
	list, err := s.ListMailboxes(c)
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]dmsg{}
	for _, mi := range list {
		if mi.NoSelect {
			continue
		}
		mb, err := s.OpenMailbox(c, mi.Name, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		err = mb.Messages(c, nil, func(info *store.MessageInfo) error {
			names := append(info.Flags.System.Names(), info.Flags.Keywords...)
			r, err := mb.Open(c, info.UID)
			if err != nil {
				return err
			}
			defer r.Close()
			b := make([]byte, r.Size())
			if _, err := r.ReadAt(b, 0); err != nil {
				return err
			}
			msgs[fmt.Sprintf("%s/%d", mi.Name, info.UID)] = dmsg{Mailbox: mi.Name, UID: info.UID, Flags: normFlags(names), Body: strings.ReplaceAll(string(b), "\r\n", "\n")}
			return nil
		})
		mb.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

func compareMessages(t *testing.T, want, got map[string]dmsg) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("dovecot sees %d messages, yubin %d", len(want), len(got))
	}
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing from yubin", k)
		} else if w != g {
			t.Errorf("%s:\n dovecot %+v\n yubin   %+v", k, w, g)
		} else {
			continue
		}
		if bad++; bad > 10 {
			t.Fatal("too many differences")
		}
	}
}

func dovecotStatus(t *testing.T, d *testutil.Dovecot, mailbox string) (uv, next uint32) {
	out := d.Doveadm(t, nil, "-f", "flow", "mailbox", "status", "-u", "alice", "uidvalidity uidnext", mailbox)
	for _, f := range strings.Fields(out) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "uidvalidity":
			fmt.Sscan(v, &uv)
		case "uidnext":
			fmt.Sscan(v, &next)
		}
	}
	return uv, next
}

// TestDovecotReadsGoldenMbox: the mbox Dovecot 2.3 wrote (testdata) reads
// in yubin as Dovecot reports it, and yubin's reading changes no byte.
func TestDovecotReadsGoldenMbox(t *testing.T) {
	d, home := mboxDovecot(t)
	// Dovecot 2.3.19's file from FORMATS.md 3.
	golden, err := os.ReadFile("testdata/dovecot/inbox.mbox")
	if err != nil {
		t.Fatal(err)
	}
	inbox := filepath.Join(home, "inbox")
	if err := os.WriteFile(inbox, golden, 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	s := openHome(t, home)
	got := yubinMessages(t, s)
	if after, _ := os.ReadFile(inbox); string(after) != string(golden) {
		t.Fatal("yubin changed the file by reading it")
	}
	st, err := s.Status(context.Background(), store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	want := doveadmMessages(t, d)
	compareMessages(t, want, got)
	if len(got) != 3 || got["INBOX/2"].Flags != `\answered \deleted \draft \flagged` || got["INBOX/1"].Flags != `$important \seen` {
		t.Errorf("yubin read %+v", got)
	}
	if uv, next := dovecotStatus(t, d, "INBOX"); uv != st.UIDValidity || next != st.UIDNext {
		t.Errorf("dovecot uidvalidity=%d uidnext=%d, yubin %+v", uv, next, st)
	}
}

// TestDovecotReadsYubinMbox: mailboxes yubin wrote (two folders, flags,
// keywords, an expunge, 1,000 messages) are fetched by doveadm with the
// same UIDs, flags, keywords and bytes, and the same UIDVALIDITY and
// UIDNEXT.
func TestDovecotReadsYubinMbox(t *testing.T) {
	d, home := mboxDovecot(t)
	// 1,000 appends: fsync is not what this test is about.
	s := openHomeOpts(t, home, Options{NoSync: true})
	c := context.Background()
	if err := s.CreateMailbox(c, "Archive/2024", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Subscribe(c, "Archive/2024"); err != nil {
		t.Fatal(err)
	}
	inbox, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	kws := []string{"$Important", "NonJunk", "$label1", "Junk"}
	for i := 0; i < 1000; i++ {
		var f store.Flags
		f.System = store.SystemFlags(rng.Intn(32))
		for _, k := range kws {
			if rng.Intn(4) == 0 {
				f.Keywords = append(f.Keywords, k)
			}
		}
		body := fmt.Sprintf("From: a%d@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\nFrom the start of a line\r\n>From quoted\r\n", i, i, i)
		if i%7 == 0 {
			body = fmt.Sprintf("Subject: lf %d\n\nbare LF body\n\nFrom here\n", i)
		}
		if _, err := inbox.Append(c, strings.NewReader(body), store.AppendOptions{Flags: f}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inbox.Expunge(c, store.UIDSetOf(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := inbox.SetFlags(c, store.UIDSetOf(500), store.FlagsReplace, store.Flags{System: store.Flagged, Keywords: []string{"$Important"}}, 0); err != nil {
		t.Fatal(err)
	}
	arch, err := s.OpenMailbox(c, "Archive/2024", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arch.Append(c, strings.NewReader("Subject: archived\r\n\r\nold\r\n"), store.AppendOptions{Flags: store.Flags{System: store.Seen}}); err != nil {
		t.Fatal(err)
	}
	inbox.Close()
	arch.Close()
	want := yubinMessages(t, s)
	st, _ := s.Status(c, store.Inbox)
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)

	got := doveadmMessages(t, d)
	compareMessages(t, want, got)
	if uv, next := dovecotStatus(t, d, "INBOX"); uv != st.UIDValidity || next != st.UIDNext {
		t.Errorf("dovecot uidvalidity=%d uidnext=%d, yubin %+v", uv, next, st)
	}
	if subs := d.Doveadm(t, nil, "mailbox", "list", "-u", "alice", "-s"); strings.TrimSpace(subs) != "Archive/2024" {
		t.Errorf("dovecot subscriptions %q", subs)
	}
	list := strings.Fields(d.Doveadm(t, nil, "mailbox", "list", "-u", "alice"))
	sort.Strings(list)
	if strings.Join(list, " ") != "Archive Archive/2024 INBOX" {
		t.Errorf("dovecot lists %v", list)
	}
}

// TestDovecotChangesSeenByYubin: Dovecot saves, flags and expunges in a
// mailbox yubin has open; yubin's Poll reports it and both agree. Then
// yubin changes it and Dovecot, which has its index, sees that too.
func TestDovecotChangesSeenByYubin(t *testing.T) {
	d, home, s, mb := dovecotInbox(t)
	c := context.Background()
	for i := 1; i <= 4; i++ {
		if _, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: y%d\n\nyubin %d\n", i, i)), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	compareMessages(t, yubinMessages(t, s), doveadmMessages(t, d))

	d.Doveadm(t, []byte("From: d@example.org\nSubject: from dovecot\n\ndovecot body\n"), "save", "-u", "alice")
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Seen $Important`, "mailbox", "INBOX", "uid", "2")
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Deleted`, "mailbox", "INBOX", "uid", "3")
	d.Doveadm(t, nil, "expunge", "-u", "alice", "mailbox", "INBOX", "uid", "3")
	changes, err := mb.Poll(c)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ch := range changes {
		kinds = append(kinds, fmt.Sprintf("%d:%d", ch.Kind, ch.UID))
	}
	want := fmt.Sprintf("%d:3 %d:2 %d:5", store.ChangeExpunge, store.ChangeFlags, store.ChangeNew)
	if strings.Join(kinds, " ") != want {
		t.Errorf("poll after Dovecot's changes: %v, want %v", kinds, want)
	}
	compareMessages(t, doveadmMessages(t, d), yubinMessages(t, s))

	// yubin changes; Dovecot (with its index from before) follows.
	if _, err := mb.Append(c, strings.NewReader("Subject: y6\n\nafter dovecot\n"), store.AppendOptions{Flags: store.Flags{Keywords: []string{"NonJunk"}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.SetFlags(c, store.UIDSetOf(5), store.FlagsAdd, store.Flags{System: store.Answered | store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.SetFlags(c, store.UIDSetOf(1), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.Expunge(c, store.UIDSetOf(1)); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	got := doveadmMessages(t, d)
	compareMessages(t, yubinMessages(t, s), got)
	if _, ok := got["INBOX/6"]; !ok {
		t.Errorf("Dovecot does not see UID 6: %v", got)
	}
}
