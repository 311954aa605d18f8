package queue

import (
	"context"
	"io"

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
