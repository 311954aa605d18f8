package sdbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
	"github.com/yubinmail/yubin/store/storetest"
)

// TestReplicaRenumberLeavesNothing: the renumbered mailbox is built in
// a hidden directory beside dbox-Mails and swapped in; nothing of it is
// left, and no extra mailbox is listed.
func TestReplicaRenumberLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader("x\r\n"), store.ReplicaAppendOptions{UID: 3, GUID: "g"}); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Status(ctx, "INBOX")
	if err := s.ReplicaRenumber(ctx, "INBOX", st.UIDValidity+1, 1, map[string]uint32{"g": 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "mailboxes", "INBOX", renumDir)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", renumDir, err)
	}
	if l, _ := s.ListMailboxes(ctx); len(l) != 1 {
		t.Errorf("mailboxes after renumbering: %+v", l)
	}
}

// TestDovecotReadsSdboxReplicaChanges: what ReplicaAppend,
// ReplicaSetUIDNext and ReplicaRenumber write, Dovecot reads with the
// same UIDs, GUIDs, flags, UIDNEXT and UIDVALIDITY, without resyncing.
func TestDovecotReadsSdboxReplicaChanges(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	ctx := context.Background()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.ReplicaSample(t, s)
	s.Close()
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	out := strings.ReplaceAll(doveadm(t, d, "-f", "flow", "fetch", "-u", "alice", "uid guid flags", "mailbox", "INBOX"), ` \Recent`, "")
	for _, want := range []string{"uid=3 guid=1700000000.M3P1Q1.partner flags=\\Seen $Work", "uid=9 guid=1700000000.M9P1Q1.partner flags=\\Seen $Work"} {
		if !strings.Contains(out, want) {
			t.Errorf("doveadm fetch lacks %q:\n%s", want, out)
		}
	}
	status := doveadm(t, d, "-f", "flow", "mailbox", "status", "-u", "alice", "uidnext uidvalidity", "INBOX")
	if !strings.Contains(status, "uidnext=40") {
		t.Errorf("doveadm mailbox status: %s", status)
	}

	s, err = Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplicaRenumber(ctx, "INBOX", st.UIDValidity+5, 50, map[string]uint32{"1700000000.M3P1Q1.partner": 60}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	out = strings.ReplaceAll(doveadm(t, d, "-f", "flow", "fetch", "-u", "alice", "uid guid flags", "mailbox", "INBOX"), ` \Recent`, "")
	for _, want := range []string{"uid=60 guid=1700000000.M3P1Q1.partner flags=\\Seen $Work", "uid=61 guid=1700000000.M9P1Q1.partner flags=\\Seen $Work"} {
		if !strings.Contains(out, want) {
			t.Errorf("after renumbering, doveadm fetch lacks %q:\n%s", want, out)
		}
	}
	status = doveadm(t, d, "-f", "flow", "mailbox", "status", "-u", "alice", "uidnext uidvalidity", "INBOX")
	if !strings.Contains(status, "uidvalidity="+itoa(st.UIDValidity+5)) || !strings.Contains(status, "uidnext=62") {
		t.Errorf("doveadm mailbox status after renumbering: %s (want uidvalidity %d, uidnext 62)", status, st.UIDValidity+5)
	}
}

func itoa(n uint32) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
