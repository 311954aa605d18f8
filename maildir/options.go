package maildir

import (
	"log/slog"
	"time"

	"github.com/yubinmail/yubin/internal/syncfs"
	"github.com/yubinmail/yubin/store"
)

// Options tunes a Maildir store. The zero value is usable.
type Options struct {
	// Logger receives warnings (stale locks broken, damaged files
	// rebuilt). Nil discards them.
	Logger *slog.Logger
	// Hostname is written into new file names and lock files. Empty
	// means os.Hostname() (with "/" and ":" replaced as Dovecot does).
	Hostname string
	// AutoMailboxes are created (and perhaps subscribed) when the store is
	// opened, like Dovecot's namespace mailbox blocks with auto=create or
	// auto=subscribe. Their special-use attributes are reported by
	// ListMailboxes. Nil means none; store.DefaultAutoMailboxes() gives
	// Dovecot's example set.
	AutoMailboxes []store.AutoMailbox
	// QuotaStorage and QuotaMessages are the limits written to the
	// Maildir++ maildirsize file (bytes and messages); 0 means
	// unlimited. With either set, appends beyond the limit fail with
	// store.ErrQuotaExceeded and maildirsize is kept up to date.
	QuotaStorage  int64
	QuotaMessages int64
	// MaxMessageSize rejects larger appends with store.ErrTooBig; 0 means
	// no limit.
	MaxMessageSize int64
	// LockTimeout is how long to wait for a dotlock held by someone else
	// before failing with store.ErrTemporary. Default 2 minutes (Dovecot's).
	LockTimeout time.Duration
	// StaleLockTimeout is the age after which a dotlock that was not
	// refreshed is considered abandoned and removed. Default 120 s
	// (Dovecot's dovecot-uidlist.lock stale timeout).
	StaleLockTimeout time.Duration
	// PollInterval is how often an idle mailbox with a Notify waiter
	// checks the disk for changes made by other processes when inotify is
	// not available. Default 2 s.
	PollInterval time.Duration
	// NoInotify disables inotify and uses PollInterval polling instead.
	NoInotify bool
	// NoSync skips fsync calls. Only for tests and benchmarks: an
	// acknowledged message may be lost on a crash.
	NoSync bool

	// pending tracks deliveries made with AppendOptions.NoSync; shared
	// by a Backend's Stores.
	pending *syncfs.Pending
}

func (o *Options) lockTimeout() time.Duration {
	if o.LockTimeout > 0 {
		return o.LockTimeout
	}
	return 2 * time.Minute
}

func (o *Options) staleLockTimeout() time.Duration {
	if o.StaleLockTimeout > 0 {
		return o.StaleLockTimeout
	}
	return 120 * time.Second
}

func (o *Options) pollInterval() time.Duration {
	if o.PollInterval > 0 {
		return o.PollInterval
	}
	return 2 * time.Second
}
