package pop3_test

import (
	"testing"

	"github.com/yubinmail/yubin/internal/testutil/pgtest"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// testBackend is pop3's testBackend for the external tests: be, or
// under TestPgstoreWithIMAP a pgstore backend on the database of root.
func testBackend(t testing.TB, root string, be store.Backend) store.Backend {
	return pgtest.Or(t, root, pgstore.Options{}, be)
}

// TestPgstoreWithIMAP runs TestIMAPAndPOP3SameMailbox on pgstore: POP3
// and IMAP servers on one backend, and on two (as two processes on one
// database), see each other's deletions and expunges.
func TestPgstoreWithIMAP(t *testing.T) {
	pgtest.Run(t, TestIMAPAndPOP3SameMailbox)
}
