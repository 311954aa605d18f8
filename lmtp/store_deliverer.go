package lmtp

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth/authn"
	"github.com/yubinmail/yubin/store"
)

// StoreDeliverer is the Deliverer that saves mail into users' stores the
// way Dovecot's LMTP does: the recipient is looked up in a UserDB at RCPT
// time ("550 5.1.1 <x> User doesn't exist: x" when unknown), the quota
// is checked ("552 5.2.2 <x> Quota exceeded (mailbox for user is full)":
// a UserDB quota before saving, the store's own limits by the store's
// append, which must fail with store.ErrQuotaExceeded), and the message
// is appended to INBOX, or with
// DetailMailbox to the mailbox named by the address's +detail when that
// mailbox exists (lmtp_save_to_detail_mailbox = yes).
type StoreDeliverer struct {
	// Users looks recipients up. The name looked up is the address
	// without its +detail, lower-cased; with LocalPartOnly, only the part
	// before "@" (auth_username_format = %Ln).
	Users authn.UserDB
	// Stores opens a user's store by the user name the UserDB returned.
	Stores store.Backend
	// Delimiter is recipient_delimiter ("+" when empty); set "-" or
	// several characters ("+-") as Postfix allows.
	Delimiter string
	// DetailMailbox delivers user+box@domain into mailbox "box" when it
	// exists (INBOX otherwise).
	DetailMailbox bool
	// LocalPartOnly looks users up by local part only.
	LocalPartOnly bool
	// NoSync delivers with store.AppendOptions.NoSync: for a mail queue
	// that keeps its own durable copy of each message and calls
	// SyncDeliveries before it counts a delivery done. Never set it for
	// an LMTP server, whose 250 must mean the message is on disk.
	NoSync bool
	// KeepOpen keeps a user's store open for this long after a delivery
	// so that the next message for the same user does not reopen it; 0
	// closes it after each delivery. Call Close to release them.
	KeepOpen time.Duration

	cache storeCache
}

// Close closes the stores kept open by KeepOpen.
func (d *StoreDeliverer) Close() error {
	d.cache.close()
	return nil
}

// split returns the user name to look up and the detail.
func (d *StoreDeliverer) split(rcpt string) (userName, detail string) {
	local, domain := rcpt, ""
	if i := strings.LastIndexByte(rcpt, '@'); i >= 0 {
		local, domain = rcpt[:i], rcpt[i+1:]
	}
	delim := d.Delimiter
	if delim == "" {
		delim = "+"
	}
	if i := strings.IndexAny(local, delim); i > 0 {
		local, detail = local[:i], local[i+1:]
	}
	userName = strings.ToLower(local)
	if domain != "" && !d.LocalPartOnly {
		userName += "@" + strings.ToLower(domain)
	}
	return userName, detail
}

func (d *StoreDeliverer) lookup(ctx context.Context, rcpt string) (*authn.User, string, error) {
	name, detail := d.split(rcpt)
	u, err := d.Users.LookupUser(ctx, name)
	switch {
	case errors.Is(err, authn.ErrUnknownUser):
		return nil, "", &Error{Code: 550, Enhanced: Enhanced{5, 1, 1}, Message: "<" + rcpt + "> User doesn't exist: " + rcpt}
	case err != nil:
		return nil, "", &Error{Code: 451, Enhanced: Enhanced{4, 3, 0}, Message: "<" + rcpt + "> Temporary internal error"}
	}
	return u, detail, nil
}

// lookedUp is a user looked up at RCPT time (Envelope.rcptUser).
type lookedUp struct {
	d    *StoreDeliverer
	rcpt string
	u    *authn.User
}

// Rcpt implements Deliverer. The user it finds is kept with env, and
// Deliver of the same transaction uses it instead of looking it up
// again, as Dovecot's LMTP keeps the user it looked up at RCPT.
func (d *StoreDeliverer) Rcpt(ctx context.Context, env *Envelope, rcpt string) error {
	u, _, err := d.lookup(ctx, rcpt)
	if err == nil && env != nil {
		env.rcptUser = &lookedUp{d: d, rcpt: rcpt, u: u}
	}
	return err
}

// User returns the user Deliver would deliver rcpt's copy to: the one
// Rcpt looked up for env when rcpt was the last recipient it accepted,
// else one looked up now. Its error is the reply Deliver would give.
// A Deliverer wrapping this one that needs the user (a Sieve filter)
// calls it, then DeliverUser.
func (d *StoreDeliverer) User(ctx context.Context, env *Envelope, rcpt string) (*authn.User, error) {
	if env != nil {
		if l := env.rcptUser; l != nil && l.d == d && l.rcpt == rcpt {
			return l.u, nil
		}
	}
	u, _, err := d.lookup(ctx, rcpt)
	return u, err
}

