package replicate

import (
	"time"

	"github.com/yubinmail/yubin/store"
)

// MailboxMeta is one side's view of a mailbox at the start of a sync.
type MailboxMeta struct {
	Name        string `json:"name"`
	SpecialUse  string `json:"special_use,omitempty"`
	NoSelect    bool   `json:"noselect,omitempty"`
	UIDValidity uint32 `json:"uidvalidity,omitempty"`
	UIDNext     uint32 `json:"uidnext,omitempty"`
	Messages    uint32 `json:"messages,omitempty"`
	// InBase reports whether the mailbox is in this side's sync state
	// (it existed on both sides at the last sync).
	InBase bool `json:"in_base,omitempty"`
}

// Msg is one message as a side reports it.
type Msg struct {
	UID    uint32      `json:"uid"`
	GUID   string      `json:"guid"`
	Flags  store.Flags `json:"flags"`
	ModSeq uint64      `json:"modseq,omitempty"`
	Date   time.Time   `json:"date,omitzero"`
	Size   int64       `json:"size,omitempty"`
}

// Diff is what changed in one mailbox on one side since the sync state
// both sides agreed on (its base). Without a base every message is New.
type Diff struct {
	Exists      bool   `json:"exists"`
	HasBase     bool   `json:"has_base"`
	UIDValidity uint32 `json:"uidvalidity"`
	UIDNext     uint32 `json:"uidnext"`
	Messages    uint32 `json:"messages"`
	// New are messages whose GUID is not in the base.
	New []Msg `json:"new,omitempty"`
	// Changed are base messages whose flags differ from the base.
	Changed []Msg `json:"changed,omitempty"`
	// Expunged are GUIDs of the base that this side no longer has.
	Expunged []string `json:"expunged,omitempty"`
	// Base holds the base entries of the messages listed in Changed and
	// Expunged (the flags both sides had agreed on), by GUID.
	Base map[string]BaseMsg `json:"base,omitempty"`
}

// BaseMsg is one message of the sync state: its UID on this side and
// the flags both sides had after the last sync.
type BaseMsg struct {
	UID   uint32      `json:"u"`
	Flags store.Flags `json:"f"`
	// ID is the message's GUID on the side that first had it, when this
	// side's copy has another GUID (a store without store.Replica gives
	// a copy a GUID of its own); "" when they are the same.
	ID string `json:"i,omitempty"`
}

// Commit is the outcome of a sync for one mailbox, applied by each side
// to its base: Put entries are on both sides with the given flags, Del
// GUIDs on neither.
type Commit struct {
	Mailbox string `json:"mailbox"`
	Gone    bool   `json:"gone,omitempty"`  // the mailbox is on neither side
	Reset   bool   `json:"reset,omitempty"` // start from an empty base
	// SpecialUse is the special-use attribute both sides have now.
	SpecialUse string             `json:"special_use,omitempty"`
	Put        map[string]BaseMsg `json:"put,omitempty"`
	Del        []string           `json:"del,omitempty"`
	// Alias pairs a message's ID with the GUID of the other side's copy
	// that the sync found to be the same message (same bytes); the side
	// that holds that GUID records it under the ID.
	Alias map[string]string `json:"alias,omitempty"`
}

// FlagChange asks a side to set a message's flags, if the message with
// UID still has GUID and its modseq is not above UnchangedSince.
type FlagChange struct {
	UID            uint32      `json:"uid"`
	GUID           string      `json:"guid"`
	Flags          store.Flags `json:"flags"`
	UnchangedSince uint64      `json:"unchanged_since,omitempty"`
}

// UIDGUID names a message by UID and GUID; a side acts on it only when
// both match.
type UIDGUID struct {
	UID  uint32 `json:"uid"`
	GUID string `json:"guid"`
}
