package pgstore

import "time"

// SetTestHookBeforeCommit makes f run between an append's Put and its
// commit.
func SetTestHookBeforeCommit(b *Backend, f func()) { b.testHookBeforeCommit = f }

// SetDeliverBatchHook sets the hook run before each delivery batch.
func SetDeliverBatchHook(b *Backend, h func(n int)) { b.testHookDeliverBatch = h }

// DeliveriesQueued reports how many deliveries wait for a batch.
func DeliveriesQueued(b *Backend) int {
	b.deliveries.mu.Lock()
	defer b.deliveries.mu.Unlock()
	return len(b.deliveries.pending)
}

// SetSessionLockCheck sets how often held session locks check their
// connection.
func SetSessionLockCheck(b *Backend, d time.Duration) { b.sessionLockCheck = d }
