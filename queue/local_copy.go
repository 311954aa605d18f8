package queue

import (
	"context"
	"io"
	"sync"

	"github.com/yubinmail/yubin/lmtp"
)

// SavingDeliverer is an lmtp.Deliverer that also names what it saved a
// recipient's copy into ("maildir", "sdbox", "mailbox"), for the
// "delivered to ..." of the log line. LocalTransport prefers it to
// SavedTo: the deliverer has looked the user up already, SavedTo may
// have to look it up again.
type SavingDeliverer interface {
	lmtp.Deliverer
	// DeliverSaved is Deliver; on success it also returns what the
	// copy was saved into, "" when it cannot say (SavedTo then decides).
	DeliverSaved(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) (savedTo string, err error)
}

// copyBufs recycles the buffers a local copy is written through: a
// delivery that copied with io.Copy allocated 32 KiB per message.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// prefixedReader is a local copy's content: the delivery's own header
// fields (Return-Path, Delivered-To), then the queued message. Unlike
// io.MultiReader its WriteTo copies through a recycled buffer.
type prefixedReader struct {
	prefix string
	off    int
	r      io.Reader
}

func (p *prefixedReader) Read(b []byte) (int, error) {
	if p.off < len(p.prefix) {
		n := copy(b, p.prefix[p.off:])
		p.off += n
		return n, nil
	}
	return p.r.Read(b)
}

// WriteTo writes what is left of the prefix, then the message.
func (p *prefixedReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if p.off < len(p.prefix) {
		n, err := io.WriteString(w, p.prefix[p.off:])
		p.off += n
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	// Neither side's ReaderFrom or WriterTo: they would bring their own
	// buffer.
	n, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{p.r}, *bp)
	return total + n, err
}
