package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// TestDeliverRefusedBatchRetriedAlone: when the database refuses a
// delivery batch's transaction because of one message (here a trigger
// that raises an error for bodies holding a marker, as a check
// constraint would), every other message of the batch is delivered by
// the one-by-one retry, in UID order, and only the refused one fails.
func TestDeliverRefusedBatchRetriedAlone(t *testing.T) {
	ctx := context.Background()
	conn := newDB(t)
	b := openBackend(t, conn, pgstore.Options{})

	c, err := pgx.Connect(ctx, conn)
	require.NoError(t, err)
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `
CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF position('REFUSE-ME'::bytea IN NEW.data) > 0 THEN
		RAISE EXCEPTION 'message refused by the test''s trigger';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER refuse_marked BEFORE INSERT ON pgstore_blob_chunks
	FOR EACH ROW EXECUTE FUNCTION refuse_marked();`)
	require.NoError(t, err)

	// The first batch waits until the other deliveries have queued, so
	// that they commit as one batch.
	sizes := holdFirstBatch(b, 11)
	st, err := b.Open(ctx, "u")
	require.NoError(t, err)
	const n, refused = 12, 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
			if i == refused {
				body += "REFUSE-ME\r\n"
			}
			_, errs[i] = st.(*pgstore.Store).Deliver(ctx, store.Inbox, strings.NewReader(body), store.AppendOptions{LateUID: true})
		}()
	}
	wg.Wait()
	require.Contains(t, sizes(), n-1, "batches %v: the refused message never shared a batch", sizes())
	for i, err := range errs {
		if i == refused {
			require.ErrorIs(t, err, store.ErrTemporary, "the refused delivery")
		} else {
			require.NoError(t, err, "delivery %d", i)
		}
	}

	mb, err := st.OpenMailbox(ctx, store.Inbox, store.OpenOptions{ReadOnly: true})
	require.NoError(t, err)
	defer mb.Close()
	var uids []uint32
	require.NoError(t, mb.Messages(ctx, nil, func(mi *store.MessageInfo) error { uids = append(uids, mi.UID); return nil }))
	require.Len(t, uids, n-1)
	for i, uid := range uids {
		require.Equal(t, uint32(i+1), uid, "UIDs %v have a gap", uids)
	}
}
