package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/yubinmail/yubin/store"
)

// Replicator keeps this server's users in step with the partner, as
// Dovecot's replicator process does: a queue of users with a priority
// each (sync > high > low), changes reported through Notify (see
// WatchBackend) synced within about a second, MaxConns users at a time,
// failed syncs retried with a growing delay, and every user synced again
// each FullSyncInterval.
type Replicator struct {
	// Backend opens users' stores; it must not be the WatchBackend that
	// reports to this Replicator.
	Backend store.Backend
	States  *StateStore
	Dialer  *Dialer
	// Partner names the partner in the state files (mail_replica).
	Partner string
	// Locks is shared with the Server, so a user is synced by one side
	// at a time.
	Locks *UserLocks
	// Sieve, when set, finds a user's Sieve script storage, so scripts
	// are synced too.
	Sieve SieveFunc
	// MaxConns is replication_max_conns (10 when 0).
	MaxConns int
	// FullSyncInterval is replication_full_sync_interval (1 day when 0).
	FullSyncInterval time.Duration
	// FailureRetry bounds the delay before a failed user is tried again
	// (5 minutes when 0, Dovecot's value); the delay starts at a second
	// and doubles per failure.
	FailureRetry time.Duration
	// Users lists the users to resync periodically besides those that
	// were notified (nil: only notified users).
	Users func(ctx context.Context) ([]string, error)
	// StatusFile, when set, receives the queue's state (JSON) after
	// changes, for `replicator status` from another process.
	StatusFile string
	Logger     *slog.Logger

	mu       sync.Mutex
	users    map[string]*userEntry
	wake     chan struct{}
	running  int
	statusAt time.Time
	once     sync.Once
}

type userEntry struct {
	Priority    Priority  `json:"priority"`
	QueuedAt    time.Time `json:"queued_at,omitzero"`
	LastFast    time.Time `json:"last_fast,omitzero"`
	LastFull    time.Time `json:"last_full,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFailed  time.Time `json:"last_failed,omitzero"`
	Failures    int       `json:"failures,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	ForceFull   bool      `json:"force_full,omitempty"`
	RetryAt     time.Time `json:"retry_at,omitzero"`

	running bool
}

func (r *Replicator) init() {
	r.once.Do(func() {
		r.users = map[string]*userEntry{}
		r.wake = make(chan struct{}, 1)
		if r.Locks == nil {
			r.Locks = &UserLocks{}
		}
	})
}

func (r *Replicator) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Notify queues a sync of user with at least priority p. It implements
// Notifier.
func (r *Replicator) Notify(user string, p Priority) {
	r.init()
	r.mu.Lock()
	u := r.users[user]
	if u == nil {
		u = &userEntry{}
		r.users[user] = u
	}
	if p > u.Priority {
		if u.Priority == PriorityNone {
			u.QueuedAt = time.Now()
		}
		u.Priority = p
	}
	r.mu.Unlock()
	r.kick()
}

// FullSync queues a full sync of user (doveadm replicator replicate -f).
func (r *Replicator) FullSync(user string) {
	r.init()
	r.mu.Lock()
	u := r.users[user]
	if u == nil {
		u = &userEntry{}
		r.users[user] = u
	}
	u.ForceFull = true
	r.mu.Unlock()
	r.kick()
}

