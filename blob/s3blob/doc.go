// Package s3blob is a blob.Store on an S3-compatible object store (AWS
// S3, MinIO, SeaweedFS, Ceph RGW, Garage...), through
// github.com/minio/minio-go/v7. It lets many mail servers share one body
// store: pgstore keeps mailboxes in PostgreSQL and, with the fullserver
// setting
//
//	mail_blob_location = s3://ACCESS_KEY:SECRET_KEY@HOST:PORT/BUCKET[/PREFIX]?tls=false
//
// passed to OpenURL, bodies here. ParseURL documents the URL form and its
// parameters. The bucket is created when missing; the blob with key k is
// the object PREFIX/k (or k without a prefix), so one bucket can hold the
// blobs of several independent stores under different prefixes.
//
// # Durability
//
// Put returns when the server answered 200 to a single PUT of the whole
// body (never a multipart upload, so an object exists whole or not at
// all): how durable the object then is, is the server's guarantee. AWS
// S3 stores it redundantly across devices before answering; MinIO writes
// with O_DSYNC by default; SeaweedFS fsyncs a write before answering only
// for paths configured so (weed shell: fs.configure
// -locationPrefix=/buckets/BUCKET/ -fsync=true -apply), and otherwise
// answers once the bytes are in the volume server's page cache, which
// survives a crash of the server process but not a power loss. Configure
// the server accordingly; the tests run SeaweedFS with fsync on.
//
// # Implementation notes
//
// Put first asks (HEAD) whether the object exists and returns at once
// when it does: a body delivered to many recipients or copied is uploaded
// once. The upload carries a CRC32C trailer (and over plain HTTP signed
// chunks), so the server refuses a body damaged on the way. Two Puts of one new key may both upload; both carry the same
// bytes. The caller's reader is wrapped so that the last byte is handed
// to the HTTP client only after the reader has said EOF: a reader longer
// or shorter than the size given aborts the request before the server
// has a whole body, and nothing is stored. Once Put returns, the reader
// is no longer read, even by a request still being torn down.
//
// Open makes a HEAD (the size, and ErrNotFound for a missing key) and
// downloads nothing: Read streams from the reader's offset with one GET
// (a ranged GET after a Seek), and ReadAt makes one ranged GET of just
// the bytes it returns, so a partial FETCH of a large message moves only
// that part. The reader's requests use the context given to Open.
//
// List pages through the objects under the prefix with ListObjectsV2,
// ListPageSize objects a request, and skips objects whose names are not
// keys. Created is the object's Last-Modified.
//
// Every request is bounded (Options.Timeout; a request with a body by
// Timeout plus its size at Options.MinRate), transient failures are
// retried within that bound except for Put, errors name the operation,
// the key and the endpoint, and neither errors nor logs carry the
// credentials.
package s3blob
