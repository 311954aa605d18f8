// Package blob is the contract between a mail store and the place it keeps
// message bodies: immutable byte strings named by their content.
//
// A store that keeps its index elsewhere (pgstore keeps mailboxes, flags
// and UIDs in PostgreSQL) writes each body once under Key(sha256 of the
// bytes) and names that key in its rows, so COPY and a delivery to many
// recipients store a body once. The rule that makes this crash-safe is on
// the caller's side: Put returns only when the blob is durable, and the
// caller commits the row that names a key only after Put returned, so a
// row never names a missing blob. A crash between the two leaves an
// unreferenced blob, which the caller's garbage collector finds with List
// and removes with Delete after a grace period (a blob younger than the
// grace period may belong to a row that is about to commit).
//
// Implementations: pgstore keeps blobs in a PostgreSQL table (the default,
// nothing else to run); blob/s3blob keeps them in an S3-compatible object
// store. blob/blobtest is the conformance suite both pass.
package blob
