package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/yubinmail/yubin/auth"
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

// openStores is newStores, or for mail_location = pgsql:... a pgstore
// backend, which connects (and migrates the schema) at start: a
// database that is unreachable or newer than this binary stops the
// start with a clear error.
func openStores(c *config.Config, u *users, log *slog.Logger) (mailBackend, error) {
	loc := mailLocationOf(c)
	blobLoc := c.Get("mail_blob_location")
	if !isPgsqlLocation(loc) {
		if blobLoc != "" {
			log.Warn("mail_blob_location has no effect: mail_location is not pgsql:")
		}
		return newStores(c, u, log), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := pgstore.Options{
		Logger:         log,
		AutoMailboxes:  store.DefaultAutoMailboxes(),
		MaxMessageSize: c.Int("mailbox_size_limit"),
		GCInterval:     time.Hour,
	}
	withIMAPMessageData(&opts)
	if strings.HasPrefix(blobLoc, "s3://") {
		bs, err := s3BlobStore(ctx, blobLoc, log)
		if err != nil {
			return nil, fmt.Errorf("mail_blob_location: %w", err)
		}
		opts.Blobs = bs
	}
	b, err := pgstore.Open(ctx, strings.TrimPrefix(loc, "pgsql:"), opts)
	if err != nil {
		return nil, fmt.Errorf("mail_location: %w", err)
	}
	return &pgStores{Backend: b, users: u}, nil
}

// pgStores opens pgstore stores for the users the userdb knows.
type pgStores struct {
	*pgstore.Backend
	users *users
}

// Open implements store.Backend: the userdb decides who exists; the
// store is keyed by the userdb's canonical name.
func (p *pgStores) Open(ctx context.Context, user string) (store.Store, error) {
	usr, err := p.users.LookupUser(ctx, user)
	if errors.Is(err, auth.ErrUnknownUser) {
		return nil, store.ErrNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	return p.Backend.Open(ctx, usr.Name)
}
