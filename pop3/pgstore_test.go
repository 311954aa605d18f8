package pop3

import (
	"testing"

	"github.com/yubinmail/yubin/internal/testutil/pgtest"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// testBackend returns be, the Maildir backend a test asked for, or,
// while the test runs under TestPgstore, a pgstore backend (a server of
// its own) on the database of root: every backend of one root in one
// test shares the users' mail, as servers on one Maildir do.
func testBackend(t testing.TB, root string, be store.Backend) store.Backend {
	return pgtest.Or(t, root, pgstore.Options{}, be)
}

// TestPgstore runs the tests that reach mail through POP3 and the store
// a second time on pgstore, on a private PostgreSQL: the transaction
// state, deletion only at QUIT, \Seen, UIDLs, a message expunged by
// another session, and the real clients (TestPgstoreWithIMAP: an IMAP
// session on the same mailbox). Tests that read the Maildir files or
// need the Maildir session lock file are left out.
func TestPgstore(t *testing.T) {
	pgtest.Run(t,
		TestUserPassTransaction,
		TestDotStuffing,
		TestTop,
		TestUIDLDefaultFormat,
		TestDeleteOnlyAtQuit,
		TestDisconnectBeforeQuitDeletesNothing,
		TestDisconnectDuringRetrDeletesNothing,
		TestRetrSetsSeen,
		TestNoFlagUpdates,
		TestDeletionSeenByOtherSession,
		TestMessageExpungedElsewhere,
		TestOnlyInboxVisible,
		TestRetrBinaryBytes,
		TestShutdownLetsRetrFinish,
		TestCloseEndsSessionsWithoutDeleting,
		TestExpireDays,
		TestLockSession,
		TestWithoutLockSessionTwoSessions,
		TestTranscripts,
		TestUIDLFormat,
		TestPoplibUserPass,
		TestPoplibDele,
		TestCurlRetrList,
		TestCurlDele,
		TestFetchmailKeepUIDL,
		TestFetchmailDelete,
	)
}
