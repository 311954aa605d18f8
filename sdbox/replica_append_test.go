package sdbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/store"
)

// TestReplicaAppendAfterOtherWriter: ReplicaAppend takes the mailbox's
// header from this Store's last commit only while the log is as that
// commit left it. After another Store (another process) appended, it
// reads the log, so a UID the other writer took is refused and the next
// free one is accepted.
func TestReplicaAppendAfterOtherWriter(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	a, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(root, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	replica := func(uid uint32) error {
		_, err := a.ReplicaAppend(ctx, "INBOX", strings.NewReader(fmt.Sprintf("m%d\r\n", uid)), store.ReplicaAppendOptions{UID: uid, GUID: fmt.Sprintf("g%d", uid), InternalDate: time.Now()})
		return err
	}
	for uid := uint32(1); uid <= 3; uid++ {
		if err := replica(uid); err != nil {
			t.Fatalf("ReplicaAppend %d: %v", uid, err)
		}
	}
	mb, err := b.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := mb.Append(ctx, strings.NewReader("other\r\n"), store.AppendOptions{})
	mb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r.UID != 4 {
		t.Fatalf("other writer's UID %d, want 4", r.UID)
	}
	if err := replica(4); !errors.Is(err, store.ErrUIDNotAvailable) {
		t.Fatalf("ReplicaAppend of the other writer's UID: %v, want ErrUIDNotAvailable", err)
	}
	if err := replica(5); err != nil {
		t.Fatalf("ReplicaAppend 5: %v", err)
	}
	st, err := b.Status(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 5 || st.UIDNext != 6 {
		t.Errorf("after the appends: %d messages, UIDNEXT %d; want 5 and 6", st.Messages, st.UIDNext)
	}
}

// BenchmarkReplicaAppend: the cost of a replicated message into a
// mailbox that already holds 2,000 (it used to load the whole mailbox
// at every call, growing with its size).
func BenchmarkReplicaAppend(b *testing.B) {
	s, err := Open(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	uid := uint32(0)
	next := func() {
		uid++
		if _, err := s.ReplicaAppend(ctx, "INBOX", strings.NewReader("Subject: x\r\n\r\nbody\r\n"), store.ReplicaAppendOptions{UID: uid, GUID: fmt.Sprintf("g%d", uid)}); err != nil {
			b.Fatal(err)
		}
	}
	for range 2000 {
		next()
	}
	b.ResetTimer()
	for range b.N {
		next()
	}
}
