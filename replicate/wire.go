package replicate

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/yubinmail/yubin/sieve/sievestore"
	"github.com/yubinmail/yubin/store"
)

// The replication protocol runs over TLS. Every frame is a 4-byte
// big-endian length (of what follows), a kind byte and a payload:
//
//	'Q' request  (JSON Request)       client → server
//	'R' response (JSON Response)      server → client
//	'D' message bytes (one chunk)     both ways, after an append request
//	                                  or a fetch response
//	'E' end of message bytes
//
// The first request of a connection is "hello" with the shared secret
// (doveadm_password), compared in constant time; then "user" names the
// user whose sync follows; then the Endpoint calls, one request and one
// response at a time.

// Frame kinds.
const (
	frameRequest  = 'Q'
	frameResponse = 'R'
	frameData     = 'D'
	frameEnd      = 'E'
)

// DefaultMaxFrame bounds one frame (a request or response; message
// bytes travel in chunks of at most dataChunk).
const DefaultMaxFrame = 16 << 20

const dataChunk = 64 << 10

// ProtocolVersion is sent in hello.
const ProtocolVersion = 1

var errFrame = errors.New("replicate: bad frame")

// readFrame reads one frame, refusing one over max bytes.
func readFrame(r *bufio.Reader, max int) (kind byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || int64(n)-1 > int64(max) {
		return 0, nil, fmt.Errorf("%w: length %d", errFrame, n)
	}
	kind = hdr[4]
	switch kind {
	case frameRequest, frameResponse, frameData, frameEnd:
	default:
		return 0, nil, fmt.Errorf("%w: kind %#x", errFrame, kind)
	}
	payload = make([]byte, n-1)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return kind, payload, nil
}

// writeFrame writes one frame.
func writeFrame(w io.Writer, kind byte, payload []byte) error {
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(payload)+1))
	hdr[4] = kind
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// Request is one call of the protocol; Op says which and which fields
// are used.
type Request struct {
	Op      string `json:"op"`
	Secret  string `json:"secret,omitempty"`
	Version int    `json:"version,omitempty"`
	Partner string `json:"partner,omitempty"`
	User    string `json:"user,omitempty"`

	Mailbox     string            `json:"mailbox,omitempty"`
	NewName     string            `json:"new_name,omitempty"`
	Renames     map[string]string `json:"renames,omitempty"`
	Script      string            `json:"script,omitempty"`
	Text        []byte            `json:"text,omitempty"`
	SieveBase   *SieveBase        `json:"sieve_base,omitempty"`
	SpecialUse  string            `json:"special_use,omitempty"`
	Full        bool              `json:"full,omitempty"`
	On          bool              `json:"on,omitempty"`
	Gen         uint64            `json:"gen,omitempty"`
	Msg         *Msg              `json:"msg,omitempty"`
	Target      *UIDGUID          `json:"target,omitempty"`
	Changes     []FlagChange      `json:"changes,omitempty"`
	Messages    []UIDGUID         `json:"messages,omitempty"`
	UIDValidity uint32            `json:"uidvalidity,omitempty"`
	UIDNext     uint32            `json:"uidnext,omitempty"`
	UIDs        map[string]uint32 `json:"uids,omitempty"`
	Subs        []string          `json:"subs,omitempty"`
	IDs         []string          `json:"ids,omitempty"`
	Commits     []Commit          `json:"commits,omitempty"`
}

// Response answers a Request. Err is a short code (see errCode), never
// Go error text.
type Response struct {
	Err    string            `json:"err,omitempty"`
	Gens   []uint64          `json:"gens,omitempty"`
	Begin  *BeginResult      `json:"begin,omitempty"`
	Diff   *Diff             `json:"diff,omitempty"`
	Failed []uint32          `json:"failed,omitempty"`
	Hashes map[string]string `json:"hashes,omitempty"`
	Text   []byte            `json:"text,omitempty"`
}

// Limits of a decoded request beyond the frame size.
const (
	maxNameLen  = 1024
	maxListLen  = 1 << 20
	maxKeywords = 64
)

// decodeRequest parses and checks a request payload.
func decodeRequest(p []byte) (*Request, error) {
	var q Request
	if err := json.Unmarshal(p, &q); err != nil {
		return nil, fmt.Errorf("%w: %v", errFrame, err)
	}
	if err := q.validate(); err != nil {
		return nil, err
	}
	return &q, nil
}

// ErrInvalidRequest is a request that is well framed but not valid.
var ErrInvalidRequest = errors.New("replicate: invalid request")

