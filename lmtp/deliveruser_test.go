package lmtp

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// countingUserDB counts the lookups made through it.
type countingUserDB struct {
	db auth.UserDB
	n  atomic.Int32
}

func (c *countingUserDB) LookupUser(ctx context.Context, name string) (*auth.User, error) {
	c.n.Add(1)
	return c.db.LookupUser(ctx, name)
}

// countedMaildirs is maildirs with its lookups counted.
func countedMaildirs(t *testing.T) (d *StoreDeliverer, users *countingUserDB, dir string) {
	dir = t.TempDir()
	d = maildirs(t, dir)
	users = &countingUserDB{db: d.Users}
	d.Users = users
	return d, users, dir
}

// TestDeliverUserSkipsLookup: DeliverUser delivers with the user the
// caller looked up (no second lookup), into the same folder Deliver
// would choose (alice+lists goes to "lists"), and Deliver looks up once.
func TestDeliverUserSkipsLookup(t *testing.T) {
	d, users, dir := countedMaildirs(t)
	ctx := context.Background()
	st, err := maildir.Open(filepath.Join(dir, "alice", "Maildir"), maildir.Options{})
	require.NoError(t, err)
	require.NoError(t, st.CreateMailbox(ctx, "lists", store.CreateOptions{}))
	st.Close()
	env := &Envelope{From: "sender@example.org"}
	u, err := users.LookupUser(ctx, "alice@example.jp")
	require.NoError(t, err)
	require.NoError(t, d.DeliverUser(ctx, env, "alice+lists@example.jp", u, strings.NewReader("Subject: one\r\n\r\nbody\r\n")))
	require.Equal(t, int32(1), users.n.Load(), "DeliverUser looked the user up again")
	require.NoError(t, d.Deliver(ctx, env, "alice@example.jp", strings.NewReader("Subject: two\r\n\r\nbody\r\n")))
	require.Equal(t, int32(2), users.n.Load(), "Deliver: want one lookup")

	lists := files(t, filepath.Join(dir, "alice", "Maildir", ".lists"))
	require.Len(t, lists, 1)
	require.Contains(t, lists[0], "Subject: one")
	inbox := files(t, filepath.Join(dir, "alice", "Maildir"))
	require.Len(t, inbox, 1)
	require.Contains(t, inbox[0], "Subject: two")
}

// TestDeliverUsesRcptLookup: Deliver after Rcpt of the same envelope
// and recipient looks nothing up again; another recipient, or another
// envelope, is looked up.
func TestDeliverUsesRcptLookup(t *testing.T) {
	d, users, dir := countedMaildirs(t)
	ctx := context.Background()
	env := &Envelope{From: "sender@example.org"}
	require.NoError(t, d.Rcpt(ctx, env, "alice@example.jp"))
	require.Equal(t, int32(1), users.n.Load())
	require.NoError(t, d.Deliver(ctx, env, "alice@example.jp", strings.NewReader("Subject: one\r\n\r\nbody\r\n")))
	require.Equal(t, int32(1), users.n.Load(), "Deliver looked up the user Rcpt had found")
	require.NoError(t, d.Deliver(ctx, &Envelope{From: "sender@example.org"}, "alice@example.jp", strings.NewReader("Subject: two\r\n\r\nbody\r\n")))
	require.Equal(t, int32(2), users.n.Load(), "another transaction: want a lookup")
	var le *Error
	require.ErrorAs(t, d.Rcpt(ctx, env, "nobody@example.jp"), &le)
	require.Equal(t, 550, le.Code)
	u, err := d.User(ctx, env, "alice@example.jp")
	require.NoError(t, err, "an unknown recipient's Rcpt must not spoil the kept user")
	require.NotNil(t, u)
	require.Len(t, files(t, filepath.Join(dir, "alice", "Maildir")), 2)
}

// TestDeliverOpensStoreWithUser: the store is opened with a context
// carrying the user the delivery is for (LookedUpUser), so a backend
// that finds mail by user need not look it up again; another name gets
// nothing from it.
func TestDeliverOpensStoreWithUser(t *testing.T) {
	dir := t.TempDir()
	d := maildirs(t, dir)
	inner := d.Stores
	var seen, other bool
	d.Stores = store.BackendFunc(func(ctx context.Context, name string) (store.Store, error) {
		u, ok := LookedUpUser(ctx, name)
		seen = ok && u.Name == name
		_, other = LookedUpUser(ctx, "bob@example.jp")
		return inner.Open(ctx, name)
	})
	ctx := context.Background()
	require.NoError(t, d.Deliver(ctx, &Envelope{From: "sender@example.org"}, "alice@example.jp", strings.NewReader("Subject: one\r\n\r\nbody\r\n")))
	require.True(t, seen, "the store was opened without the user in its context")
	require.False(t, other, "LookedUpUser answered for another name")
	_, ok := LookedUpUser(ctx, "alice@example.jp")
	require.False(t, ok)
}
