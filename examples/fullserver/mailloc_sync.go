package main

import (
	"context"
	"errors"
)

// SyncDeliveries makes the queue's unsynced deliveries durable in both
// formats (store.DeliverySyncer), the two group commits at once.
func (m *mailStores) SyncDeliveries(ctx context.Context) error {
	sdboxErr := make(chan error, 1)
	go func() { sdboxErr <- m.sdbox.SyncDeliveries(ctx) }()
	err := m.Backend.SyncDeliveries(ctx)
	return errors.Join(err, <-sdboxErr)
}
