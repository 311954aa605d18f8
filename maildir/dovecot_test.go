package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// dovecotMsg is one message as doveadm fetch reports it.
type dovecotMsg struct {
	Mailbox string // yubin's name ("/" separator)
	UID     uint32
	Flags   string // sorted, lower-case, \Recent dropped
	GUID    string
	Body    string // LF line endings
}

// dovecotHome makes alice's home and an empty Maildir owned by the plain
// user Dovecot runs as.
func dovecotHome(t *testing.T, d *testutil.Dovecot) string {
	home := d.Home("alice")
	if err := os.MkdirAll(filepath.Join(home, "Maildir"), 0o700); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, home, testutil.PlainUID, testutil.PlainGID)
	return filepath.Join(home, "Maildir")
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

// doveadmMessages fetches every message of every mailbox with doveadm.
func doveadmMessages(t *testing.T, d *testutil.Dovecot) map[string]dovecotMsg {
	out := d.Doveadm(t, nil, "-f", "pager", "fetch", "-u", "alice", "mailbox uid flags guid text", "all")
	msgs := map[string]dovecotMsg{}
	for _, rec := range strings.Split(out, "\f\n") {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		var m dovecotMsg
		head, text, _ := strings.Cut(rec, "text:\n")
		for _, line := range strings.Split(head, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "mailbox":
				m.Mailbox = strings.ReplaceAll(v, ".", "/")
			case "uid":
				fmt.Sscan(v, &m.UID)
			case "flags":
				m.Flags = normFlags(strings.Fields(v))
			case "guid":
				m.GUID = v
			}
		}
		m.Body = strings.ReplaceAll(text, "\r\n", "\n")
		msgs[fmt.Sprintf("%s/%d", m.Mailbox, m.UID)] = m
	}
	return msgs
}

// yubinMessages lists every message of every mailbox through yubin.
func yubinMessages(t *testing.T, s *Store) map[string]dovecotMsg {
	c := context.Background()
	list, err := s.ListMailboxes(c)
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]dovecotMsg{}
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
			msgs[fmt.Sprintf("%s/%d", mi.Name, info.UID)] = dovecotMsg{Mailbox: mi.Name, UID: info.UID, Flags: normFlags(names), GUID: info.GUID, Body: strings.ReplaceAll(string(b), "\r\n", "\n")}
			return nil
		})
		mb.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

func compareMessages(t *testing.T, want, got map[string]dovecotMsg) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("dovecot sees %d messages, yubin %d", len(want), len(got))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		if w != g {
			t.Errorf("%s:\n dovecot %+v\n yubin   %+v", k, w, g)
		}
	}
}