func (r *Replicator) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run dispatches syncs until ctx ends, then waits for those running.
func (r *Replicator) Run(ctx context.Context) error {
	r.init()
	maxConns := r.MaxConns
	if maxConns <= 0 {
		maxConns = 10
	}
	full := r.FullSyncInterval
	if full <= 0 {
		full = 24 * time.Hour
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	lastList := time.Time{}
	for {
		if r.Users != nil && time.Since(lastList) >= full/4+time.Minute {
			lastList = time.Now()
			if us, err := r.Users(ctx); err == nil {
				r.mu.Lock()
				for _, u := range us {
					if r.users[u] == nil {
						r.users[u] = &userEntry{}
					}
				}
				r.mu.Unlock()
			}
		}
		r.mu.Lock()
		for r.running < maxConns {
			user, u := r.pick(time.Now(), full)
			if u == nil {
				break
			}
			u.running = true
			r.running++
			p, isFull := u.Priority, u.ForceFull || time.Since(u.LastFull) >= full
			u.Priority, u.ForceFull = PriorityNone, false
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := r.syncUser(ctx, user)
				r.done(user, p, isFull, err)
			}()
		}
		r.mu.Unlock()
		r.writeStatus(false)
		timer := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			timer.Stop()
			r.writeStatus(true)
			return nil
		case <-r.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// pick chooses the next user to sync (r.mu held): the highest priority,
// oldest first; then a failed user whose retry time came; then a user
// whose full sync is due.
func (r *Replicator) pick(now time.Time, full time.Duration) (string, *userEntry) {
	var best string
	var bu *userEntry
	rank := func(u *userEntry) (int, time.Time) {
		switch {
		case !u.RetryAt.IsZero() && now.Before(u.RetryAt):
			return 0, time.Time{}
		case u.Priority > PriorityNone:
			return 10 + int(u.Priority), u.QueuedAt
		case u.Failures > 0:
			return 5, u.LastFailed
		case u.ForceFull || now.Sub(u.LastFull) >= full:
			return 1, u.LastFull
		}
		return 0, time.Time{}
	}
	bestRank, bestAt := 0, time.Time{}
	for name, u := range r.users {
		if u.running {
			continue
		}
		rk, at := rank(u)
		if rk == 0 {
			continue
		}
		if rk > bestRank || (rk == bestRank && (at.Before(bestAt) || (at.Equal(bestAt) && name < best))) {
			best, bu, bestRank, bestAt = name, u, rk, at
		}
	}
	return best, bu
}

func (r *Replicator) done(user string, p Priority, full bool, err error) {
	r.mu.Lock()
	u := r.users[user]
	u.running = false
	r.running--
	now := time.Now()
	u.LastFast = now
	if full {
		u.LastFull = now
	}
	switch {
	case err == nil:
		u.LastSuccess, u.Failures, u.LastError, u.RetryAt = now, 0, "", time.Time{}
	case errors.Is(err, ErrBusy):
		// The partner is syncing this user toward us: try again soon.
		if p > u.Priority {
			u.Priority = p
		}
		u.RetryAt = now.Add(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		r.log().Debug("replicate: user busy; retrying", "user", user)
	default:
		u.Failures++
		u.LastFailed, u.LastError = now, err.Error()
		retry := r.FailureRetry
		if retry <= 0 {
			retry = 5 * time.Minute
		}
		d := time.Second << min(u.Failures-1, 20)
		u.RetryAt = now.Add(min(d, retry))
		if p > u.Priority {
			u.Priority = p
		}
		r.log().Warn("replicate: sync failed", "user", user, "failures", u.Failures, "err", err)
	}
	r.mu.Unlock()
	r.kick()
}

// syncUser runs one sync of user with the partner.
func (r *Replicator) syncUser(ctx context.Context, user string) error {
	if !r.Locks.TryLock(user) {
		return ErrBusy
	}
	defer r.Locks.Unlock(user)
	st, err := r.Backend.Open(ctx, user)
	if err != nil {
		return err
	}
	defer st.Close()
	remote, err := r.Dialer.Dial(ctx, user)
	if err != nil {
		return err
	}
	defer remote.Close()
	local := &LocalEndpoint{Store: st, States: r.States, Partner: r.Partner, User: user}
	if r.Sieve != nil {
		if local.Sieve, err = r.Sieve(ctx, user); err != nil {
			r.log().Warn("replicate: Sieve storage not found; scripts not synced", "user", user, "err", err)
		}
	}
	stats, err := (&Syncer{Logger: r.log().With("user", user)}).Sync(ctx, local, remote)
	if err == nil && stats.Copied+stats.Expunged+stats.FlagUpdates+stats.Renumbered > 0 {
		r.log().Debug("replicate: synced", "user", user, "copied", stats.Copied, "expunged", stats.Expunged, "flags", stats.FlagUpdates, "renumbered", stats.Renumbered)
	}
	return err
}

// UserStatus is one user's line of `replicator status USER`.
type UserStatus struct {
	User        string
	Priority    Priority
	LastFast    time.Time
	LastFull    time.Time
	LastSuccess time.Time
	Failed      bool
	LastError   string
}

// Overview counts the queues as `doveadm replicator status` prints
// them.
type Overview struct {
	Sync, High, Low, Failed, FullResync, WaitingFailed, Users int
}

// Snapshot is the Replicator's state for status output.
type Snapshot struct {
	Time  time.Time             `json:"time"`
	Users map[string]*userEntry `json:"users"`
}

// Snapshot returns the queue's state.
func (r *Replicator) Snapshot() Snapshot {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Snapshot{Time: time.Now(), Users: make(map[string]*userEntry, len(r.users))}
	for n, u := range r.users {
		c := *u
		s.Users[n] = &c
	}
	return s
}

// Overview counts the queues of a snapshot; full is the full sync
// interval.
func (s Snapshot) Overview(full time.Duration) Overview {
	if full <= 0 {
		full = 24 * time.Hour
	}
	var o Overview
	for _, u := range s.Users {
		o.Users++
		switch {
		case u.Priority == PrioritySync:
			o.Sync++
		case u.Priority == PriorityHigh:
			o.High++
		case u.Priority == PriorityLow:
			o.Low++
		case u.Failures > 0 && !s.Time.Before(u.RetryAt):
			o.Failed++
		case u.Failures > 0:
			o.WaitingFailed++
		case u.ForceFull || s.Time.Sub(u.LastFull) >= full:
			o.FullResync++
		}
	}
	return o
}

// UserStatuses lists the users whose names match mask (a Dovecot
// wildcard: * and ?), sorted.
func (s Snapshot) UserStatuses(mask string) []UserStatus {
	var out []UserStatus
	for n, u := range s.Users {
		if mask != "" && !wildcardMatch(mask, n) {
			continue
		}
		out = append(out, UserStatus{User: n, Priority: u.Priority, LastFast: u.LastFast, LastFull: u.LastFull, LastSuccess: u.LastSuccess, Failed: u.Failures > 0, LastError: u.LastError})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}

func wildcardMatch(pat, s string) bool {
	if pat == "" {
		return s == ""
	}
	switch pat[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcardMatch(pat[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcardMatch(pat[1:], s[1:])
	}
	return s != "" && s[0] == pat[0] && wildcardMatch(pat[1:], s[1:])
}

// writeStatus writes StatusFile, at most once a second unless force.
func (r *Replicator) writeStatus(force bool) {
	if r.StatusFile == "" {
		return
	}
	if !force && time.Since(r.statusAt) < time.Second {
		return
	}
	r.statusAt = time.Now()
	b, err := json.Marshal(r.Snapshot())
	if err != nil {
		return
	}
	tmp := r.StatusFile + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, r.StatusFile)
	}
}

// ReadStatusFile reads what a running Replicator wrote to StatusFile.
func ReadStatusFile(path string) (Snapshot, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return Snapshot{}, err
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return Snapshot{}, err
	}
	if s.Users == nil {
		s.Users = map[string]*userEntry{}
	}
	return s, nil
}
