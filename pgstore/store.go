package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/store"
)

// Store is one user's mailbox tree in the database. It holds no state
// beyond the user's id, so any number of Stores (in any process) may be
// open on one user.
type Store struct {
	b      *Backend
	user   string
	userID int64
}

var _ store.Store = (*Store)(nil)

// checkName validates and canonicalises a mailbox name.
func checkName(name string) (string, error) {
	if err := store.ValidateName(name); err != nil {
		return "", err
	}
	return store.CanonicalName(name), nil
}

// ListMailboxes implements store.Store.
func (s *Store) ListMailboxes(ctx context.Context) ([]store.MailboxInfo, error) {
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	rows, err := s.b.pool.Query(ctx, `SELECT name, special_use FROM pgstore_mailboxes WHERE user_id = $1`, s.userID)
	if err != nil {
		return nil, dbErr("list", err)
	}
	real := map[string]string{}
	for rows.Next() {
		var n, su string
		if err := rows.Scan(&n, &su); err != nil {
			rows.Close()
			return nil, dbErr("list", err)
		}
		real[n] = su
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list", err)
	}
	subs, err := s.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	subscribed := map[string]bool{}
	for _, n := range subs {
		subscribed[n] = true
	}
	all := map[string]*store.MailboxInfo{}
	for n, su := range real {
		all[n] = &store.MailboxInfo{Name: n, SpecialUse: su}
	}
	for n := range real {
		for i := strings.LastIndexByte(n, '/'); i > 0; i = strings.LastIndexByte(n[:i], '/') {
			p := n[:i]
			if all[p] == nil {
				all[p] = &store.MailboxInfo{Name: p, NoSelect: true}
			}
			all[p].HasChildren = true
		}
	}
	out := make([]store.MailboxInfo, 0, len(all))
	for _, mi := range all {
		mi.Subscribed = subscribed[mi.Name]
		out = append(out, *mi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateMailbox implements store.Store. Parents are not stored: a
// name's missing parents are listed as \Noselect.
func (s *Store) CreateMailbox(ctx context.Context, name string, opts store.CreateOptions) error {
	name, err := checkName(name)
	if err != nil {
		return err
	}
	if opts.SpecialUse != "" && !store.IsSpecialUse(opts.SpecialUse) {
		return fmt.Errorf("pgstore: special use %q: %w", opts.SpecialUse, store.ErrNotAllowed)
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	err = pgx.BeginFunc(ctx, s.b.pool, func(tx pgx.Tx) error {
		return createMailboxTx(ctx, tx, s.userID, name, opts.SpecialUse)
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("pgstore: %q: %w", name, store.ErrMailboxExists)
	}
	return dbErr("create mailbox", err)
}

// DeleteMailbox implements store.Store. Its messages go with it (their
// bodies are collected later); children stay, under a \Noselect parent.
func (s *Store) DeleteMailbox(ctx context.Context, name string) error {
	name, err := checkName(name)
	if err != nil {
		return err
	}
	if name == store.Inbox {
		return fmt.Errorf("pgstore: INBOX: %w", store.ErrNotAllowed)
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	var id int64
	err = pgx.BeginFunc(ctx, s.b.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `DELETE FROM pgstore_mailboxes WHERE user_id = $1 AND name = $2 RETURNING id`, s.userID, name).Scan(&id); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("pgstore: %q: %w", name, store.ErrNoSuchMailbox)
			}
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, notifyPayload(id, 0))
		return err
	})
	return dbErr("delete mailbox", err)
}

// RenameMailbox implements store.Store. A mailbox keeps its id,
// UIDVALIDITY and messages under the new name; handles open on it see
// store.ChangeDeleted. Renaming INBOX moves its rows to the new name
// and creates a fresh, empty INBOX with a new UIDVALIDITY.
func (s *Store) RenameMailbox(ctx context.Context, oldName, newName string) error {
	oldName, err := checkName(oldName)
	if err != nil {
		return err
	}
	newName, err = checkName(newName)
	if err != nil {
		return err
	}
	if newName == store.Inbox || strings.HasPrefix(newName, oldName+"/") {
		return fmt.Errorf("pgstore: rename %q to %q: %w", oldName, newName, store.ErrNotAllowed)
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	err = pgx.BeginFunc(ctx, s.b.pool, func(tx pgx.Tx) error {
		// The user's row lock serialises renames of one user.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM pgstore_users WHERE id = $1 FOR UPDATE`, s.userID); err != nil {
			return err
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pgstore_mailboxes WHERE user_id = $1
			AND (name = $2 OR left(name, length($2) + 1) = $2 || '/'))`, s.userID, newName).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("pgstore: %q: %w", newName, store.ErrMailboxExists)
		}
		if oldName == store.Inbox {
			return renameInboxTx(ctx, tx, s.userID, newName)
		}
		rows, err := tx.Query(ctx, `UPDATE pgstore_mailboxes SET name = $3 || substr(name, length($2) + 1)
			WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/') RETURNING id`,
			s.userID, oldName, newName)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return fmt.Errorf("pgstore: %q: %w", oldName, store.ErrNoSuchMailbox)
		}
		for _, id := range ids {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, notifyPayload(id, 0)); err != nil {
				return err
			}
		}
		return nil
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("pgstore: %q: %w", newName, store.ErrMailboxExists)
	}
	return dbErr("rename mailbox", err)
}

