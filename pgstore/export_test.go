package pgstore

// SetTestHookBeforeCommit makes f run between an append's Put and its
// commit.
func SetTestHookBeforeCommit(b *Backend, f func()) { b.testHookBeforeCommit = f }