func (q *Request) validate() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrInvalidRequest, what) }
	switch q.Op {
	case "hello", "user", "gens", "begin", "diff", "hash", "create", "delete", "subscribe",
		"rename", "renamestate", "specialuse", "getscript", "putscript", "deletescript", "activescript", "append", "fetch", "flags", "expunge", "uidnext", "renumber", "commit":
	default:
		return bad("unknown op")
	}
	if len(q.User) > maxNameLen || len(q.Partner) > maxNameLen || len(q.Secret) > maxNameLen {
		return bad("name too long")
	}
	if q.Mailbox != "" {
		if len(q.Mailbox) > maxNameLen || store.ValidateName(q.Mailbox) != nil {
			return bad("mailbox name")
		}
	}
	switch q.Op {
	case "diff", "hash", "create", "delete", "subscribe", "rename", "specialuse", "append", "fetch", "flags", "expunge", "uidnext", "renumber":
		if q.Mailbox == "" {
			return bad("no mailbox")
		}
	}
	if q.Op == "append" && (q.Msg == nil || q.Msg.GUID == "" || len(q.Msg.GUID) > maxNameLen || !validFlags(q.Msg.Flags)) {
		return bad("append message")
	}
	if q.Op == "rename" && (q.NewName == "" || len(q.NewName) > maxNameLen || store.ValidateName(q.NewName) != nil) {
		return bad("new mailbox name")
	}
	if q.SpecialUse != "" && !store.IsSpecialUse(q.SpecialUse) {
		return bad("special use")
	}
	if q.Op == "fetch" && (q.Target == nil || q.Target.UID == 0) {
		return bad("fetch target")
	}
	if q.Op == "renumber" && q.UIDValidity == 0 {
		return bad("UIDVALIDITY 0")
	}
	if len(q.IDs) > maxListLen || len(q.Changes) > maxListLen || len(q.Messages) > maxListLen || len(q.UIDs) > maxListLen || len(q.Subs) > maxListLen {
		return bad("list too long")
	}
	for _, c := range q.Changes {
		if c.UID == 0 || !validFlags(c.Flags) {
			return bad("flag change")
		}
	}
	switch q.Op {
	case "getscript", "putscript", "deletescript":
		if !sievestore.ValidName(q.Script) {
			return bad("script name")
		}
	case "activescript":
		if q.Script != "" && !sievestore.ValidName(q.Script) {
			return bad("script name")
		}
	}
	if len(q.Renames) > maxListLen {
		return bad("list too long")
	}
	for o, n := range q.Renames {
		if store.ValidateName(o) != nil || store.ValidateName(n) != nil {
			return bad("rename names")
		}
	}
	for _, s := range q.Subs {
		if store.ValidateName(s) != nil {
			return bad("subscription name")
		}
	}
	for _, c := range q.Commits {
		if store.ValidateName(c.Mailbox) != nil {
			return bad("commit mailbox")
		}
	}
	return nil
}

func validFlags(f store.Flags) bool {
	if len(f.Keywords) > maxKeywords {
		return false
	}
	for _, k := range f.Keywords {
		if k == "" || len(k) > 256 {
			return false
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' || c == '\\' || c == ']' {
				return false
			}
		}
	}
	return true
}

// Error codes of Response.Err.
const (
	codeAuth      = "auth"
	codeBusy      = "busy"
	codeInvalid   = "invalid"
	codeNoMailbox = "no_such_mailbox"
	codeNoMessage = "no_such_message"
	codeTooBig    = "too_big"
	codeDuplicate = "duplicate"
	codeUID       = "uid_not_available"
	codeNoReplica = "no_replica"
	codeNoUser    = "no_such_user"
	codeExists    = "mailbox_exists"
	codeNoScript  = "no_such_script"
	codeNotAllow  = "not_allowed"
	codeInternal  = "internal"
)

var codeErrs = map[string]error{
	codeNoMailbox: store.ErrNoSuchMailbox,
	codeNoMessage: store.ErrNoSuchMessage,
	codeTooBig:    store.ErrTooBig,
	codeDuplicate: ErrDuplicate,
	codeUID:       store.ErrUIDNotAvailable,
	codeNoReplica: ErrNoReplica,
	codeNoUser:    store.ErrNoSuchUser,
	codeInvalid:   ErrInvalidRequest,
	codeBusy:      ErrBusy,
	codeExists:    store.ErrMailboxExists,
	codeNoScript:  sievestore.ErrNotFound,
	codeNotAllow:  store.ErrNotAllowed,
}

// ErrBusy: the partner is syncing the same user; try again later.
var ErrBusy = errors.New("replicate: user busy on the partner")

// ErrAuth: the partner refused the shared secret.
var ErrAuth = errors.New("replicate: partner refused the shared secret")

func errCode(err error) string {
	for c, e := range codeErrs {
		if errors.Is(err, e) {
			return c
		}
	}
	if errors.Is(err, store.ErrInvalidName) || errors.Is(err, store.ErrInvalidGUID) || errors.Is(err, store.ErrKeywordInvalid) {
		return codeInvalid
	}
	return codeInternal
}

func codeErr(code string) error {
	if code == codeAuth {
		return ErrAuth
	}
	if e, ok := codeErrs[code]; ok {
		return fmt.Errorf("replicate: partner: %w", e)
	}
	return fmt.Errorf("replicate: partner failed (%s)", code)
}
