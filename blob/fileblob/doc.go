// Package fileblob is a blob.Store in a local directory, for a mail host
// on one machine that wants content-addressed bodies without running a
// database or an object store (and for tests of code that takes a
// blob.Store).
//
// A blob with key k is the file DIR/k[0:2]/k, read-only once written;
// DIR/tmp holds blobs being written.
//
// # Implementation notes
//
// Put writes to a fresh file in DIR/tmp, checks that the reader yielded
// exactly size bytes, fsyncs the file, links it to its final name (link,
// unlike rename, fails when the name exists, so a stored blob is never
// replaced) and fsyncs the directory that holds the name before it
// returns: a blob Put returned for survives a crash or power loss on a
// file system that honours fsync. A crash part way leaves at most a file
// in DIR/tmp, which New removes when it is older than an hour (younger
// ones may belong to another process using the same directory). The
// context is checked between 64 KiB reads from the caller's reader.
// Created in List is the file's modification time: when its last byte
// was written.
package fileblob
