package sdbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	fetch, status := d.ReplicaReaders(t, d.Home("alice"), "uid guid flags")
	storetest.RunReplicaRead(t, func(t *testing.T) store.Store {
		s, err := Open(root, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, fetch, status, true)
}
