package sdbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// stoppedRotations appends to mb, whose every log rotation stops once
// its new log is in place, before dovecot.index is written (as a crash
// there stops it), until the log in place is the one numbered seq; it
// returns the UIDs appended (after those in uids).
func stoppedRotations(t *testing.T, mb store.Mailbox, seq uint32, uids []uint32) []uint32 {
	t.Helper()
	h := mb.(*Mailbox).h
	h.rotateStop = errors.New("crash")
	for {
		data, err := os.ReadFile(filepath.Join(h.dir, logName))
		if err != nil {
			t.Fatal(err)
		}
		lh, err := parseLogHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		if lh.FileSeq >= seq {
			return uids
		}
		if len(uids) == 200 {
			t.Fatalf("no rotation to log %d after %d appends", seq, len(uids))
		}
		r, err := mb.Append(context.Background(), strings.NewReader(fmt.Sprintf("Subject: m%d\r\n\r\n%s\r\n", len(uids), strings.Repeat("x", 100))), store.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, r.UID)
	}
}

// rotateOftenSync rotates the log every 1 to 2 KiB, with every fsync.
var rotateOftenSync = Options{LogRotateMinSize: 1 << 10, LogRotateMaxSize: 2 << 10, LogRotateMinAge: -1}

// openRotating opens root's INBOX in a Store with opts (both closed when
// the test ends).
func openRotating(t *testing.T, root string, opts Options) (*Store, store.Mailbox) {
	t.Helper()
	s, err := Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	mb, err := s.OpenMailbox(context.Background(), store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mb.Close() })
	return s, mb
}

// TestRotationStoppedBeforeIndex: every rotation of a mailbox stops once
// its new log is in place, before dovecot.index is written: after the
// first (a new mailbox, which has no index yet) and after the second
// (whose index was left continuing with the log that rotation replaces
// as .log.2), a fresh read of the mailbox has every message appended,
// with its UID, and reports no damage.
func TestRotationStoppedBeforeIndex(t *testing.T) {
	t.Parallel()
	opts := rotateOftenSync
	opts.NoSync = true
	_, mb := openRotating(t, t.TempDir(), opts)
	var uids []uint32
	for _, seq := range []uint32{2, 3} {
		uids = stoppedRotations(t, mb, seq, uids)
		l, err := loadState(mb.(*Mailbox).h.dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.damage) > 0 {
			t.Errorf("log %d: damage %v", seq, l.damage)
		}
		var got []uint32
		for _, m := range l.st.msgs {
			got = append(got, m.uid)
		}
		if fmt.Sprint(got) != fmt.Sprint(uids) {
			t.Errorf("log %d: UIDs read %v, appended %v", seq, got, uids)
		}
	}
}

// TestDovecotReadsAfterStoppedRotations: a mailbox whose two rotations
// stopped before writing dovecot.index (as in
// TestRotationStoppedBeforeIndex) is read by Dovecot without complaint,
// with the messages, UIDs and bytes yubin reads.
func TestDovecotReadsAfterStoppedRotations(t *testing.T) {
	t.Parallel()
	d := testutil.StartDovecot(t, testutil.DovecotConfig{MailLocation: "sdbox:~/sdbox"})
	root := filepath.Join(d.Home("alice"), "sdbox")
	s, mb := openRotating(t, root, rotateOftenSync)
	uids := stoppedRotations(t, mb, 3, nil)
	mb.Close()
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	want := doveadmFetch(t, d, store.Inbox, true)
	if len(want) != len(uids) {
		t.Errorf("dovecot sees %d messages, %d appended", len(want), len(uids))
	}
	compareMessages(t, "after stopped rotations", want, yubinFetch(t, s, store.Inbox, true))
}
