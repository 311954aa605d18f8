package pgstore

import (
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/yubinmail/yubin/store"
)

// readMessages reads a whole mailbox (100,000 rows for a large one) at
// SELECT. pgx's Scan costs most of that time, so the rows are decoded
// from PostgreSQL's binary format here when they come in it, which pgx
// asks for with these types; otherwise Scan does it.

// messageRowTypes are the types of readMessages' columns: uid, modseq,
// flags, keywords (one text or NULL), internal_date, save_date, size,
// guid.
var messageRowTypes = [...]uint32{pgtype.Int8OID, pgtype.Int8OID, pgtype.Int4OID, pgtype.TextOID,
	pgtype.TimestamptzOID, pgtype.TimestamptzOID, pgtype.Int8OID, pgtype.TextOID}

// rawMessageRows reports whether rows described by fds can be decoded
// by decodeMessageRow.
func rawMessageRows(fds []pgconn.FieldDescription) bool {
	if len(fds) != len(messageRowTypes) {
		return false
	}
	for i, fd := range fds {
		// text is the same in both formats (pgx asks for it as text).
		if fd.DataTypeOID != messageRowTypes[i] || fd.Format != pgtype.BinaryFormatCode && fd.DataTypeOID != pgtype.TextOID {
			return false
		}
	}
	return true
}

var errMessageRow = errors.New("pgstore: malformed message row")

// pgEpoch is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix
// seconds.
const pgEpoch = 946684800

// decodeMessageRow decodes one row of readMessages in binary format.
func decodeMessageRow(v [][]byte) (msg, error) {
	var x msg
	if len(v) != len(messageRowTypes) || len(v[0]) != 8 || len(v[1]) != 8 || len(v[2]) != 4 ||
		len(v[4]) != 8 || len(v[5]) != 8 || len(v[6]) != 8 || v[7] == nil {
		return x, errMessageRow
	}
	x.uid = uint32(binary.BigEndian.Uint64(v[0]))
	x.modseq = binary.BigEndian.Uint64(v[1])
	x.flags = store.SystemFlags(int32(binary.BigEndian.Uint32(v[2])))
	if len(v[3]) > 0 {
		x.keywords = strings.Fields(string(v[3]))
	}
	var err error
	if x.internal, err = pgTime(v[4]); err != nil {
		return x, err
	}
	if x.save, err = pgTime(v[5]); err != nil {
		return x, err
	}
	x.size = int64(binary.BigEndian.Uint64(v[6]))
	x.guid = string(v[7])
	return x, nil
}

// pgTime decodes a binary timestamptz (microseconds since pgEpoch) as
// pgx does: a time in time.Local. The infinities are refused.
func pgTime(b []byte) (time.Time, error) {
	us := int64(binary.BigEndian.Uint64(b))
	if us == 1<<63-1 || us == -1<<63 {
		return time.Time{}, errMessageRow
	}
	sec, frac := us/1e6, us%1e6
	if frac < 0 {
		sec, frac = sec-1, frac+1e6
	}
	return time.Unix(pgEpoch+sec, frac*1e3), nil
}
