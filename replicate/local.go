package replicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/yubinmail/yubin/sieve/sievestore"
	"github.com/yubinmail/yubin/store"
)

// LocalEndpoint is the Endpoint of a store on this server. It keeps the
// sync state for (Partner, User) in States.
type LocalEndpoint struct {
	Store   store.Store
	States  *StateStore
	Partner string
	User    string
	// Sieve is the user's Sieve script storage; nil: scripts are not
	// synced.
	Sieve *sievestore.Store
	// MaxMessageSize refuses appends of larger messages (0: no limit
	// beyond the store's own).
	MaxMessageSize int64

	base  *State
	began bool                         // Begin was called in this session
	gen   uint64                       // the generation Begin was given
	guids map[string]map[string]uint32 // mailbox → local GUID → UID, as seen this session
	alias map[string]map[string]string // mailbox → ID → local GUID, where they differ
}

// local returns this side's GUID of the message with ID id.
func (e *LocalEndpoint) local(mailbox, id string) string {
	if l := e.alias[mailbox][id]; l != "" {
		return l
	}
	return id
}

// resolve finds this side's UID and GUID of a message named by ID (the
// UID given is used when this session has not seen the message).
func (e *LocalEndpoint) resolve(mailbox string, m UIDGUID) UIDGUID {
	l := e.local(mailbox, m.GUID)
	if uid, ok := e.guids[mailbox][l]; ok {
		return UIDGUID{UID: uid, GUID: l}
	}
	return UIDGUID{UID: m.UID, GUID: l}
}

func (e *LocalEndpoint) setAlias(mailbox, id, l string) {
	if id == l {
		return
	}
	if e.alias[mailbox] == nil {
		e.alias[mailbox] = map[string]string{}
	}
	e.alias[mailbox][id] = l
}

func (e *LocalEndpoint) replica() (store.Replica, error) {
	r, ok := e.Store.(store.Replica)
	if !ok {
		return nil, ErrNoReplica
	}
	return r, nil
}

// Gens implements Endpoint.
func (e *LocalEndpoint) Gens(ctx context.Context) ([]uint64, error) {
	e.began = false // a new sync starts
	return e.States.Gens(e.Partner, e.User), nil
}

// Begin implements Endpoint. Called again in the same session with the
// same generation (after renames), it lists the mailboxes again over
// the base as the session changed it.
func (e *LocalEndpoint) Begin(ctx context.Context, gen uint64) (BeginResult, error) {
	again := e.began && e.base != nil && gen == e.gen
	e.began, e.gen = true, gen
	e.guids = map[string]map[string]uint32{}
	e.alias = map[string]map[string]string{}
	if again {
		gen = e.base.Gen
	} else {
		e.base = &State{Mailboxes: map[string]*MailboxState{}}
	}
	if gen != 0 && !again {
		if st := e.States.LoadGen(e.Partner, e.User, gen); st != nil {
			e.base = st
		} else {
			gen = 0
		}
		if e.base.Mailboxes == nil {
			e.base.Mailboxes = map[string]*MailboxState{}
		}
	}
	for name, mb := range e.base.Mailboxes {
		for l, b := range mb.Msgs {
			if b.ID != "" {
				e.setAlias(name, b.ID, l)
			}
		}
	}
	_, isReplica := e.Store.(store.Replica)
	res := BeginResult{Gen: gen, BaseSubscriptions: e.base.Subscriptions, Replica: isReplica, Base: baseMailboxes(e.base)}
	infos, err := e.Store.ListMailboxes(ctx)
	if err != nil {
		return BeginResult{}, err
	}
	for _, mi := range infos {
		mm := MailboxMeta{Name: mi.Name, SpecialUse: mi.SpecialUse, NoSelect: mi.NoSelect}
		if !mi.NoSelect {
			st, err := e.Store.Status(ctx, mi.Name)
			if err != nil {
				return BeginResult{}, err
			}
			mm.UIDValidity, mm.UIDNext, mm.Messages = st.UIDValidity, st.UIDNext, st.Messages
			if b := e.base.Mailboxes[mi.Name]; b != nil && b.UIDValidity == st.UIDValidity {
				mm.InBase = true
			}
		}
		res.Mailboxes = append(res.Mailboxes, mm)
	}
	if res.Subscriptions, err = e.Store.Subscriptions(ctx); err != nil {
		return BeginResult{}, err
	}
	if e.Sieve != nil {
		if res.Sieve, err = sieveScripts(ctx, e.Sieve); err != nil {
			return BeginResult{}, err
		}
		res.SieveBase = e.base.Sieve
	}
	return res, nil
}

