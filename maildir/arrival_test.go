package maildir

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

func TestCompareNames(t *testing.T) {
	ordered := []string{
		"999.foo",                 // earlier second, no microseconds
		"1000.host",               // no microseconds: before any
		"1000.M5P1Q9.host",        // microseconds
		"1000.M5P1Q10.host",       // Q10 after Q9 (numbers, not bytes)
		"1000.M40P1Q1.host:2,S",   // more microseconds; the info part is ignored
		"1000.M400P1Q1.host,S=10", // 400 > 40
		"1001.M0P1Q1.host",
		"10000.M0P1Q1.host", // a longer number is a later second
	}
	for i := range ordered {
		for j := range ordered {
			got := compareNames(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if (got < 0) != (want < 0) || (got > 0) != (want > 0) {
				t.Errorf("compareNames(%q, %q) = %d, want sign of %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

// deliverOutOfOrder delivers six messages with LateUID whose arrival
// times (InternalDate) ascend with k, in the order 3, 0, 5, 1, 4, 2, as a
// queue delivering in parallel might finish them.
func deliverOutOfOrder(t *testing.T, s *Store) {
	t.Helper()
	base := time.Now().Add(-time.Minute)
	for _, k := range []int{3, 0, 5, 1, 4, 2} {
		msg := fmt.Sprintf("Subject: arrival %d\r\n\r\nbody %d\r\n", k, k)
		opts := store.AppendOptions{LateUID: true, InternalDate: base.Add(time.Duration(k) * time.Millisecond)}
		if _, err := s.Deliver(context.Background(), store.Inbox, strings.NewReader(msg), opts); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLateUIDsFollowArrival: deliveries that get their UIDs at the next
// sync are numbered in the order they arrived, not in the order they were
// saved or the directory lists them.
func TestLateUIDsFollowArrival(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := newTestStore(t, root, Options{})
	deliverOutOfOrder(t, s)
	s2 := newTestStore(t, root, Options{})
	for uid := uint32(1); uid <= 6; uid++ {
		if got := readMessage(t, s2, uid); !strings.Contains(got, fmt.Sprintf("arrival %d\r\n", uid-1)) {
			t.Errorf("UID %d is %q, want arrival %d", uid, got, uid-1)
		}
	}
}

// TestDovecotLateUIDsFollowArrival: the real Dovecot 2.3, reading such a
// Maildir first, numbers the messages in the same order (it sorts new
// files by the time in their names), so the order holds whichever
// server adopts them.
func TestDovecotLateUIDsFollowArrival(t *testing.T) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{})
	root := dovecotHome(t, d)
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	deliverOutOfOrder(t, s)
	s.Close()
	testutil.ChownTree(t, filepath.Dir(root), testutil.PlainUID, testutil.PlainGID)
	got := doveadmMessages(t, d)
	if len(got) != 6 {
		t.Fatalf("Dovecot sees %d messages: %v", len(got), got)
	}
	for uid := 1; uid <= 6; uid++ {
		m := got[fmt.Sprintf("INBOX/%d", uid)]
		if !strings.Contains(m.Body, fmt.Sprintf("body %d", uid-1)) {
			t.Errorf("Dovecot's UID %d: %+v, want arrival %d", uid, m, uid-1)
		}
	}
}
