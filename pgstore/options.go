package pgstore

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/store"
)

// Options tunes a Backend. The zero value is usable.
type Options struct {
	// Logger receives warnings (a lost LISTEN connection, a message
	// whose body is missing). Nil discards them.
	Logger *slog.Logger
	// Blobs keeps message bodies. Nil means the PostgreSQL tables of
	// the same database (NewBlobStore); an S3 store (blob/s3blob) can be
	// given instead. The database still tracks which keys are used.
	Blobs blob.Store
	// AutoMailboxes are created (and perhaps subscribed) when a user's
	// store is first opened, as Dovecot's namespace mailbox blocks.
	AutoMailboxes []store.AutoMailbox
	// QuotaStorage and QuotaMessages limit a user's total bytes and
	// messages; 0 means unlimited. An append beyond them fails with
	// store.ErrQuotaExceeded.
	QuotaStorage  int64
	QuotaMessages int64
	// MaxMessageSize rejects larger appends with store.ErrTooBig; 0
	// means no limit.
	MaxMessageSize int64
	// UserExists, when set, is asked before a user's rows are created
	// on first Open; false makes Open fail with store.ErrNoSuchUser.
	// Nil creates every user on demand (the program authenticated them).
	UserExists func(ctx context.Context, user string) (bool, error)
	// OpTimeout bounds every database operation, so a database that
	// stops answering gives store.ErrTemporary instead of a hang.
	// Default 30 s.
	OpTimeout time.Duration
	// TempDir is where bodies larger than SpoolMemory are spooled while
	// their SHA-256 is computed. Empty means os.TempDir().
	TempDir string
	// SpoolMemory is the largest body kept in memory while appending.
	// Default 1 MiB.
	SpoolMemory int64
	// BlobGrace is how long a body nothing refers to is kept before
	// CollectGarbage removes it (an append that has stored its body but
	// not yet committed its row is younger than this). Default 1 hour.
	BlobGrace time.Duration
	// JournalRetention is how long change-journal entries are kept for
	// handles that have not polled; a handle older than that resyncs
	// from the message table. Default 24 hours.
	JournalRetention time.Duration
	// Derive, when set, is called at append time with the message's
	// bytes and returns data to keep with it under protocol-chosen names
	// (store.MessageDataStore: "imap.envelope", "imap.bodystructure"),
	// stored once per content. An error is logged and the message is
	// stored without them.
	Derive func(r io.ReaderAt, size int64) (map[string][]byte, error)
	// GCInterval, when set, runs CollectGarbage in the background that
	// often. Zero leaves it to the program.
	GCInterval time.Duration
}

func (o *Options) opTimeout() time.Duration {
	if o.OpTimeout > 0 {
		return o.OpTimeout
	}
	return 30 * time.Second
}

func (o *Options) spoolMemory() int64 {
	if o.SpoolMemory > 0 {
		return o.SpoolMemory
	}
	return 1 << 20
}

func (o *Options) blobGrace() time.Duration {
	if o.BlobGrace > 0 {
		return o.BlobGrace
	}
	return time.Hour
}

func (o *Options) journalRetention() time.Duration {
	if o.JournalRetention > 0 {
		return o.JournalRetention
	}
	return 24 * time.Hour
}
