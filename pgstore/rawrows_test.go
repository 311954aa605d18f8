package pgstore

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// TestPgTimeAsPgx: pgTime decodes binary timestamptz values exactly as
// pgx's own codec does (before and after 2000, whole and fractional
// seconds), and refuses the infinities.
func TestPgTimeAsPgx(t *testing.T) {
	m := pgtype.NewMap()
	values := []int64{0, 1, -1, 999999, -999999, 1e6, -1e6, 1_000_001, -1_000_001, 1 << 50, -(1 << 50)}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		values = append(values, r.Int64N(1<<53)-(1<<52))
	}
	buf := make([]byte, 8)
	for _, us := range values {
		binary.BigEndian.PutUint64(buf, uint64(us))
		var want time.Time
		if err := m.Scan(pgtype.TimestamptzOID, pgtype.BinaryFormatCode, buf, &want); err != nil {
			t.Fatal(err)
		}
		got, err := pgTime(buf)
		if err != nil || !got.Equal(want) || got.Location() != want.Location() {
			t.Fatalf("%d µs: pgTime %v (%v), pgx %v", us, got, err, want)
		}
	}
	for _, inf := range []int64{1<<63 - 1, -1 << 63} {
		binary.BigEndian.PutUint64(buf, uint64(inf))
		if _, err := pgTime(buf); err == nil {
			t.Errorf("infinity %d accepted", inf)
		}
	}
}

// TestDecodeMessageRowRefusesMalformed: rows of the wrong shape are an
// error, not a panic.
func TestDecodeMessageRowRefusesMalformed(t *testing.T) {
	good := [][]byte{make([]byte, 8), make([]byte, 8), make([]byte, 4), nil, make([]byte, 8), make([]byte, 8), make([]byte, 8), []byte("guid")}
	if _, err := decodeMessageRow(good); err != nil {
		t.Fatal(err)
	}
	for i := range good {
		bad := append([][]byte(nil), good...)
		switch i {
		case 3:
			continue // any text or NULL is a keyword list
		case 7:
			bad[i] = nil // the GUID is never NULL
		default:
			bad[i] = []byte{1}
		}
		if _, err := decodeMessageRow(bad); err == nil {
			t.Errorf("column %d of 1 byte accepted", i)
		}
	}
	if _, err := decodeMessageRow(good[:7]); err == nil {
		t.Error("a short row accepted")
	}
}
