package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// routedStores sends each user to the backend their mail location
// names, as Dovecot reads a per-user mail field: pgsql:CONNSTRING to a
// pgstore backend on that database (one per database, shared by its
// users), anything else to the file formats (Maildir, sdbox, mbox). So
// one server can keep some users in PostgreSQL and others on disk, and
// users can be moved from one to the other one by one.
type routedStores struct {
	files mailBackend
	users *users
	c     *config.Config
	log   *slog.Logger

	mu sync.Mutex
	pg map[string]*pgstore.Backend // by mail location
}

// Open implements store.Backend. pgstore users are keyed by the
// userdb's canonical name.
func (r *routedStores) Open(ctx context.Context, user string) (store.Store, error) {
	usr, err := r.users.LookupUser(ctx, user)
	if errors.Is(err, auth.ErrUnknownUser) {
		return nil, store.ErrNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	loc := userMailLocation(usr)
	if !isPgsqlLocation(loc) {
		return r.files.Open(ctx, user)
	}
	b, err := r.pgBackend(ctx, loc)
	if err != nil {
		r.log.Error("pgsql mail location unusable", "user", usr.Name, "err", err)
		return nil, fmt.Errorf("user %s: %w", usr.Name, store.ErrTemporary)
	}
	return b.Open(ctx, usr.Name)
}

// pgBackend returns the backend of a pgsql: location, connecting it on
// first use. A failed connection is not kept: the next user tries again.
func (r *routedStores) pgBackend(ctx context.Context, loc string) (*pgstore.Backend, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.pg[loc]; b != nil {
		return b, nil
	}
	if err := checkPgsqlLocation(loc); err != nil {
		return nil, err
	}
	b, err := openPgstore(ctx, r.c, loc, r.log)
	if err != nil {
		return nil, err
	}
	r.pg[loc] = b
	return b, nil
}

// SyncDeliveries implements store.DeliverySyncer for the queue's
// deliveries: the file formats' group commit and every database's,
// at once.
func (r *routedStores) SyncDeliveries(ctx context.Context) error {
	r.mu.Lock()
	syncers := make([]store.DeliverySyncer, 0, len(r.pg)+1)
	if s, ok := r.files.(store.DeliverySyncer); ok {
		syncers = append(syncers, s)
	}
	for _, b := range r.pg {
		syncers = append(syncers, b)
	}
	r.mu.Unlock()
	errs := make([]error, len(syncers))
	var wg sync.WaitGroup
	for i, s := range syncers {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.SyncDeliveries(ctx) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close closes every backend.
func (r *routedStores) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := []error{r.files.Close()}
	for _, b := range r.pg {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}
