package lmtp

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil/pgtest"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// testBackend returns be, the Maildir backend of maildirs, or, while
// the test runs under TestPgstore, pgstore backends on the database of
// dir with the same limits (bob's 300-byte store quota).
func testBackend(t *testing.T, dir string, be store.Backend) store.Backend {
	all := pgtest.Backend(t, dir, pgstore.Options{})
	if all == nil {
		return be
	}
	bob := pgtest.Backend(t, dir, pgstore.Options{QuotaStorage: 300})
	return store.BackendFunc(func(ctx context.Context, name string) (store.Store, error) {
		if strings.HasPrefix(name, "bob") {
			return bob.Open(ctx, name)
		}
		return all.Open(ctx, name)
	})
}

// pgFiles is files for a test under TestPgstore: the messages of the
// mailbox that maildirPath (DIR/LOCAL/Maildir[/.FOLDER], as maildirs
// lays them out) names, read through the store. ok is false outside
// TestPgstore.
func pgFiles(t *testing.T, maildirPath string) (msgs []string, ok bool) {
	t.Helper()
	if !pgtest.Active(t) {
		return nil, false
	}
	home, folder, _ := strings.Cut(maildirPath, string(filepath.Separator)+"Maildir")
	mailbox := store.Inbox
	if folder != "" {
		mailbox = strings.TrimPrefix(strings.TrimPrefix(folder, string(filepath.Separator)), ".")
	}
	ctx := context.Background()
	st, err := pgtest.Backend(t, filepath.Dir(home), pgstore.Options{}).Open(ctx, filepath.Base(home)+"@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.OpenMailbox(ctx, mailbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	err = mb.Messages(ctx, nil, func(mi *store.MessageInfo) error {
		r, err := mb.Open(ctx, mi.UID)
		if err != nil {
			return err
		}
		defer r.Close()
		b, err := io.ReadAll(io.NewSectionReader(r, 0, r.Size()))
		msgs = append(msgs, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs, true
}

// TestPgstore runs the LMTP tests that deliver into the store a second
// time on pgstore, on a private PostgreSQL: per-recipient replies,
// +detail folders, store and userdb quotas, BDAT, a client that
// vanishes mid-message (nothing stored), shutdown, and Postfix's lmtp
// client delivering.
func TestPgstore(t *testing.T) {
	pgtest.Run(t,
		TestLMTPPerRecipient,
		TestLMTPBDATAndSize,
		TestLMTPUnixSocketAndTLS,
		TestLMTPClientVanishes,
		TestLMTPShutdown,
		TestLMTPClientSendOpts,
		TestAbuseLMTPControlBytes,
		TestAbuseLMTPBDATEdges,
		TestCommandHook,
		TestConnState,
		TestPostfixLMTPDelivery,
	)
}
