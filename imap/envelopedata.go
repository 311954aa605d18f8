package imap

import (
	"bytes"
	"errors"

	"github.com/yubinmail/yubin/imap/imapmsg"
	"github.com/yubinmail/yubin/store"
)

// EnvelopeDataName is the store.MessageDataStore name under which the
// server keeps a message's ENVELOPE as it sends it (RFC 9051 7.5.2,
// without the item name), so that FETCH ENVELOPE of a message answered
// once, by any process, reads no message file again, as Dovecot answers
// it from its cache. A change of encoding changes the name.
const EnvelopeDataName = "imap.envelope.1"

// maxEnvelopeData bounds a stored envelope the server sends as is.
const maxEnvelopeData = 256 << 10

// envelopeData is the ENVELOPE of a message with header h, as sent.
func envelopeData(h imapmsg.Header) []byte {
	var b bytes.Buffer
	(&imapmsg.Message{Root: &imapmsg.Part{Header: h}}).WriteEnvelope(&b)
	return b.Bytes()
}

// validEnvelopeData reports whether stored data can be sent as an
// ENVELOPE: a parenthesised list of bounded size (anything else is
// read from the message again).
func validEnvelopeData(b []byte) bool {
	return len(b) >= 2 && len(b) <= maxEnvelopeData && b[0] == '(' && b[len(b)-1] == ')'
}

// storedEnvelopes returns the envelopes the store keeps for set, or nil
// when the mailbox keeps no message data.
func (c *conn) storedEnvelopes(set store.UIDSet) map[uint32][]byte {
	ds, ok := c.sel.mb.(store.MessageDataStore)
	if !ok {
		return nil
	}
	envs := map[uint32][]byte{}
	err := ds.MessageData(c.ctx(), set, EnvelopeDataName, func(uid uint32, data []byte) error {
		if validEnvelopeData(data) {
			envs[uid] = bytes.Clone(data)
		}
		return nil
	})
	if err != nil {
		c.log.Debug("imap: reading stored envelopes", "err", err)
	}
	return envs
}

// writeEnvelope writes a FETCH ENVELOPE item for m from the stored
// envelopes, else from the message's structure, and then keeps it in
// the store; it reports false when neither is at hand.
func (f *fetcher) writeEnvelope(msg *message, uid uint32) (bool, error) {
	c := f.c
	if env, ok := f.envelopes[uid]; ok {
		c.w.str("ENVELOPE ")
		c.w.Write(env)
		return true, nil
	}
	if msg == nil {
		return false, nil
	}
	p, err := msg.structure()
	if err != nil {
		return false, err
	}
	env := envelopeData(p.Root.Header)
	c.w.str("ENVELOPE ")
	c.w.Write(env)
	if f.envelopes != nil {
		ds := c.sel.mb.(store.MessageDataStore)
		if err := ds.SetMessageData(c.ctx(), uid, EnvelopeDataName, env); err != nil && !errors.Is(err, store.ErrNoSuchMessage) {
			c.log.Debug("imap: storing envelope", "err", err)
		}
	}
	return true, nil
}
