package s3blob

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/yubinmail/yubin/blob"
)

// Defaults of the Options fields left zero.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMinRate      = 1 << 20 // bytes per second
	DefaultListPageSize = 1000
	DefaultMaxSize      = 5 << 30 // S3's largest single PUT
	DefaultRegion       = "us-east-1"
	DefaultMaxRetries   = 3
)

// Options configure a Store. ParseURL makes them from a URL.
type Options struct {
	// Endpoint is the server's "host" or "host:port".
	Endpoint string
	// Secure selects HTTPS.
	Secure bool
	// CAFile, when set, is a PEM file of the CAs that verify the server
	// (instead of the system's roots).
	CAFile string
	// AccessKey and SecretKey sign requests; when both are empty they
	// come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	AccessKey, SecretKey string
	// Region is the bucket's region (default DefaultRegion).
	Region string
	// Bucket holds the blobs; New creates it when missing.
	Bucket string
	// Prefix, when not empty, puts every object under Prefix + "/".
	Prefix string
	// Timeout bounds a whole request without a body (the HEAD and
	// DELETE, bucket checks), the wait for any response's headers (a
	// List page, a GET), and each read from an Open reader's stream
	// (default DefaultTimeout).
	Timeout time.Duration
	// MinRate is the slowest transfer, in bytes per second, that a
	// request with a body may take: Put and ReadAt of n bytes may take
	// Timeout + n/MinRate (default DefaultMinRate).
	MinRate int64
	// ListPageSize is the number of objects List asks for per request
	// (default DefaultListPageSize; S3 returns at most 1000).
	ListPageSize int
	// MaxSize is the largest blob Put accepts (default DefaultMaxSize).
	MaxSize int64
	// MaxRetries is how many times a request that failed for a
	// transient reason (a network error, a 5xx, throttling) is sent in
	// all, with backoff, within its timeout (default DefaultMaxRetries).
	// A Put is never resent: its body is read once.
	MaxRetries int
	// Logger receives bucket creation at Info and skipped foreign
	// objects at Debug (default: discard). Secrets are never logged.
	Logger *slog.Logger
	// Transport, when set, carries the requests instead of one New makes
	// from the timeouts and CAFile.
	Transport http.RoundTripper
}

// Store is a blob.Store on an S3-compatible object store. It is safe for
// concurrent use.
type Store struct {
	client *minio.Client
	core   minio.Core
	o      Options
	log    *slog.Logger
}

var _ blob.Store = (*Store)(nil)

// OpenURL parses rawURL with ParseURL and returns New's Store. It is what
// the fullserver's mail_blob_location = s3://... calls.
func OpenURL(ctx context.Context, rawURL string) (*Store, error) {
	o, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return New(ctx, o)
}

// New connects to the store o names, creates the bucket when it is
// missing, and returns the Store.
func New(ctx context.Context, o Options) (*Store, error) {
	if o.Endpoint == "" {
		return nil, errors.New("s3blob: no endpoint")
	}
	if err := checkHost(o.Endpoint); err != nil {
		return nil, err
	}
	if err := checkBucket(o.Bucket); err != nil {
		return nil, err
	}
	if err := checkPrefix(o.Prefix); err != nil {
		return nil, err
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MinRate <= 0 {
		o.MinRate = DefaultMinRate
	}
	if o.ListPageSize <= 0 || o.ListPageSize > 1000 {
		o.ListPageSize = DefaultListPageSize
	}
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.Prefix != "" {
		o.Prefix += "/"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	creds := credentials.NewStaticV4(o.AccessKey, o.SecretKey, "")
	if o.AccessKey == "" && o.SecretKey == "" {
		creds = credentials.NewEnvAWS()
	}
	tr := o.Transport
	if tr == nil {
		t, err := newTransport(o)
		if err != nil {
			return nil, err
		}
		tr = t
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:      creds,
		Secure:     o.Secure,
		Region:     o.Region,
		Transport:  tr,
		MaxRetries: o.MaxRetries,
		// Needed for Put's CRC32C trailer.
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fmt.Errorf("s3blob: %w", err)
	}
	s := &Store{client: c, core: minio.Core{Client: c}, o: o, log: log}
	if err := s.ensureBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// newTransport returns the HTTP transport of o: bounded dials, TLS
// handshakes and response headers; no transparent decompression (it
// would break ranged reads).
func newTransport(o Options) (*http.Transport, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3blob: reading the CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("s3blob: no PEM certificate in the CA file %s", o.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: min(o.Timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   min(o.Timeout, 10*time.Second),
		ResponseHeaderTimeout: o.Timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		DisableCompression:    true,
	}, nil
}

// ensureBucket creates the bucket when it does not exist.
func (s *Store) ensureBucket(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.o.Bucket)
	if err != nil {
		return s.wrap("checking bucket "+s.o.Bucket, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.o.Bucket, minio.MakeBucketOptions{Region: s.o.Region})
	if code(err) == "BucketAlreadyOwnedByYou" {
		err = nil // another server made it meanwhile
	}
	if err != nil {
		return s.wrap("creating bucket "+s.o.Bucket, err)
	}
	s.log.Info("s3blob: created bucket", "endpoint", s.o.Endpoint, "bucket", s.o.Bucket)
	return nil
}

// object returns the object name of key, or an error for an invalid key.
func (s *Store) object(key string) (string, error) {
	if !blob.ValidKey(key) {
		return "", fmt.Errorf("s3blob: invalid key %q", truncate(key, 80))
	}
	return s.o.Prefix + key, nil
}

// code returns the S3 error code in err, or "".
func code(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

// notFound reports whether err says the object does not exist.
func notFound(err error) bool {
	c := code(err)
	return c == "NoSuchKey" || c == "NotFound"
}

// wrap names what failed and where; minio's errors carry the server's
// message and code, never the credentials.
func (s *Store) wrap(what string, err error) error {
	return fmt.Errorf("s3blob: %s on %s: %w", what, s.o.Endpoint, err)
}

// opTimeout returns the time a request moving n bytes may take.
func (s *Store) opTimeout(n int64) time.Duration {
	return s.o.Timeout + time.Duration(n/s.o.MinRate)*time.Second
}

// Delete removes the blob stored under key; S3 answers a delete of a
// missing object with success.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	err = s.client.RemoveObject(ctx, s.o.Bucket, name, minio.RemoveObjectOptions{})
	if err != nil && !notFound(err) {
		return s.wrap("delete "+key, err)
	}
	return nil
}

// List calls fn for every blob under the prefix, a page of ListPageSize
// objects per request. Objects whose names are not keys are skipped.
func (s *Store) List(ctx context.Context, fn func(blob.Info) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: list: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := s.client.ListObjects(ctx, s.o.Bucket, minio.ListObjectsOptions{
		Prefix:    s.o.Prefix,
		Recursive: true,
		MaxKeys:   s.o.ListPageSize,
	})
	for obj := range objects {
		if obj.Err != nil {
			return s.wrap("list", obj.Err)
		}
		key, ok := strings.CutPrefix(obj.Key, s.o.Prefix)
		if !ok || !blob.ValidKey(key) {
			s.log.Debug("s3blob: list skips an object that is not a blob", "bucket", s.o.Bucket, "object", truncate(obj.Key, 200))
			continue
		}
		if err := fn(blob.Info{Key: key, Size: obj.Size, Created: obj.LastModified}); err != nil {
			cancel()
			for range objects {
			}
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: list: %w", err)
	}
	return nil
}
