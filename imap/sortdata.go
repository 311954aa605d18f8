package imap

import (
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/yubinmail/yubin/imap/imapmsg"
	"github.com/yubinmail/yubin/store"
)

// SortKeysDataName is the store.MessageDataStore name under which the
// server keeps a message's SORT and THREAD keys (the header fields they
// compare, already reduced: base subject, first mailboxes, display
// names, dates, message ids), so that they are read from a message once
// per content instead of once per process. The encoding is the
// server's own; a change of encoding changes the name.
const SortKeysDataName = "imap.sortkeys.1"

// DeriveMessageData computes, from a message's bytes, the data the
// server keeps through store.MessageDataStore (the SORT/THREAD keys
// under SortKeysDataName and the ENVELOPE under EnvelopeDataName). It has the shape of pgstore's
// Options.Derive, so a store can compute them at append time and the
// first SORT of a mailbox reads no message.
func DeriveMessageData(r io.ReaderAt, size int64) (map[string][]byte, error) {
	h, err := imapmsg.ReadHeader(r, size, imapmsg.Limits{})
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		SortKeysDataName: encodeSortKeys(nil, imapmsg.SortKeysOf(h)),
		EnvelopeDataName: envelopeData(h),
	}, nil
}

// Encoding of SortKeysDataName: flags byte (1: has date, 2: reply or
// forward), the date as a zig-zag varint of Unix seconds, then Subject,
// From, To, Cc, DisplayFrom, DisplayTo, MessageID each as a uvarint
// length and bytes, then the count of References and each as above.

const (
	sortDataHasDate = 1 << iota
	sortDataReply
)

// maxSortDataString bounds one string of encoded sort keys.
const maxSortDataString = 64 << 10

func encodeSortKeys(b []byte, k *imapmsg.SortKeys) []byte {
	var fl byte
	var date int64
	if k.HasDate {
		fl |= sortDataHasDate
		date = k.Date.Unix()
	}
	if k.ReplyOrFwd {
		fl |= sortDataReply
	}
	b = append(b, fl)
	b = binary.AppendVarint(b, date)
	for _, s := range []string{k.Subject, k.From, k.To, k.Cc, k.DisplayFrom, k.DisplayTo, k.MessageID} {
		b = appendSortString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(k.References)))
	for _, r := range k.References {
		b = appendSortString(b, r)
	}
	return b
}

func appendSortString(b []byte, s string) []byte {
	if len(s) > maxSortDataString {
		s = s[:maxSortDataString]
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errSortData = errors.New("imap: malformed stored sort keys")

// decodeSortKeys reads what encodeSortKeys wrote; anything else is an
// error (the caller reads the message instead).
func decodeSortKeys(b []byte) (*imapmsg.SortKeys, error) {
	if len(b) < 2 {
		return nil, errSortData
	}
	k := &imapmsg.SortKeys{}
	fl := b[0]
	if fl&^(sortDataHasDate|sortDataReply) != 0 {
		return nil, errSortData
	}
	date, n := binary.Varint(b[1:])
	if n <= 0 {
		return nil, errSortData
	}
	b = b[1+n:]
	if fl&sortDataHasDate != 0 {
		k.Date, k.HasDate = time.Unix(date, 0).UTC(), true
	}
	k.ReplyOrFwd = fl&sortDataReply != 0
	// One string holds every field's bytes: one allocation, not one
	// per field.
	all := string(b)
	at := 0
	str := func() (string, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > maxSortDataString || l > uint64(len(b)-n) {
			return "", false
		}
		at += n
		s := all[at : at+int(l)]
		at += int(l)
		b = b[n+int(l):]
		return s, true
	}
	for _, p := range []*string{&k.Subject, &k.From, &k.To, &k.Cc, &k.DisplayFrom, &k.DisplayTo, &k.MessageID} {
		s, ok := str()
		if !ok {
			return nil, errSortData
		}
		*p = s
	}
	cnt, n := binary.Uvarint(b)
	if n <= 0 || cnt > imapmsg.MaxReferences {
		return nil, errSortData
	}
	b = b[n:]
	at += n
	if cnt > 0 {
		k.References = make([]string, cnt)
		for i := range k.References {
			s, ok := str()
			if !ok {
				return nil, errSortData
			}
			k.References[i] = s
		}
	}
	if len(b) != 0 {
		return nil, errSortData
	}
	return k, nil
}

// storedSortKeys fills keys[i] for the messages of uids (ascending) whose
// keys the store keeps, when it keeps message data.
func (c *conn) storedSortKeys(uids []uint32, keys []*imapmsg.SortKeys) {
	ds, ok := c.sel.mb.(store.MessageDataStore)
	if !ok || len(uids) == 0 {
		return
	}
	set := store.UIDSet{}
	for _, u := range uids {
		set.Add(u)
	}
	j := 0
	err := ds.MessageData(c.ctx(), set, SortKeysDataName, func(uid uint32, data []byte) error {
		for j < len(uids) && uids[j] < uid {
			j++
		}
		if j == len(uids) || uids[j] != uid {
			return nil
		}
		if k, err := decodeSortKeys(data); err == nil {
			keys[j] = k
		}
		return nil
	})
	if err != nil {
		c.log.Debug("imap: reading stored sort keys", "err", err)
	}
}

// storeSortKeys keeps a message's keys in the store, when it keeps
// message data.
func (c *conn) storeSortKeys(uid uint32, k *imapmsg.SortKeys) {
	if ds, ok := c.sel.mb.(store.MessageDataStore); ok {
		if err := ds.SetMessageData(c.ctx(), uid, SortKeysDataName, encodeSortKeys(nil, k)); err != nil && !errors.Is(err, store.ErrNoSuchMessage) {
			c.log.Debug("imap: storing sort keys", "err", err)
		}
	}
}
