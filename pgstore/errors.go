package pgstore

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/yubinmail/yubin/store"
)

// dbErr wraps a database failure as store.ErrTemporary (the protocols
// answer NO [UNAVAILABLE], 451, -ERR [SYS/TEMP]) keeping the cause for
// logs. Errors that already are store errors pass through.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{store.ErrNoSuchMailbox, store.ErrMailboxExists, store.ErrNoSuchMessage,
		store.ErrQuotaExceeded, store.ErrTooBig, store.ErrInvalidName, store.ErrNotAllowed,
		store.ErrKeywordInvalid, store.ErrReadOnly, store.ErrMailboxGone, store.ErrNoSuchUser, store.ErrClosed, store.ErrTemporary} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("pgstore: %s: %w: %w", op, store.ErrTemporary, err)
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
