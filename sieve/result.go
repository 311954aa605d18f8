package sieve

import (
	"context"
	"time"
)

// ActionKind names what an Action does.
type ActionKind int

// The actions a script can take.
const (
	// ActKeep stores the message in the default mailbox (explicit keep).
	ActKeep ActionKind = iota + 1
	// ActFileInto stores the message in Action.Mailbox.
	ActFileInto
	// ActRedirect forwards the message to Action.Address.
	ActRedirect
	// ActDiscard drops the message silently.
	ActDiscard
	// ActReject refuses the message with Action.Reason (reject sends an
	// MDN-style bounce; ereject refuses at protocol level when it can).
	ActReject
	// ActEreject is ereject (RFC 5429 section 2.1).
	ActEreject
	// ActVacation sends Action.Vacation as an auto-reply.
	ActVacation
	// ActNotify sends Action.Notify (enotify).
	ActNotify
)

func (k ActionKind) String() string {
	return [...]string{"", "keep", "fileinto", "redirect", "discard", "reject", "ereject", "vacation", "notify"}[k]
}

// Action is one action of a script run.
type Action struct {
	Kind ActionKind
	// Mailbox is fileinto's folder; "" for keep (the default mailbox).
	Mailbox string
	// Flags are the IMAP flags and keywords to store with (keep, fileinto).
	Flags []string
	// Create is fileinto :create (RFC 5490): create the folder if missing.
	Create bool
	// Copy is :copy (RFC 3894): the action does not cancel implicit keep.
	Copy bool
	// Address is redirect's target.
	Address string
	// Reason is reject's and ereject's text.
	Reason   string
	Vacation *VacationReply
	Notify   *Notification
	// Pos is the command's place in the script.
	Pos Pos
}

// VacationReply is a vacation auto-reply the run decided to send
// (RFC 5230): the checks that it may be sent (not to lists, bulk mail,
// the null sender, nor again within the period) are already done.
type VacationReply struct {
	// To is the envelope sender the reply goes to.
	To string
	// From is :from, or "" for the recipient's address.
	From string
	// Subject is :subject, or "Auto: " and the original subject.
	Subject string
	// Body is the reason; with Mime it is a MIME entity (headers and body).
	Body string
	Mime bool
	// Handle identifies the reply for tracking (:handle, or derived
	// from the arguments as Pigeonhole does).
	Handle string
	// Period is :days or :seconds as a duration.
	Period time.Duration
	// InReplyTo and References come from the original Message-ID.
	InReplyTo  string
	References string
	// Suppressed says why the reply must not be sent ("" to send it):
	// the sender is null or a system address, the message is from a
	// list or bulk, the user is not a visible recipient, or a reply
	// went to this sender within the period.
	Suppressed string

	subjectGiven bool
}

// Notification is an enotify notification (RFC 5435, mailto: RFC 5436).
type Notification struct {
	Method     string
	From       string
	Importance string
	Options    []string
	Message    string
}

// Result is what a run decided.
type Result struct {
	// Actions in the order the script took them, without duplicates.
	Actions []Action
	// ImplicitKeep is true when no action cancelled the implicit keep:
	// the message goes to the default mailbox with KeepFlags.
	ImplicitKeep bool
	KeepFlags    []string
	// Header is the header editheader left, nil when unchanged; the
	// message to store or forward is then Header plus the original body.
	Header []Header
	// Track lists keys (vacation replies sent, duplicate ids seen) the
	// caller records in its Tracker once the delivery succeeded.
	Track []TrackEntry
	// Err is the run-time error that made the run fall back to implicit
	// keep (and drop the other actions), or nil.
	Err error
}

// TrackEntry is one key to record with its period.
type TrackEntry struct {
	Key    string
	Period time.Duration
}

// Tracker remembers vacation replies and duplicate message ids across
// deliveries (Pigeonhole's .dovecot.lda-dupes).
type Tracker interface {
	// Seen reports whether key was recorded less than its period ago.
	Seen(ctx context.Context, key string) (bool, error)
	// Record remembers key for period.
	Record(ctx context.Context, key string, period time.Duration) error
}

// MailboxChecker tells mailboxexists whether a mailbox exists.
type MailboxChecker interface {
	MailboxExists(ctx context.Context, name string) bool
}
