package replicate

import (
	"context"
	"errors"
	"io"
)

// Endpoint is one side of one user's sync, as the sync engine (Sync)
// drives it: a local store (LocalEndpoint) or the partner over the
// network (the client side of the replication protocol). Every method
// that changes mail names the messages it acts on by UID and GUID and
// does nothing to a message whose GUID does not match, so a stale or
// replayed request cannot remove or alter another message.
type Endpoint interface {
	// Gens returns the generations of the sync state this side holds
	// for the partner (current first; none when never synced).
	Gens(ctx context.Context) ([]uint64, error)
	// Begin starts a sync on the state of generation gen (0: none).
	Begin(ctx context.Context, gen uint64) (BeginResult, error)
	// Diff reports a mailbox's changes since the base; with full, or
	// without a usable base, every message is listed as New.
	Diff(ctx context.Context, mailbox string, full bool) (Diff, error)
	// CreateMailbox creates a mailbox (and its parents).
	CreateMailbox(ctx context.Context, name, specialUse string) error
	// DeleteMailbox deletes a mailbox.
	DeleteMailbox(ctx context.Context, name string) error
	// RenameMailbox replays a rename the partner made (or records one
	// this side made): the mailbox oldName, when it exists, is renamed
	// newName with its children (store.ErrMailboxExists when newName
	// exists), and the sync state of oldName becomes newName's, so the
	// mail is not copied again and keeps its UIDs and UIDVALIDITY.
	RenameMailbox(ctx context.Context, oldName, newName string) error
	// RenameState records renames this side made itself (old name →
	// new): the base entries move to the new names, all at once (so
	// names swapped on this side swap their states).
	RenameState(ctx context.Context, renames map[string]string) error
	// SetSpecialUse changes a mailbox's special-use attribute
	// (store.SpecialUseSetter; ignored by a store without it).
	SetSpecialUse(ctx context.Context, name, attr string) error
	// Subscribe adds (on) or removes a subscription.
	Subscribe(ctx context.Context, name string, on bool) error
	// Append stores a copy of the partner's message m with its UID and
	// GUID. It refuses a GUID the mailbox already holds.
	Append(ctx context.Context, mailbox string, m Msg, body io.Reader) error
	// Hash returns the SHA-256 (hex) of the bytes of the messages named
	// by ID, to find the same message on both sides when GUIDs differ.
	Hash(ctx context.Context, mailbox string, ids []string) (map[string]string, error)
	// Fetch streams a message's bytes.
	Fetch(ctx context.Context, mailbox string, m UIDGUID) (io.ReadCloser, error)
	// SetFlags replaces messages' flags; it returns the UIDs it left
	// alone (changed since UnchangedSince, or GUID mismatch).
	SetFlags(ctx context.Context, mailbox string, changes []FlagChange) (failed []uint32, err error)
	// Expunge removes messages. Messages no longer there (or with
	// another GUID under their UID) are left out, and the error is then
	// store.ErrNoSuchMessage, after the others were removed.
	Expunge(ctx context.Context, mailbox string, ms []UIDGUID) error
	// SetUIDNext raises a mailbox's UIDNEXT.
	SetUIDNext(ctx context.Context, mailbox string, uidNext uint32) error
	// Renumber gives a mailbox a new UIDVALIDITY and UIDs by GUID
	// (store.Replica.ReplicaRenumber).
	Renumber(ctx context.Context, mailbox string, uidValidity, uidNext uint32, uids map[string]uint32) error
	// GetScript returns a Sieve script's text.
	GetScript(ctx context.Context, name string) ([]byte, error)
	// PutScript stores a Sieve script.
	PutScript(ctx context.Context, name string, text []byte) error
	// DeleteScript removes a Sieve script.
	DeleteScript(ctx context.Context, name string) error
	// SetActiveScript makes a script the active one ("" none).
	SetActiveScript(ctx context.Context, name string) error
	// Commit ends the sync: the side records the new state of
	// generation gen (its base updated by cs, subscriptions subs, Sieve
	// scripts sieve, nil when they are not synced).
	Commit(ctx context.Context, gen uint64, subs []string, sieve *SieveBase, cs []Commit) error
}

// BeginResult is what a side reports when a sync begins.
type BeginResult struct {
	// Gen is the base generation in use (0: none).
	Gen           uint64        `json:"gen"`
	Mailboxes     []MailboxMeta `json:"mailboxes"`
	Subscriptions []string      `json:"subscriptions"`
	// BaseSubscriptions are the subscriptions of the base.
	BaseSubscriptions []string `json:"base_subscriptions"`
	// Replica reports whether the side's store implements store.Replica
	// (UIDs and GUIDs kept); without it on both sides, the sync matches
	// messages by ID and leaves each side its own UIDs.
	Replica bool `json:"replica"`
	// Base lists the mailboxes of the base (what was on both sides at
	// the last sync), so a rename on either side is found.
	Base []BaseMailbox `json:"base,omitempty"`
	// Sieve lists the side's Sieve scripts (nil: it keeps none for the
	// user, and scripts are not synced); SieveBase is the base's.
	Sieve     *SieveScripts `json:"sieve,omitempty"`
	SieveBase *SieveBase    `json:"sieve_base,omitempty"`
}

// BaseMailbox is one mailbox of the base as a side reports it at Begin.
type BaseMailbox struct {
	Name        string `json:"name"`
	UIDValidity uint32 `json:"uidvalidity"`
	SpecialUse  string `json:"special_use,omitempty"`
	// Probe holds a few of its messages' GUIDs (this side's), to tell a
	// renamed mailbox from a new one with the same UIDVALIDITY.
	Probe []string `json:"probe,omitempty"`
}

// ErrNoReplica is returned when a Replica call reaches a store that does
// not implement store.Replica.
var ErrNoReplica = errors.New("replicate: store does not implement store.Replica")

// ErrUIDValidityClash: without store.Replica on both sides, a mailbox
// whose two copies have the same UIDVALIDITY cannot be synced (their UIDs
// would differ under one UIDVALIDITY, which clients must never see); it
// is left alone and reported.
var ErrUIDValidityClash = errors.New("replicate: same UIDVALIDITY on both sides without store.Replica")
