// Package blobtest is the conformance suite every blob.Store passes. An
// implementation's tests call Run with a function returning a fresh,
// empty store:
//
//	func TestConformance(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) blob.Store { return newEmptyStore(t) })
//	}
//
// What it checks, one subtest each:
//
//   - Put then Open reads back the same bytes for sizes 0, 1, 4097 and
//     3 MiB+17 (random bytes), and Size reports the length.
//   - A Reader seeks (start, current, end, past the end) and reads at
//     offsets (ReadAt: inside, across and past the end, concurrently),
//     without reading what comes before.
//   - Put of a stored key succeeds and leaves the stored bytes as they
//     were.
//   - Put with a reader that yields fewer or more bytes than size, or
//     fails part way, fails and leaves nothing under the key.
//   - Open of a key never stored returns an error wrapping
//     blob.ErrNotFound; so does Open after Delete.
//   - Delete is idempotent: deleting a missing key is not an error.
//   - List sees every stored blob once, with its size and a Created time
//     between just before Put and just after it returned; an error from
//     its callback stops it and is returned.
//   - Many goroutines putting the same key and different keys at once all
//     succeed, and every blob reads back whole.
//   - Keys that are not blob.ValidKey (empty, upper case, a path, too
//     short or long) are refused by Put, Open and Delete, and nothing is
//     stored.
//   - A cancelled context fails Put, Open, Delete and List, and
//     cancelling a Put whose reader is still yielding makes it return
//     promptly with nothing stored.
//
// # Implementation notes
//
// Subtests run in parallel, each on its own store from newStore, so the
// function must return stores that do not see each other's blobs (a
// fresh directory, a fresh object-name prefix, a fresh table). Blobs are
// random, so every key is new to the store.
package blobtest