// Diff implements Endpoint.
func (e *LocalEndpoint) Diff(ctx context.Context, mailbox string, full bool) (Diff, error) {
	h, err := e.Store.OpenMailbox(ctx, mailbox, store.OpenOptions{ReadOnly: true})
	if errors.Is(err, store.ErrNoSuchMailbox) {
		return Diff{}, nil
	}
	if err != nil {
		return Diff{}, err
	}
	defer h.Close()
	st, err := h.Status(ctx)
	if err != nil {
		return Diff{}, err
	}
	d := Diff{Exists: true, UIDValidity: st.UIDValidity, UIDNext: st.UIDNext, Messages: st.Messages}
	var base map[string]BaseMsg
	if b := e.base.Mailboxes[mailbox]; b != nil && b.UIDValidity == st.UIDValidity && !full {
		d.HasBase = true
		base = b.Msgs
	}
	seen := make(map[string]uint32, st.Messages)
	err = h.Messages(ctx, nil, func(mi *store.MessageInfo) error {
		seen[mi.GUID] = mi.UID
		m := Msg{UID: mi.UID, GUID: mi.GUID, Flags: copyFlags(mi.Flags), ModSeq: mi.ModSeq, Date: mi.InternalDate, Size: mi.Size}
		b, ok := base[mi.GUID]
		if ok && b.ID != "" {
			m.GUID = b.ID
		}
		switch {
		case !ok:
			d.New = append(d.New, m)
		case !b.Flags.Equal(mi.Flags):
			d.Changed = append(d.Changed, m)
			if d.Base == nil {
				d.Base = map[string]BaseMsg{}
			}
			d.Base[m.GUID] = b
		}
		return nil
	})
	if err != nil {
		return Diff{}, err
	}
	for g, b := range base {
		if _, ok := seen[g]; !ok {
			id := g
			if b.ID != "" {
				id = b.ID
			}
			d.Expunged = append(d.Expunged, id)
			if d.Base == nil {
				d.Base = map[string]BaseMsg{}
			}
			d.Base[id] = b
		}
	}
	slices.Sort(d.Expunged)
	e.guids[mailbox] = seen
	return d, nil
}

func copyFlags(f store.Flags) store.Flags {
	return store.Flags{System: f.System, Keywords: slices.Clone(f.Keywords)}
}

// CreateMailbox implements Endpoint.
func (e *LocalEndpoint) CreateMailbox(ctx context.Context, name, specialUse string) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	if specialUse != "" && !store.IsSpecialUse(specialUse) {
		specialUse = ""
	}
	err := e.Store.CreateMailbox(ctx, name, store.CreateOptions{SpecialUse: specialUse})
	if errors.Is(err, store.ErrMailboxExists) {
		return nil
	}
	return err
}

// DeleteMailbox implements Endpoint.
func (e *LocalEndpoint) DeleteMailbox(ctx context.Context, name string) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	err := e.Store.DeleteMailbox(ctx, name)
	if errors.Is(err, store.ErrNoSuchMailbox) {
		return nil
	}
	return err
}

// RenameMailbox implements Endpoint.
func (e *LocalEndpoint) RenameMailbox(ctx context.Context, oldName, newName string) error {
	if err := store.ValidateName(oldName); err != nil {
		return err
	}
	if err := store.ValidateName(newName); err != nil {
		return err
	}
	oldName, newName = normName(oldName), normName(newName)
	if oldName == "INBOX" || oldName == newName {
		return fmt.Errorf("replicate: rename %q to %q: %w", oldName, newName, store.ErrNotAllowed)
	}
	_, errOld := e.Store.Status(ctx, oldName)
	switch {
	case errOld == nil:
		if err := e.Store.RenameMailbox(ctx, oldName, newName); err != nil {
			return err
		}
	case errors.Is(errOld, store.ErrNoSuchMailbox):
		// Renamed here already (this side's own rename, or a parent's
		// rename that took the children along): only the state moves.
		if _, err := e.Store.Status(ctx, newName); err != nil {
			return err
		}
	default:
		return errOld
	}
	if e.base != nil {
		if b, ok := e.base.Mailboxes[oldName]; ok {
			delete(e.base.Mailboxes, oldName)
			e.base.Mailboxes[newName] = b
		}
	}
	delete(e.guids, oldName)
	delete(e.guids, newName)
	if a, ok := e.alias[oldName]; ok {
		delete(e.alias, oldName)
		e.alias[newName] = a
	}
	return nil
}