// renameInboxTx moves INBOX's messages, counters and UIDVALIDITY to a
// new mailbox newName and gives INBOX (same id, so open handles stay on
// it) a new UIDVALIDITY: its handles see store.ChangeUIDValidity.
func renameInboxTx(ctx context.Context, tx pgx.Tx, userID int64, newName string) error {
	var inbox int64
	if err := tx.QueryRow(ctx, `SELECT id FROM pgstore_mailboxes WHERE user_id = $1 AND name = 'INBOX' FOR UPDATE`, userID).Scan(&inbox); err != nil {
		return err
	}
	if err := createMailboxTx(ctx, tx, userID, newName, ""); err != nil {
		return err
	}
	var moved int64
	err := tx.QueryRow(ctx, `UPDATE pgstore_mailboxes n SET uidvalidity = i.uidvalidity, uidnext = i.uidnext,
		highestmodseq = i.highestmodseq, messages = i.messages, size = i.size
		FROM pgstore_mailboxes i WHERE i.id = $2 AND n.user_id = $1 AND n.name = $3 RETURNING n.id`, userID, inbox, newName).Scan(&moved)
	if err != nil {
		return err
	}
	var uv int64
	if err := tx.QueryRow(ctx, `UPDATE pgstore_users SET last_uidvalidity =
		greatest(last_uidvalidity + 1, extract(epoch FROM now())::bigint) WHERE id = $1 RETURNING last_uidvalidity`, userID).Scan(&uv); err != nil {
		return err
	}
	for _, q := range []string{
		`UPDATE pgstore_messages SET mailbox_id = $2 WHERE mailbox_id = $1`,
		`UPDATE pgstore_journal SET mailbox_id = $2 WHERE mailbox_id = $1`,
	} {
		if _, err := tx.Exec(ctx, q, inbox, moved); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE pgstore_mailboxes SET uidvalidity = $2, uidnext = 1, messages = 0, size = 0,
		highestmodseq = highestmodseq + 1, journal_floor = highestmodseq + 1 WHERE id = $1`, inbox, uv); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, notifyPayload(inbox, 0))
	return err
}

// Subscribe implements store.Store.
func (s *Store) Subscribe(ctx context.Context, name string) error {
	name, err := checkName(name)
	if err != nil {
		return err
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	_, err = s.b.pool.Exec(ctx, `INSERT INTO pgstore_subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, s.userID, name)
	return dbErr("subscribe", err)
}

