// Package syncfs makes writes done without fsync durable later, in one
// syncfs(2) per file system shared by every caller waiting at that
// moment: the group commit behind store.DeliverySyncer in the mailbox
// formats (a mail queue's local deliveries skip their own fsyncs, keep
// their queue file until SyncDeliveries returns, and so lose nothing
// acknowledged on a crash).
//
//	var p syncfs.Pending
//	// ... write a file without fsync, then:
//	p.Note(dir)
//	// ... later, before relying on it:
//	err := p.Sync(ctx)
package syncfs