// RenameState implements Endpoint.
func (e *LocalEndpoint) RenameState(ctx context.Context, renames map[string]string) error {
	if e.base == nil {
		return errors.New("replicate: rename without begin")
	}
	moved := map[string]*MailboxState{}
	for o, n := range renames {
		if store.ValidateName(o) != nil || store.ValidateName(n) != nil {
			return fmt.Errorf("replicate: rename %q to %q: %w", o, n, store.ErrInvalidName)
		}
		o = normName(o)
		if b, ok := e.base.Mailboxes[o]; ok {
			moved[normName(n)] = b
			delete(e.base.Mailboxes, o)
		}
		delete(e.guids, o)
		delete(e.alias, o)
	}
	for n, b := range moved {
		e.base.Mailboxes[n] = b
		delete(e.guids, n)
	}
	// Aliases (stores without Replica) are rebuilt from the base.
	for name, mb := range e.base.Mailboxes {
		if _, ok := moved[name]; !ok {
			continue
		}
		delete(e.alias, name)
		for l, b := range mb.Msgs {
			if b.ID != "" {
				e.setAlias(name, b.ID, l)
			}
		}
	}
	return nil
}

var errNoSieve = fmt.Errorf("replicate: no Sieve storage: %w", store.ErrNotAllowed)

// GetScript implements Endpoint.
func (e *LocalEndpoint) GetScript(ctx context.Context, name string) ([]byte, error) {
	if e.Sieve == nil {
		return nil, errNoSieve
	}
	return e.Sieve.Get(ctx, name)
}

// PutScript implements Endpoint.
func (e *LocalEndpoint) PutScript(ctx context.Context, name string, text []byte) error {
	if e.Sieve == nil {
		return errNoSieve
	}
	return e.Sieve.Put(ctx, name, text)
}

// DeleteScript implements Endpoint. A script gone already is no error.
func (e *LocalEndpoint) DeleteScript(ctx context.Context, name string) error {
	if e.Sieve == nil {
		return errNoSieve
	}
	err := e.Sieve.Delete(ctx, name)
	if errors.Is(err, sievestore.ErrNotFound) {
		return nil
	}
	return err
}

// SetActiveScript implements Endpoint.
func (e *LocalEndpoint) SetActiveScript(ctx context.Context, name string) error {
	if e.Sieve == nil {
		return errNoSieve
	}
	return e.Sieve.SetActive(ctx, name)
}

// SetSpecialUse implements Endpoint.
func (e *LocalEndpoint) SetSpecialUse(ctx context.Context, name, attr string) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	if attr != "" && !store.IsSpecialUse(attr) {
		return fmt.Errorf("replicate: special use %q: %w", attr, store.ErrNotAllowed)
	}
	s, ok := e.Store.(store.SpecialUseSetter)
	if !ok {
		return nil
	}
	return s.SetSpecialUse(ctx, name, attr)
}