// TestDovecotReadsYubinMaildir: a Maildir written by yubin is read by
// doveadm fetch with the same UIDs, flags, keywords, GUIDs and bodies.
func TestDovecotReadsYubinMaildir(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{})
	root := dovecotHome(t, d)
	c := context.Background()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
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
	bodies := []struct {
		body  string
		flags store.Flags
	}{
		{"From: a@example.org\r\nSubject: one\r\n\r\nfirst\r\n", store.Flags{System: store.Seen, Keywords: []string{"$Important"}}},
		{"From: a@example.org\nSubject: two\n\nsecond, 8-bit \xe9\n", store.Flags{System: store.Flagged | store.Answered, Keywords: []string{"NonJunk", "$label1"}}},
		{"Subject: gone\r\n\r\nexpunged\r\n", store.Flags{System: store.Deleted}},
		{"Subject: three\r\n\r\nplain\r\n", store.Flags{}},
	}
	for _, b := range bodies {
		if _, err := inbox.Append(c, strings.NewReader(b.body), store.AppendOptions{Flags: b.flags}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inbox.Expunge(c, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := inbox.SetFlags(c, store.UIDSetOf(4), store.FlagsAdd, store.Flags{System: store.Draft, Keywords: []string{"$Important"}}, 0); err != nil {
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
	s.Close()

	got := doveadmMessages(t, d)
	compareMessages(t, want, got)
	if _, ok := got["INBOX/3"]; ok {
		t.Error("expunged UID 3 seen by Dovecot")
	}
	status := d.Doveadm(t, nil, "mailbox", "status", "-u", "alice", "uidvalidity uidnext", "INBOX")
	if !strings.Contains(status, fmt.Sprintf("uidvalidity=%d", st.UIDValidity)) || !strings.Contains(status, fmt.Sprintf("uidnext=%d", st.UIDNext)) {
		t.Errorf("dovecot status %q, yubin %+v", status, st)
	}
	if subs := d.Doveadm(t, nil, "mailbox", "list", "-u", "alice", "-s"); !strings.Contains(subs, "Archive.2024") {
		t.Errorf("dovecot subscriptions %q", subs)
	}
}

// TestDovecotWrittenMaildirReadByYubin: what doveadm save, flags add,
// keywords, a subfolder, an expunge and a subscription leave behind is
// what yubin reads.
func TestDovecotWrittenMaildirReadByYubin(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{})
	root := dovecotHome(t, d)
	for i := 1; i <= 4; i++ {
		d.Doveadm(t, []byte(fmt.Sprintf("From: a@example.org\nSubject: m%d\n\nbody %d\n", i, i)), "save", "-u", "alice")
	}
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Seen $Important`, "mailbox", "INBOX", "uid", "1")
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Flagged \Answered NonJunk`, "mailbox", "INBOX", "uid", "2")
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Deleted`, "mailbox", "INBOX", "uid", "3")
	d.Doveadm(t, nil, "expunge", "-u", "alice", "mailbox", "INBOX", "uid", "3")
	d.Doveadm(t, nil, "mailbox", "create", "-u", "alice", "Archive.2024")
	d.Doveadm(t, nil, "mailbox", "subscribe", "-u", "alice", "Archive.2024")
	d.Doveadm(t, []byte("Subject: sub\n\nin a folder\n"), "save", "-u", "alice", "-m", "Archive.2024")
	d.Doveadm(t, nil, "flags", "add", "-u", "alice", `\Draft $label1`, "mailbox", "Archive.2024", "all")
	want := doveadmMessages(t, d)

	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := yubinMessages(t, s)
	compareMessages(t, want, got)
	st, err := s.Status(context.Background(), store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	status := d.Doveadm(t, nil, "mailbox", "status", "-u", "alice", "uidvalidity", "INBOX")
	if !strings.Contains(status, fmt.Sprintf("uidvalidity=%d", st.UIDValidity)) {
		t.Errorf("dovecot %q, yubin %+v", status, st)
	}
	subs, _ := s.Subscriptions(context.Background())
	if !strings.Contains(strings.Join(subs, ","), "Archive/2024") {
		t.Errorf("subscriptions %v", subs)
	}
}

// TestDovecotConcurrentAppend: yubin and Dovecot deliver into one INBOX
// at the same time; no UID is given twice and both agree on every UID.
func TestDovecotConcurrentAppend(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{})
	root := dovecotHome(t, d)
	d.Doveadm(t, []byte("Subject: first\n\nx\n"), "save", "-u", "alice")
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := context.Background()
	const yubinN, dovecotN = 40, 20
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
			if err != nil {
				errs <- err
				return
			}
			defer mb.Close()
			for i := 0; i < yubinN/2; i++ {
				if _, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: yubin %d-%d\n\nbody\n", w, i)), store.AppendOptions{}); err != nil {
					errs <- err
					return
				}
				if i%5 == 0 {
					mb.Poll(c)
				}
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < dovecotN; i++ {
			if out, err := d.DoveadmErr([]byte(fmt.Sprintf("Subject: dovecot %d\n\nbody\n", i)), "save", "-u", "alice"); err != nil {
				errs <- fmt.Errorf("doveadm save: %v: %s", err, out)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := yubinMessages(t, s)
	want := doveadmMessages(t, d)
	if len(want) != 1+yubinN+dovecotN {
		t.Fatalf("dovecot sees %d messages, want %d", len(want), 1+yubinN+dovecotN)
	}
	guids := map[string]string{}
	for k, m := range want {
		if prev, dup := guids[m.GUID]; dup {
			t.Fatalf("message %s has two UIDs: %s and %s", m.GUID, prev, k)
		}
		guids[m.GUID] = k
	}
	compareMessages(t, want, got)
}