// Deliver implements Deliverer.
func (d *StoreDeliverer) Deliver(ctx context.Context, env *Envelope, rcpt string, msg io.Reader) error {
	u, err := d.User(ctx, env, rcpt)
	if err != nil {
		return err
	}
	return d.DeliverUser(ctx, env, rcpt, u, msg)
}

// DeliverUser is Deliver for a recipient whose user the caller has
// looked up in d.Users already (u is what LookupUser returned for the
// recipient's user name): a Deliverer wrapping this one that needs the
// user too, such as a Sieve filter, saves the second lookup. u must not
// be nil.
func (d *StoreDeliverer) DeliverUser(ctx context.Context, env *Envelope, rcpt string, u *authn.User, msg io.Reader) error {
	_, detail := d.split(rcpt)
	name := u.Name
	if name == "" {
		name, _ = d.split(rcpt)
	}
	// A backend that looks the user up to open its store finds it in
	// the context (LookedUpUser).
	st, release, err := d.cache.open(WithUser(ctx, u), d.Stores, name, d.KeepOpen)
	if err != nil {
		if errors.Is(err, store.ErrNoSuchUser) {
			return &Error{Code: 550, Enhanced: Enhanced{5, 1, 1}, Message: "<" + rcpt + "> User doesn't exist: " + rcpt}
		}
		return err
	}
	defer release()
	overQuota := &Error{Code: 552, Enhanced: Enhanced{5, 2, 2}, Message: "<" + rcpt + "> Quota exceeded (mailbox for user is full)"}
	// A store's own limits are enforced by its append (ErrQuotaExceeded);
	// the usage is read here only for a quota the UserDB gives (Dovecot's
	// userdb quota_rule), as reading it may mean walking the folders.
	if u.QuotaBytes > 0 || u.QuotaMessages > 0 {
		q, err := st.Quota(ctx)
		if err != nil {
			return err
		}
		if q.StorageLimit == 0 && u.QuotaBytes > 0 {
			q.StorageLimit = u.QuotaBytes
		}
		if q.MessagesLimit == 0 && u.QuotaMessages > 0 {
			q.MessagesLimit = u.QuotaMessages
		}
		if q.Exceeds(env.Size) {
			return overQuota
		}
	}
	box := "INBOX"
	if d.DetailMailbox && detail != "" && store.ValidateName(detail) == nil {
		box = detail
	}
	if ds, ok := st.(directDeliverer); ok {
		// The store can deliver without a session handle (no mailbox
		// view to load): the path maildir offers for LMTP. Nobody here
		// needs the UID, so the store may leave it to the next reader
		// (LateUID).
		opts := store.AppendOptions{InternalDate: env.Received, LateUID: true, NoSync: d.NoSync}
		_, err = ds.Deliver(ctx, box, msg, opts)
		if errors.Is(err, store.ErrNoSuchMailbox) && box != "INBOX" {
			_, err = ds.Deliver(ctx, "INBOX", msg, opts)
		}
		return d.mapErr(err, rcpt, overQuota)
	}
	mb, err := st.OpenMailbox(ctx, box, store.OpenOptions{})
	if errors.Is(err, store.ErrNoSuchMailbox) && box != "INBOX" {
		mb, err = st.OpenMailbox(ctx, "INBOX", store.OpenOptions{})
	}
	if err != nil {
		return err
	}
	defer mb.Close()
	_, err = mb.Append(ctx, msg, store.AppendOptions{InternalDate: env.Received, NoSync: d.NoSync})
	return d.mapErr(err, rcpt, overQuota)
}

// SyncDeliveries makes the deliveries made with NoSync durable, when the
// Stores backend takes NoSync (store.DeliverySyncer); other stores
// synced each delivery already.
func (d *StoreDeliverer) SyncDeliveries(ctx context.Context) error {
	if s, ok := d.Stores.(store.DeliverySyncer); ok {
		return s.SyncDeliveries(ctx)
	}
	return nil
}

// directDeliverer is implemented by stores that can append to a mailbox
// by name without opening a session handle (maildir.Store.Deliver).
type directDeliverer interface {
	Deliver(ctx context.Context, mailbox string, r io.Reader, opts store.AppendOptions) (store.AppendResult, error)
}

func (d *StoreDeliverer) mapErr(err error, rcpt string, overQuota *Error) error {
	switch {
	case errors.Is(err, store.ErrQuotaExceeded):
		return overQuota
	case errors.Is(err, store.ErrTooBig):
		return &Error{Code: 552, Enhanced: Enhanced{5, 3, 4}, Message: "<" + rcpt + "> Message too big"}
	}
	return err
}
