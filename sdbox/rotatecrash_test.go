package sdbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/store"
)

// TestRotationStoppedBeforeIndex: every rotation of a mailbox stops once
// its new log is in place, before dovecot.index is written, as a crash
// there stops it: after the first (a new mailbox, which has no index
// yet) and after the second (whose index was left continuing with the
// log that rotation replaces as .log.2), a fresh read of the mailbox
// has every message appended, with its UID, and reports no damage.
func TestRotationStoppedBeforeIndex(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s, err := Open(root, Options{NoSync: true, LogRotateMinSize: 1 << 10, LogRotateMaxSize: 2 << 10, LogRotateMinAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	mb.(*Mailbox).h.rotateStop = errors.New("crash")
	md := filepath.Join(root, "mailboxes", "INBOX", mailDirName)
	logSeq := func() uint32 {
		data, err := os.ReadFile(filepath.Join(md, logName))
		if err != nil {
			t.Fatal(err)
		}
		lh, err := parseLogHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		return lh.FileSeq
	}
	var uids []uint32
	for _, stopAt := range []uint32{2, 3} {
		for logSeq() < stopAt {
			if len(uids) == 200 {
				t.Fatalf("no rotation to log %d after %d appends", stopAt, len(uids))
			}
			r, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: m%d\r\n\r\n%s\r\n", len(uids), strings.Repeat("x", 100))), store.AppendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			uids = append(uids, r.UID)
		}
		l, err := loadState(md)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.damage) > 0 {
			t.Errorf("log %d: damage %v", stopAt, l.damage)
		}
		var got []uint32
		for _, m := range l.st.msgs {
			got = append(got, m.uid)
		}
		if fmt.Sprint(got) != fmt.Sprint(uids) {
			t.Errorf("log %d: UIDs read %v, appended %v", stopAt, got, uids)
		}
	}
}
