package imap

import (
	"testing"

	"github.com/yubinmail/yubin/internal/testutil/pgtest"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// testBackend returns be, the Maildir backend a test asked for, or,
// while the test runs under TestPgstore, a pgstore backend with the
// same auto mailboxes and quotas, one database per root (servers of one
// test on one root share their users' mail, as on one Maildir).
func testBackend(t testing.TB, root string, opts maildir.Options, be store.Backend) store.Backend {
	return pgtest.Or(t, root, pgstore.Options{AutoMailboxes: opts.AutoMailboxes,
		QuotaStorage: opts.QuotaStorage, QuotaMessages: opts.QuotaMessages}, be)
}

// TestPgstore runs the tests that reach mail only through IMAP (and the
// store) a second time on pgstore, on a private PostgreSQL: sessions
// seeing each other, expunge visibility, IDLE and NOTIFY, COPY/MOVE,
// APPEND/CATENATE, CONDSTORE/QRESYNC, quotas, mbsync, real clients.
// Left out: tests that read or write the Maildir files themselves, and
// TestTwoSessionsSeeEachOther and TestMultiAppendAllOrNothing, whose
// \Recent expectations are those of
// Maildir stores opened per session (the other session's store sees the
// message first); with one shared store, as pgstore and
// maildir.Backend are, the appending session holds it (RFC 3501
// allows either: one session only).
func TestPgstore(t *testing.T) {
	pgtest.Run(t,
		TestTranscriptLoginSelect,
		TestAppendFetchStoreExpunge,
		TestCatenate,
		TestIdleWakesOnAppend,
		TestRecentIMAP4rev1,
		TestNewKeywordsAnnounced,
		TestCondstoreFirstModSeqCommand,
		TestListChildInfoOnlyForNonMatching,
		TestCopyMoveIntoSelected,
		TestBinarySizeDecoded,
		TestLsubNoselectParent,
		TestFetchExpungedByOther,
		TestTranscriptLessUsedCommands,
		TestExpungeIssued,
		TestQuotaAlert,
		TestTranscriptExtensions,
		TestSearchBeyondMailbox,
		TestImaplibSession,
		TestMaxMailboxes,
		TestMbsyncTwoWay,
		TestTranscriptQresyncSelect,
		TestFetchSetsSeen,
		TestIdleKeepalive,
		TestUTF8Accept,
		TestNotifyIdleOtherMailbox,
		TestNotifySelectedFilter,
		TestNotifyMailboxEvents,
		TestPartialRange,
		TestSearchPartialFromEnd,
		TestContextSearch,
		TestSortResultFollowsChanges,
		TestThreadResultFollowsSequence,
		TestTranscriptFiles,
		TestRenameParentOfSelected,
		TestAlerts,
		TestFetchmailIMAP,
		TestCurlIMAP,
	)
}
