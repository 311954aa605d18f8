package main

import (
	"io"

	"github.com/yubinmail/yubin/internal/spool"
)

// A message is read whole before it is delivered (to every final
// address, perhaps over LMTP). Up to spoolMemory bytes it stays in
// memory; a larger one goes to an unlinked file in data_directory/tmp.
// Delivery writes and syncs each copy, so the spool itself need not be
// durable. Keeping small messages off the disk also spares a file
// creation and removal per message.
const spoolMemory = 256 << 10

// spoolMessage reads msg into a spool.
func (h *host) spoolMessage(msg io.Reader) (*spool.Spool, error) {
	sp := spool.New(spoolMemory, h.spoolDir())
	if _, err := io.Copy(sp, msg); err != nil {
		sp.Close()
		return nil, err
	}
	return sp, nil
}
