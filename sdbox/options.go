package sdbox

import (
	"io"
	"log/slog"
	"time"

	"github.com/yubinmail/yubin/internal/syncfs"
	"github.com/yubinmail/yubin/store"
)

// Options tunes an sdbox store. The zero value is usable.
type Options struct {
	// Logger receives warnings (damaged files, logs or indexes). Nil
	// discards them.
	Logger *slog.Logger
	// Hostname is written into temporary file names. Empty means
	// os.Hostname().
	Hostname string
	// AutoMailboxes are created (and perhaps subscribed) when the store
	// is opened, like Dovecot's namespace mailbox blocks with
	// auto=create or auto=subscribe; their special-use attributes are
	// reported by ListMailboxes.
	AutoMailboxes []store.AutoMailbox
	// QuotaStorage and QuotaMessages are limits (bytes and messages) on
	// the whole store; 0 means unlimited. Appends beyond a limit fail
	// with store.ErrQuotaExceeded.
	QuotaStorage  int64
	QuotaMessages int64
	// MaxMessageSize rejects larger appends with store.ErrTooBig; 0
	// means no limit.
	MaxMessageSize int64
	// LockTimeout is how long to wait for the transaction log lock held
	// by another writer (Dovecot or yubin) before failing with
	// store.ErrTemporary. Default 2 minutes.
	LockTimeout time.Duration
	// PollInterval is how often a mailbox with open handles checks its
	// transaction log for changes made by other processes. Default 1 s.
	PollInterval time.Duration
	// LogRotateMinSize, LogRotateMaxSize and LogRotateMinAge are
	// Dovecot's mail_index_log_rotate_min_size, _max_size and _min_age:
	// a write that leaves dovecot.index.log larger than the maximum, or
	// larger than the minimum and older than the minimum age, rotates
	// it and rewrites dovecot.index. Zero means Dovecot's defaults
	// (32 KiB, 1 MiB, 5 minutes); a negative LogRotateMinAge means no
	// minimum age.
	LogRotateMinSize int64
	LogRotateMaxSize int64
	LogRotateMinAge  time.Duration
	// NoSync skips fsync calls. Only for tests and benchmarks: an
	// acknowledged message may be lost on a crash.
	NoSync bool

	// pending holds the deliveries made with store.AppendOptions.NoSync
	// until SyncDeliveries; shared by a Backend's Stores.
	pending *syncfs.Pending
}

func (o *Options) lockTimeout() time.Duration {
	if o.LockTimeout > 0 {
		return o.LockTimeout
	}
	return 2 * time.Minute
}

func (o *Options) pollInterval() time.Duration {
	if o.PollInterval > 0 {
		return o.PollInterval
	}
	return time.Second
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
