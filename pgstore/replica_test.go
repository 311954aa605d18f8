package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/replicate"
	"github.com/yubinmail/yubin/store"
)

// uidView is a mailbox as a client sees it: UIDVALIDITY, UIDNEXT and
// each message's UID, GUID and flags.
func uidView(t *testing.T, s store.Store, name string) string {
	t.Helper()
	ctx := context.Background()
	mb, err := s.OpenMailbox(ctx, name, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	st, err := mb.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "V=%d N=%d", st.UIDValidity, st.UIDNext)
	mb.Messages(ctx, nil, func(mi *store.MessageInfo) error {
		fmt.Fprintf(&b, " %d:%s:%v", mi.UID, mi.GUID, mi.Flags)
		return nil
	})
	return b.String()
}

// TestReplicaWithMaildir: package replicate syncs a pgstore user and a
// Maildir both ways keeping UIDs, UIDVALIDITY and GUIDs (store.Replica
// on both sides): after the first sync (different UIDVALIDITYs, mail on
// both sides, a UID gap from an expunge) and after changes on both
// sides, INBOX and Work read the same on both.
func TestReplicaWithMaildir(t *testing.T) {
	ctx := context.Background()
	ps, err := openBackend(t, newDB(t), pgstore.Options{}).Open(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := maildir.Open(t.TempDir(), maildir.Options{NoSync: true, Hostname: "h"})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	add := func(s store.Store, box, body string) {
		t.Helper()
		mb, err := s.OpenMailbox(ctx, box, store.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer mb.Close()
		if _, err := mb.Append(ctx, strings.NewReader(body), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		add(ps, store.Inbox, fmt.Sprintf("Subject: pg%d\r\n\r\npg %d\r\n", i, i))
	}
	mb, _ := ps.OpenMailbox(ctx, store.Inbox, store.OpenOptions{})
	mb.SetFlags(ctx, store.UIDSetOf(1), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
	mb.Expunge(ctx, nil)
	mb.Close()
	add(ms, store.Inbox, "Subject: md\r\n\r\nmaildir\r\n")
	if err := ps.CreateMailbox(ctx, "Work", store.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	add(ps, "Work", "Subject: w\r\n\r\nwork\r\n")
	ea := &replicate.LocalEndpoint{Store: ps, States: &replicate.StateStore{Dir: t.TempDir(), NoSync: true}, Partner: "b", User: "u"}
	eb := &replicate.LocalEndpoint{Store: ms, States: &replicate.StateStore{Dir: t.TempDir(), NoSync: true}, Partner: "a", User: "u"}
	sync := func() {
		t.Helper()
		if _, err := (&replicate.Syncer{}).Sync(ctx, ea, eb); err != nil {
			t.Fatalf("sync: %v", err)
		}
	}
	same := func(when string) {
		t.Helper()
		for _, box := range []string{store.Inbox, "Work"} {
			if a, b := uidView(t, ps, box), uidView(t, ms, box); a != b {
				t.Errorf("%s, %s:\npgstore %s\nmaildir %s", when, box, a, b)
			}
		}
	}
	sync()
	same("after the first sync")
	add(ps, store.Inbox, "Subject: pg-late\r\n\r\nlate\r\n")
	add(ms, "Work", "Subject: md-late\r\n\r\nlate\r\n")
	sync()
	same("after changes on both sides")
	if v := uidView(t, ps, store.Inbox); strings.Count(v, ":") != 2*4 {
		t.Errorf("INBOX should hold 4 messages: %s", v)
	}
}
