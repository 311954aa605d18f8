package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/s3blob"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// mail_location = pgsql:CONNSTRING keeps every user's mailboxes in one
// PostgreSQL database (package pgstore), so any number of fullservers
// on that database serve the same users, each seeing the others'
// changes live (LISTEN/NOTIFY). CONNSTRING is a libpq keyword/value
// string ("host=db.example port=5432 dbname=mail user=yubin
// password=... sslmode=verify-full") or a postgres:// URL. Bodies go in
// the same database unless mail_blob_location names an object store.

// pgstoreParams are the settings of the PostgreSQL mail store.
var pgstoreParams = []config.Param{
	{Name: "mail_blob_location", Default: "", Check: checkBlobLocation, Doc: "with mail_location = pgsql:...: where message bodies are kept; empty: in the same PostgreSQL database; s3://KEY:SECRET@HOST:PORT/BUCKET: an S3-compatible object store"},
}

// s3BlobStore opens the S3 blob store of mail_blob_location =
// s3://KEY:SECRET@HOST[:PORT]/BUCKET[/PREFIX][?tls=false&ca=FILE&...]
// (blob/s3blob; the bucket is created if missing).
func s3BlobStore(ctx context.Context, loc string, log *slog.Logger) (blob.Store, error) {
	return s3blob.OpenURL(ctx, loc)
}

// isPgsqlLocation reports whether mail_location selects pgstore.
func isPgsqlLocation(loc string) bool { return strings.HasPrefix(loc, "pgsql:") }

// checkPgsqlLocation checks a "pgsql:CONNSTRING" mail_location.
func checkPgsqlLocation(v string) error {
	conn := strings.TrimPrefix(v, "pgsql:")
	if strings.TrimSpace(conn) == "" {
		return errors.New("pgsql: needs a connect string (pgsql:host=... dbname=... or pgsql:postgres://...)")
	}
	if _, err := pgxpool.ParseConfig(conn); err != nil {
		return fmt.Errorf("pgsql: connect string: %v", redact(err))
	}
	return nil
}

// redact keeps a password out of a connect-string parse error.
func redact(err error) string {
	s := err.Error()
	if i := strings.Index(s, "password="); i >= 0 {
		return s[:i] + "password=(hidden)"
	}
	return s
}

func checkBlobLocation(v string) error {
	if v == "" {
		return nil
	}
	if !strings.HasPrefix(v, "s3://") {
		return errors.New("only empty (PostgreSQL) and s3://KEY:SECRET@HOST:PORT/BUCKET are supported")
	}
	_, err := s3blob.ParseURL(v)
	return err
}

// openStores returns the mail backend: the file formats of newStores
// for users whose mail location (the userdb's mail field, mail_location
// by default) is a path, maildir:, sdbox: or mbox:, and pgstore for
// those whose location is pgsql:CONNSTRING (mailloc_peruser.go). When
// mail_location itself is pgsql:, its database is connected (and its
// schema migrated) at start: a database that is unreachable or newer
// than this binary stops the start with a clear error. Other pgsql:
// locations named only by some users' mail fields connect on first use.
func openStores(c *config.Config, u *users, log *slog.Logger) (mailBackend, error) {
	loc := mailLocationOf(c)
	if !isPgsqlLocation(loc) && c.Get("mail_blob_location") != "" {
		log.Warn("mail_blob_location applies only to users whose mail location is pgsql:")
	}
	r := &routedStores{files: newStores(c, u, log), users: u, c: c, log: log, pg: map[string]*pgstore.Backend{}}
	if isPgsqlLocation(loc) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := r.pgBackend(ctx, loc); err != nil {
			r.files.Close()
			return nil, fmt.Errorf("mail_location: %w", err)
		}
	}
	return r, nil
}

// openPgstore connects a pgstore backend for a pgsql:CONNSTRING mail
// location, with bodies where mail_blob_location says.
func openPgstore(ctx context.Context, c *config.Config, loc string, log *slog.Logger) (*pgstore.Backend, error) {
	opts := pgstore.Options{
		Logger:         log,
		AutoMailboxes:  store.DefaultAutoMailboxes(),
		MaxMessageSize: c.Int("mailbox_size_limit"),
		GCInterval:     time.Hour,
	}
	withIMAPMessageData(&opts)
	if blobLoc := c.Get("mail_blob_location"); strings.HasPrefix(blobLoc, "s3://") {
		bs, err := s3BlobStore(ctx, blobLoc, log)
		if err != nil {
			return nil, fmt.Errorf("mail_blob_location: %w", err)
		}
		opts.Blobs = bs
	}
	return pgstore.Open(ctx, strings.TrimPrefix(loc, "pgsql:"), opts)
}
