package pgstore_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// bigDerived derives one large, compressible value (stored compressed).
func bigDerived(r io.ReaderAt, size int64) (map[string][]byte, error) {
	return map[string][]byte{"test.big": []byte(strings.Repeat("derived data line\r\n", 400))}, nil
}

// TestBodiesCompressedLZ4: a database at schema version 3 holds a
// body and derived data compressed with pglz; the next Open migrates
// it, after which new bodies and derived data are stored with LZ4, and
// both the old and the new message read back whole.
func TestBodiesCompressedLZ4(t *testing.T) {
	c := cluster.Get(t)
	db := c.NewDatabase(t)
	if out, err := c.Exec(db, "SET default_toast_compression = lz4"); err != nil {
		t.Skipf("this PostgreSQL has no LZ4: %s", out)
	}
	b := openBackend(t, c.ConnString(db), pgstore.Options{Derive: bigDerived})
	if out, err := c.Exec(db, `ALTER TABLE pgstore_blob_chunks ALTER COLUMN data SET COMPRESSION pglz;
		ALTER TABLE pgstore_body_data ALTER COLUMN data SET COMPRESSION pglz;
		UPDATE pgstore_schema SET version = 3;`); err != nil {
		t.Fatal(err, out)
	}
	body := func(i int) string {
		return fmt.Sprintf("Subject: %d\r\n\r\n", i) + strings.Repeat(fmt.Sprintf("body line of message %d\r\n", i), 300)
	}
	deliver := func(b *pgstore.Backend, i int) {
		t.Helper()
		if _, err := userStore(t, b, "u").(*pgstore.Store).Deliver(bg(t), store.Inbox, strings.NewReader(body(i)), store.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	methods := func() string {
		t.Helper()
		out, err := c.Exec(db, `SELECT string_agg(pg_column_compression(data), ',' ORDER BY ctid) FROM pgstore_blob_chunks;
			SELECT string_agg(pg_column_compression(data), ',' ORDER BY ctid) FROM pgstore_body_data;`)
		if err != nil {
			t.Fatal(err, out)
		}
		return strings.Join(strings.Fields(out), " ")
	}
	deliver(b, 1)
	if got := methods(); got != "pglz pglz" {
		t.Fatalf("before the migration: %q, want pglz for both", got)
	}
	b.Close()
	b = openBackend(t, c.ConnString(db), pgstore.Options{Derive: bigDerived})
	deliver(b, 2)
	if got := methods(); got != "pglz,lz4 pglz,lz4" {
		t.Fatalf("after the migration: %q, want pglz then lz4 in both tables", got)
	}
	mb := openBox(t, userStore(t, b, "u"), store.Inbox)
	for uid := uint32(1); uid <= 2; uid++ {
		r, err := mb.Open(bg(t), uid)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		want := strings.ReplaceAll(body(int(uid)), "\r\n", "\n")
		if err != nil || strings.ReplaceAll(string(got), "\r\n", "\n") != want {
			t.Fatalf("message %d: %v, %d bytes, want %d", uid, err, len(got), len(want))
		}
	}
}
