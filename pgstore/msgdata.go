package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/yubinmail/yubin/store"
)

var _ store.MessageDataStore = (*Mailbox)(nil)

// maxDataName bounds a derived-data name.
const maxDataName = 64

func checkDataName(name string) error {
	if name == "" || len(name) > maxDataName {
		return fmt.Errorf("pgstore: message data name %q: empty or over %d bytes", name, maxDataName)
	}
	for i := 0; i < len(name); i++ {
		if name[i] <= 0x20 || name[i] >= 0x7f {
			return fmt.Errorf("pgstore: message data name %q: not printable ASCII", name)
		}
	}
	return nil
}

// deriveData runs Options.Derive on a spooled body and returns the
// data to keep (nil when there are none or Derive failed, which is
// logged: the message is stored without them).
func (b *Backend) deriveData(sp *spooled) map[string][]byte {
	data, err := b.opts.Derive(sp.readerAt(), sp.size)
	if err != nil {
		b.log.Warn("pgstore: deriving message data", "err", err)
		return nil
	}
	for name := range data {
		if checkDataName(name) != nil {
			delete(data, name)
		}
	}
	return data
}

// insertBodyDataSQL keeps one derived datum of a body, by content key
// (a body delivered or copied again reuses it).
const insertBodyDataSQL = `INSERT INTO pgstore_body_data (key, name, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`

// derive runs Options.Derive on a spooled body and keeps what it
// returns, by content key, in a transaction of its own with an
// asynchronous commit: the data can be derived again, so they are not
// worth a WAL flush of their own (a delivery batch stores its
// deliveries' data in its own transaction instead).
func (b *Backend) derive(ctx context.Context, sp *spooled) {
	data := b.deriveData(sp)
	if len(data) == 0 {
		return
	}
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN`)
	batch.Queue(`SET LOCAL synchronous_commit = off`)
	for name, d := range data {
		batch.Queue(insertBodyDataSQL, sp.key, name, d)
	}
	batch.Queue(`COMMIT`)
	if err := b.pool.SendBatch(ctx, batch).Close(); err != nil {
		b.log.Warn("pgstore: storing derived message data", "err", err)
	}
}

// maxUIDArray is the most UIDs MessageData sends to PostgreSQL as a
// list; more are asked for by range.
const maxUIDArray = 1024

// MessageData implements store.MessageDataStore.
func (m *Mailbox) MessageData(ctx context.Context, uids store.UIDSet, name string, fn func(uid uint32, data []byte) error) error {
	if err := m.usable(false); err != nil {
		return err
	}
	if err := checkDataName(name); err != nil {
		return err
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	if err := m.load(ctx); err != nil {
		return err
	}
	target := m.viewUIDs(uids)
	if len(target) == 0 {
		return nil
	}
	var rows pgx.Rows
	var err error
	if len(target) <= maxUIDArray {
		rows, err = m.b.pool.Query(ctx, `SELECT m.uid, d.data FROM pgstore_messages m
		JOIN pgstore_body_data d ON d.key = m.blob_key AND d.name = $3
		WHERE m.mailbox_id = $1 AND m.uid = ANY($2) ORDER BY m.uid`, m.id, target, name)
	} else {
		// Many UIDs (SORT of a whole mailbox): their range, without
		// sending the list; rows outside the view are skipped below.
		rows, err = m.b.pool.Query(ctx, `SELECT m.uid, d.data FROM pgstore_messages m
		JOIN pgstore_body_data d ON d.key = m.blob_key AND d.name = $4
		WHERE m.mailbox_id = $1 AND m.uid BETWEEN $2 AND $3 ORDER BY m.uid`, m.id, target[0], target[len(target)-1], name)
	}
	if err != nil {
		return dbErr("message data", err)
	}
	defer rows.Close()
	next := 0 // rows and target both ascend
	for rows.Next() {
		// The raw values, without Scan's copy: fn may not keep data (the
		// MessageDataStore contract), and a whole-mailbox SORT reads
		// 100,000 rows here.
		raw := rows.RawValues()
		if len(raw) != 2 || len(raw[0]) != 8 {
			return dbErr("message data", fmt.Errorf("pgstore: unexpected message data row"))
		}
		uid := int64(binary.BigEndian.Uint64(raw[0]))
		for next < len(target) && target[next] < uid {
			next++
		}
		if next == len(target) || target[next] != uid {
			continue
		}
		if err := fn(uint32(uid), raw[1]); err != nil {
			return err
		}
	}
	return dbErr("message data", rows.Err())
}

// SetMessageData implements store.MessageDataStore. The data are kept
// by content, so every copy of the message shares them.
func (m *Mailbox) SetMessageData(ctx context.Context, uid uint32, name string, data []byte) error {
	if m.closed {
		return store.ErrClosed
	}
	if err := checkDataName(name); err != nil {
		return err
	}
	ctx, cancel := m.b.opCtx(ctx)
	defer cancel()
	tag, err := m.b.pool.Exec(ctx, `INSERT INTO pgstore_body_data (key, name, data)
		SELECT blob_key, $3, $4 FROM pgstore_messages WHERE mailbox_id = $1 AND uid = $2
		ON CONFLICT (key, name) DO UPDATE SET data = excluded.data`, m.id, int64(uid), name, data)
	if err != nil {
		return dbErr("set message data", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: UID %d: %w", uid, store.ErrNoSuchMessage)
	}
	return nil
}
