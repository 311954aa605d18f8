package sievestore

import (
	"errors"
	"strconv"
)

// Errors returned by Store methods; errors.Is finds them.
var (
	// ErrNotFound means no script has the name.
	ErrNotFound = errors.New("sievestore: no such script")
	// ErrExists means a rename's new name is taken.
	ErrExists = errors.New("sievestore: script already exists")
	// ErrActive means the active script cannot be deleted.
	ErrActive = errors.New("sievestore: script is active")
	// ErrInvalidName means a script name breaks Pigeonhole's rules.
	ErrInvalidName = errors.New("sievestore: invalid script name")
)

// QuotaKind says which limit a QuotaError is about; the values are the
// RFC 5804 response codes' last parts.
type QuotaKind string

// The quota limits.
const (
	QuotaMaxScripts QuotaKind = "MAXSCRIPTS" // sieve_quota_max_scripts
	QuotaMaxStorage QuotaKind = "MAXSTORAGE" // sieve_quota_max_storage
	QuotaMaxSize    QuotaKind = "MAXSIZE"    // sieve_max_script_size
)

// QuotaError is returned when a script would exceed a limit.
type QuotaError struct {
	Kind  QuotaKind
	Limit int64 // the limit in scripts or bytes
}

func (e *QuotaError) Error() string {
	switch e.Kind {
	case QuotaMaxScripts:
		return "Script count quota exceeded (max " + strconv.FormatInt(e.Limit, 10) + " scripts)."
	case QuotaMaxStorage:
		return "Script storage quota exceeded (max " + strconv.FormatInt(e.Limit, 10) + " bytes)."
	default:
		return "Script is too large (max " + strconv.FormatInt(e.Limit, 10) + " bytes)."
	}
}