// baseMailboxes lists a State's mailboxes for BeginResult.Base, each
// with up to four probe GUIDs (those of its lowest and highest UIDs).
func baseMailboxes(st *State) []BaseMailbox {
	out := make([]BaseMailbox, 0, len(st.Mailboxes))
	for name, mb := range st.Mailboxes {
		bm := BaseMailbox{Name: name, UIDValidity: mb.UIDValidity, SpecialUse: mb.SpecialUse}
		type gu struct {
			g string
			u uint32
		}
		var lo, hi []gu
		for g, b := range mb.Msgs {
			x := gu{g, b.UID}
			lo = insertBounded(lo, x, func(a, b gu) bool { return a.u < b.u || a.u == b.u && a.g < b.g })
			hi = insertBounded(hi, x, func(a, b gu) bool { return a.u > b.u || a.u == b.u && a.g > b.g })
		}
		for _, l := range [][]gu{lo, hi} {
			for _, x := range l {
				if !slices.Contains(bm.Probe, x.g) {
					bm.Probe = append(bm.Probe, x.g)
				}
			}
		}
		out = append(out, bm)
	}
	slices.SortFunc(out, func(a, b BaseMailbox) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// insertBounded keeps the two smallest elements of l and x under less.
func insertBounded[T any](l []T, x T, less func(a, b T) bool) []T {
	l = append(l, x)
	slices.SortFunc(l, func(a, b T) int {
		if less(a, b) {
			return -1
		}
		if less(b, a) {
			return 1
		}
		return 0
	})
	if len(l) > 2 {
		l = l[:2]
	}
	return l
}

// Subscribe implements Endpoint.
func (e *LocalEndpoint) Subscribe(ctx context.Context, name string, on bool) error {
	if err := store.ValidateName(name); err != nil {
		return err
	}
	if on {
		return e.Store.Subscribe(ctx, name)
	}
	return e.Store.Unsubscribe(ctx, name)
}

// sessionGUIDs returns the GUID → UID map of a mailbox, listing it if
// this session has not yet.
func (e *LocalEndpoint) sessionGUIDs(ctx context.Context, mailbox string) (map[string]uint32, error) {
	if g := e.guids[mailbox]; g != nil {
		return g, nil
	}
	if e.guids == nil {
		e.guids = map[string]map[string]uint32{}
	}
	h, err := e.Store.OpenMailbox(ctx, mailbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	g := map[string]uint32{}
	err = h.Messages(ctx, nil, func(mi *store.MessageInfo) error {
		g[mi.GUID] = mi.UID
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.guids[mailbox] = g
	return g, nil
}

// ErrDuplicate is returned by Append for a GUID the mailbox already
// holds.
var ErrDuplicate = errors.New("replicate: message already in the mailbox")

// Append implements Endpoint.
//
// With m.UID 0 the message is appended as any other (the store picks the
// UID and GUID; the copy is recorded under m.GUID as its ID), which is
// how a sync without store.Replica on both sides copies.
func (e *LocalEndpoint) Append(ctx context.Context, mailbox string, m Msg, body io.Reader) error {
	if err := store.ValidateName(mailbox); err != nil {
		return err
	}
	g, err := e.sessionGUIDs(ctx, mailbox)
	if err != nil {
		return err
	}
	if _, ok := g[e.local(mailbox, m.GUID)]; ok {
		return fmt.Errorf("replicate: %s GUID %s: %w", mailbox, m.GUID, ErrDuplicate)
	}
	if e.MaxMessageSize > 0 {
		body = &capReader{r: body, left: e.MaxMessageSize}
	}
	if m.UID == 0 {
		return e.appendPlain(ctx, mailbox, m, body, g)
	}
	r, err := e.replica()
	if err != nil {
		return err
	}
	_, err = r.ReplicaAppend(ctx, mailbox, body, store.ReplicaAppendOptions{UID: m.UID, GUID: m.GUID, Flags: m.Flags, InternalDate: m.Date})
	if err != nil {
		return err
	}
	g[m.GUID] = m.UID
	return nil
}

// appendPlain appends through the store contract and records the copy's
// own GUID under the message's ID.
func (e *LocalEndpoint) appendPlain(ctx context.Context, mailbox string, m Msg, body io.Reader, g map[string]uint32) error {
	h, err := e.Store.OpenMailbox(ctx, mailbox, store.OpenOptions{})
	if err != nil {
		return err
	}
	defer h.Close()
	res, err := h.Append(ctx, body, store.AppendOptions{Flags: m.Flags, InternalDate: m.Date})
	if err != nil {
		return err
	}
	l := ""
	if err := h.Messages(ctx, store.UIDSetOf(res.UID), func(mi *store.MessageInfo) error { l = mi.GUID; return nil }); err != nil {
		return err
	}
	if l == "" {
		return fmt.Errorf("replicate: appended message UID %d not found: %w", res.UID, store.ErrNoSuchMessage)
	}
	g[l] = res.UID
	e.setAlias(mailbox, m.GUID, l)
	return nil
}

// Hash implements Endpoint.
func (e *LocalEndpoint) Hash(ctx context.Context, mailbox string, ids []string) (map[string]string, error) {
	h, err := e.Store.OpenMailbox(ctx, mailbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if _, err := e.sessionGUIDs(ctx, mailbox); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, id := range ids {
		m := e.resolve(mailbox, UIDGUID{GUID: id})
		if m.UID == 0 {
			continue
		}
		rd, err := h.Open(ctx, m.UID)
		if err != nil {
			continue
		}
		sum := sha256.New()
		_, err = io.Copy(sum, rd)
		rd.Close()
		if err == nil {
			out[id] = hex.EncodeToString(sum.Sum(nil))
		}
	}
	return out, nil
}

// capReader fails once more than left bytes were read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, fmt.Errorf("replicate: message over the size limit: %w", store.ErrTooBig)
	}
	return n, err
}

// Fetch implements Endpoint.
func (e *LocalEndpoint) Fetch(ctx context.Context, mailbox string, m UIDGUID) (io.ReadCloser, error) {
	h, err := e.Store.OpenMailbox(ctx, mailbox, store.OpenOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	m = e.resolve(mailbox, m)
	if err := checkGUID(ctx, h, m); err != nil {
		h.Close()
		return nil, err
	}
	rd, err := h.Open(ctx, m.UID)
	if err != nil {
		h.Close()
		return nil, err
	}
	return &handleReader{MessageReader: rd, h: h}, nil
}

type handleReader struct {
	store.MessageReader
	h store.Mailbox
}

func (r *handleReader) Close() error {
	err := r.MessageReader.Close()
	r.h.Close()
	return err
}

// checkGUID fails unless the message with m.UID has m.GUID.
func checkGUID(ctx context.Context, h store.Mailbox, m UIDGUID) error {
	found := ""
	err := h.Messages(ctx, store.UIDSetOf(m.UID), func(mi *store.MessageInfo) error {
		found = mi.GUID
		return nil
	})
	if err != nil {
		return err
	}
	if found != m.GUID {
		return fmt.Errorf("replicate: UID %d is not GUID %s: %w", m.UID, m.GUID, store.ErrNoSuchMessage)
	}
	return nil
}

// SetFlags implements Endpoint.
func (e *LocalEndpoint) SetFlags(ctx context.Context, mailbox string, changes []FlagChange) ([]uint32, error) {
	h, err := e.Store.OpenMailbox(ctx, mailbox, store.OpenOptions{})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var failed []uint32
	for _, c := range changes {
		m := e.resolve(mailbox, UIDGUID{c.UID, c.GUID})
		if checkGUID(ctx, h, m) != nil {
			failed = append(failed, c.UID)
			continue
		}
		_, f, err := h.SetFlags(ctx, store.UIDSetOf(m.UID), store.FlagsReplace, c.Flags, c.UnchangedSince)
		if err != nil {
			return nil, err
		}
		if len(f) > 0 {
			failed = append(failed, c.UID)
		}
	}
	return failed, nil
}

// Expunge implements Endpoint: each message whose GUID matches gets
// \Deleted and is expunged.
func (e *LocalEndpoint) Expunge(ctx context.Context, mailbox string, ms []UIDGUID) error {
	h, err := e.Store.OpenMailbox(ctx, mailbox, store.OpenOptions{})
	if err != nil {
		return err
	}
	defer h.Close()
	var set store.UIDSet
	var gone []string
	missing := 0
	for _, m := range ms {
		m = e.resolve(mailbox, m)
		if checkGUID(ctx, h, m) != nil {
			missing++
			continue
		}
		set.Add(m.UID)
		gone = append(gone, m.GUID)
	}
	if len(set) > 0 {
		if _, _, err := h.SetFlags(ctx, set, store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err != nil {
			return err
		}
		_, err = h.Expunge(ctx, set)
		if g := e.guids[mailbox]; g != nil && err == nil {
			for _, l := range gone {
				delete(g, l)
			}
		}
		if err != nil {
			return err
		}
	}
	if missing > 0 {
		// Someone else expunged them first (the user, during the
		// sync): the caller may have to undo a copy it made.
		return fmt.Errorf("%w: %d of %d messages already gone", store.ErrNoSuchMessage, missing, len(ms))
	}
	return nil
}

// SetUIDNext implements Endpoint.
func (e *LocalEndpoint) SetUIDNext(ctx context.Context, mailbox string, uidNext uint32) error {
	r, err := e.replica()
	if err != nil {
		return err
	}
	return r.ReplicaSetUIDNext(ctx, mailbox, uidNext)
}

// Renumber implements Endpoint.
func (e *LocalEndpoint) Renumber(ctx context.Context, mailbox string, uidValidity, uidNext uint32, uids map[string]uint32) error {
	r, err := e.replica()
	if err != nil {
		return err
	}
	delete(e.guids, mailbox)
	return r.ReplicaRenumber(ctx, mailbox, uidValidity, uidNext, uids)
}

// Commit implements Endpoint.
func (e *LocalEndpoint) Commit(ctx context.Context, gen uint64, subs []string, sieve *SieveBase, cs []Commit) error {
	if e.base == nil {
		return errors.New("replicate: commit without begin")
	}
	next := &State{Gen: gen, Subscriptions: subs, Sieve: sieve, Mailboxes: map[string]*MailboxState{}}
	for name, mb := range e.base.Mailboxes {
		next.Mailboxes[name] = mb
	}
	for _, c := range cs {
		if c.Gone {
			delete(next.Mailboxes, c.Mailbox)
			continue
		}
		st, err := e.Store.Status(ctx, c.Mailbox)
		if err != nil {
			delete(next.Mailboxes, c.Mailbox)
			continue
		}
		old := next.Mailboxes[c.Mailbox]
		var mb *MailboxState
		if old != nil && !c.Reset && old.UIDValidity == st.UIDValidity {
			// A copy that keeps the files of the old one: Save
			// appends only this commit's changes to the journal.
			// (The copy is O(messages) in memory, not on disk; it
			// replaced a change in place while a flake of
			// TestRandomConcurrentChangesConverge was hunted, which
			// it did not cure.)
			mb = &MailboxState{UIDValidity: old.UIDValidity, Msgs: make(map[string]BaseMsg, len(old.Msgs)),
				File: old.File, FileSize: old.FileSize, Journal: old.Journal, JournalLen: old.JournalLen, full: old.full, delta: old.delta}
			for g, b := range old.Msgs {
				mb.Msgs[g] = b
			}
			mb.SpecialUse = c.SpecialUse // in the header
		} else {
			mb = &MailboxState{UIDValidity: st.UIDValidity, SpecialUse: c.SpecialUse, Msgs: map[string]BaseMsg{}, full: true}
		}
		var rec journalRec
		for id, other := range c.Alias {
			if _, ok := e.guids[c.Mailbox][other]; ok {
				e.setAlias(c.Mailbox, id, other)
			}
		}
		for _, id := range c.Del {
			if l := e.local(c.Mailbox, id); hasKey(mb.Msgs, l) {
				delete(mb.Msgs, l)
				rec.Del = append(rec.Del, l)
			}
		}
		for id, b := range c.Put {
			l := e.local(c.Mailbox, id)
			if uid, ok := e.guids[c.Mailbox][l]; ok {
				b.UID = uid
			}
			b.ID = ""
			if l != id {
				b.ID = id
			}
			if x, ok := mb.Msgs[l]; !ok || x.UID != b.UID || x.ID != b.ID || !x.Flags.Equal(b.Flags) {
				mb.Msgs[l] = b
				if rec.Put == nil {
					rec.Put = map[string]BaseMsg{}
				}
				rec.Put[l] = b
			}
		}
		if !mb.full && (len(rec.Del) > 0 || len(rec.Put) > 0) {
			mb.delta = append(mb.delta, rec)
		}
		next.Mailboxes[c.Mailbox] = mb
	}
	if err := e.States.Save(e.Partner, e.User, next); err != nil {
		return err
	}
	e.base = next
	e.began = false
	return nil
}

func hasKey(m map[string]BaseMsg, k string) bool {
	_, ok := m[k]
	return ok
}

// normName makes INBOX's case canonical.
func normName(n string) string {
	if strings.EqualFold(n, "INBOX") {
		return "INBOX"
	}
	return n
}
