package mbox

import (
	"github.com/yubinmail/yubin/internal/syncfs"
	"log/slog"
	"time"

	"github.com/yubinmail/yubin/store"
)

// Options tunes an mbox store. The zero value is usable.
type Options struct {
	// Inbox is the path of the INBOX file, Dovecot's INBOX= (for example
	// /var/mail/alice for the spool Postfix's local(8) delivers to).
	// Empty means "inbox" under the root.
	Inbox string
	// Logger receives warnings (damaged files, stale locks). Nil discards
	// them.
	Logger *slog.Logger
	// Hostname is written into dotlock files. Empty means os.Hostname().
	Hostname string
	// AutoMailboxes are created (and perhaps subscribed) when the store is
	// opened, like Dovecot's namespace mailbox blocks.
	AutoMailboxes []store.AutoMailbox
	// MaxMessageSize rejects larger appends with store.ErrTooBig; 0 means
	// no limit.
	MaxMessageSize int64
	// QuotaStorage and QuotaMessages are limits reported by Quota and
	// enforced on append (store.ErrQuotaExceeded); 0 means unlimited.
	QuotaStorage  int64
	QuotaMessages int64
	// LockTimeout bounds the wait for a lock held by another program
	// (Dovecot's mbox_lock_timeout); default 5 minutes. The caller's
	// context may end the wait sooner.
	LockTimeout time.Duration
	// StaleLockTimeout is the age after which a dotlock that was not
	// modified is considered abandoned and removed (Dovecot's
	// mbox_dotlock_change_timeout); default 2 minutes.
	StaleLockTimeout time.Duration
	// PollInterval is how often a mailbox with open handles checks the
	// file for changes made by other programs; default 1 s.
	PollInterval time.Duration
	// NoSync skips fsync calls. Only for tests and benchmarks: an
	// acknowledged message may be lost on a crash.
	NoSync bool

	// pending holds the appends made with store.AppendOptions.NoSync
	// until SyncDeliveries; shared by a Backend's Stores.
	pending *syncfs.Pending
}

func (o *Options) lockTimeout() time.Duration {
	if o.LockTimeout > 0 {
		return o.LockTimeout
	}
	return defaultLockTimeout
}

// defaultLockTimeout is Dovecot's mbox_lock_timeout.
const defaultLockTimeout = 5 * time.Minute

func (o *Options) staleLockTimeout() time.Duration {
	if o.StaleLockTimeout > 0 {
		return o.StaleLockTimeout
	}
	return 2 * time.Minute
}

func (o *Options) pollInterval() time.Duration {
	if o.PollInterval > 0 {
		return o.PollInterval
	}
	return time.Second
}