// Unsubscribe implements store.Store.
func (s *Store) Unsubscribe(ctx context.Context, name string) error {
	name, err := checkName(name)
	if err != nil {
		return err
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	_, err = s.b.pool.Exec(ctx, `DELETE FROM pgstore_subscriptions WHERE user_id = $1 AND name = $2`, s.userID, name)
	return dbErr("unsubscribe", err)
}

// Subscriptions implements store.Store.
func (s *Store) Subscriptions(ctx context.Context) ([]string, error) {
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	rows, err := s.b.pool.Query(ctx, `SELECT name FROM pgstore_subscriptions WHERE user_id = $1 ORDER BY name`, s.userID)
	if err != nil {
		return nil, dbErr("subscriptions", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, dbErr("subscriptions", err)
}

// mailboxRow is a mailbox's row.
type mailboxRow struct {
	id            int64
	name          string
	uidValidity   uint32
	uidNext       uint32
	highestModSeq uint64
	messages      int64
	size          int64
}

func (s *Store) lookup(ctx context.Context, q pgx.Tx, name string) (mailboxRow, error) {
	var r mailboxRow
	var uv, un int64
	var hms int64
	var err error
	const sql = `SELECT id, name, uidvalidity, uidnext, highestmodseq, messages, size FROM pgstore_mailboxes WHERE user_id = $1 AND name = $2`
	if q != nil {
		err = q.QueryRow(ctx, sql, s.userID, name).Scan(&r.id, &r.name, &uv, &un, &hms, &r.messages, &r.size)
	} else {
		err = s.b.pool.QueryRow(ctx, sql, s.userID, name).Scan(&r.id, &r.name, &uv, &un, &hms, &r.messages, &r.size)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("pgstore: %q: %w", name, store.ErrNoSuchMailbox)
	}
	r.uidValidity, r.uidNext, r.highestModSeq = uint32(uv), uint32(un), uint64(hms)
	return r, err
}

// Status implements store.Store.
func (s *Store) Status(ctx context.Context, name string) (store.MailboxStatus, error) {
	name, err := checkName(name)
	if err != nil {
		return store.MailboxStatus{}, err
	}
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	r, err := s.lookup(ctx, nil, name)
	if err != nil {
		return store.MailboxStatus{}, dbErr("status", err)
	}
	st := store.MailboxStatus{UIDValidity: r.uidValidity, UIDNext: r.uidNext, HighestModSeq: r.highestModSeq,
		Messages: uint32(r.messages), Size: r.size}
	var unseen, deleted, recent int64
	err = s.b.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE flags & $2 = 0), count(*) FILTER (WHERE flags & $3 <> 0),
		count(*) FILTER (WHERE uid > (SELECT recent_upto FROM pgstore_mailboxes WHERE id = $1))
		FROM pgstore_messages WHERE mailbox_id = $1`, r.id, int32(store.Seen), int32(store.Deleted)).Scan(&unseen, &deleted, &recent)
	st.Unseen, st.Deleted, st.Recent = uint32(unseen), uint32(deleted), uint32(recent)
	return st, dbErr("status", err)
}

// Quota implements store.Store: the user's bytes and messages over all
// mailboxes, with the Backend's limits.
func (s *Store) Quota(ctx context.Context) (store.Quota, error) {
	ctx, cancel := s.b.opCtx(ctx)
	defer cancel()
	q, err := s.usage(ctx, s.b.pool)
	return q, dbErr("quota", err)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) usage(ctx context.Context, q querier) (store.Quota, error) {
	qt := store.Quota{StorageLimit: s.b.opts.QuotaStorage, MessagesLimit: s.b.opts.QuotaMessages}
	err := q.QueryRow(ctx, `SELECT coalesce(sum(size), 0)::bigint, coalesce(sum(messages), 0)::bigint FROM pgstore_mailboxes WHERE user_id = $1`,
		s.userID).Scan(&qt.StorageUsed, &qt.MessagesUsed)
	return qt, err
}

// Close implements store.Store; a Store holds nothing.
func (s *Store) Close() error { return nil }
