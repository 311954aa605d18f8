package s3blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/blob"
	"github.com/yubinmail/yubin/blob/blobtest"
	"github.com/yubinmail/yubin/blob/s3blob"
	"github.com/yubinmail/yubin/internal/testutil"
)

// uniqueName returns a fresh lower-case name for a bucket or prefix.
func uniqueName(base string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("%s-%x", base, b)
}

// open returns a Store on the server under a fresh prefix of bucket, with
// the URL's options changed by edit.
func open(t testing.TB, w *testutil.SeaweedFS, bucket string, edit func(*s3blob.Options)) *s3blob.Store {
	t.Helper()
	return openURL(t, w.URL(bucket+"/"+uniqueName("t")), edit)
}

func openURL(t testing.TB, rawURL string, edit func(*s3blob.Options)) *s3blob.Store {
	t.Helper()
	o, err := s3blob.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := s3blob.New(ctx, o)
	if err != nil {
		t.Fatalf("s3blob.New: %v", err)
	}
	return s
}

// TestSeaweedFS runs everything that needs an S3 server against one
// private SeaweedFS.
func TestSeaweedFS(t *testing.T) {
	w := testutil.StartSeaweedFS(t)
	t.Run("Conformance", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blob.Store { return open(t, w, "conformance", nil) })
	})
	// Over HTTPS minio-go sends the body unsigned with a CRC32C trailer
	// instead of signed chunks: another upload path.
	t.Run("ConformanceTLS", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blob.Store {
			return openURL(t, w.TLSURL("conformance/"+uniqueName("tls")), nil)
		})
	})
	t.Run("BodyIntegrity", func(t *testing.T) { testBodyIntegrity(t, w) })
	t.Run("OpenURLCreatesBucket", func(t *testing.T) { testOpenURLCreatesBucket(t, w) })
	t.Run("ListPages", func(t *testing.T) { testListPages(t, w) })
	t.Run("PrefixesAreSeparate", func(t *testing.T) { testPrefixes(t, w) })
	t.Run("RangedReads", func(t *testing.T) { testRangedReads(t, w) })
	t.Run("WrongSecret", func(t *testing.T) { testWrongSecret(t, w) })
	t.Run("LargeBody", func(t *testing.T) { testLargeBody(t, w) })
}

func testOpenURLCreatesBucket(t *testing.T, w *testutil.SeaweedFS) {
	ctx := t.Context()
	bucket := uniqueName("new")
	s, err := s3blob.OpenURL(ctx, w.URL(bucket))
	if err != nil {
		t.Fatalf("OpenURL of a missing bucket: %v", err)
	}
	b := []byte("hello")
	if err := s.Put(ctx, blob.Key(b), bytes.NewReader(b), 5); err != nil {
		t.Fatalf("Put into the new bucket: %v", err)
	}
	// A second server opening the same bucket finds it.
	s2, err := s3blob.OpenURL(ctx, w.URL(bucket))
	if err != nil {
		t.Fatalf("OpenURL of an existing bucket: %v", err)
	}
	r, err := s2.Open(ctx, blob.Key(b))
	if err != nil {
		t.Fatalf("Open through a second store: %v", err)
	}
	r.Close()
}

func testListPages(t *testing.T, w *testutil.SeaweedFS) {
	ctx := t.Context()
	s := open(t, w, "paging", func(o *s3blob.Options) { o.ListPageSize = 7 })
	want := map[string]bool{}
	for i := range 50 {
		b := []byte(fmt.Sprintf("blob %d", i))
		if err := s.Put(ctx, blob.Key(b), bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
		want[blob.Key(b)] = true
	}
	got := 0
	err := s.List(ctx, func(in blob.Info) error {
		if !want[in.Key] {
			return fmt.Errorf("List names %s, not stored or named twice", in.Key)
		}
		delete(want, in.Key)
		got++
		return nil
	})
	if err != nil || len(want) != 0 {
		t.Fatalf("List in pages of 7: %d blobs, %d missing, %v", got, len(want), err)
	}
}

// Stores under two prefixes of one bucket do not see each other's blobs,
// and List skips objects under the prefix that are not blobs.
func testPrefixes(t *testing.T, w *testutil.SeaweedFS) {
	ctx := t.Context()
	a := open(t, w, "shared", nil)
	b := open(t, w, "shared", nil)
	body := []byte("only in a")
	if err := a.Put(ctx, blob.Key(body), bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(ctx, blob.Key(body)); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open through another prefix: %v, want ErrNotFound", err)
	}
	n := 0
	if err := b.List(ctx, func(blob.Info) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("List of another prefix: %d blobs, %v", n, err)
	}
}

// countingDialer counts the bytes received on its connections.
type countingDialer struct{ n atomic.Int64 }

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

func (d *countingDialer) transport() *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c, &d.n}, nil
		},
		DisableCompression: true,
	}
}

// ReadAt and Seek fetch the bytes asked for, not the object from its
// start: bytes received stay far below the blob's 8 MiB.
func testRangedReads(t *testing.T, w *testutil.SeaweedFS) {
	ctx := t.Context()
	d := &countingDialer{}
	s := open(t, w, "ranges", func(o *s3blob.Options) { o.Transport = d.transport() })
	body := make([]byte, 8<<20)
	rand.Read(body)
	key := blob.Key(body)
	if err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	d.n.Store(0)
	r, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 100)
	if _, err := r.ReadAt(p, 7<<20); err != nil || !bytes.Equal(p, body[7<<20:7<<20+100]) {
		t.Fatalf("ReadAt: %v (or wrong bytes)", err)
	}
	if got := d.n.Load(); got > 64<<10 {
		t.Errorf("Open and a ReadAt of 100 bytes received %d bytes", got)
	}
	d.n.Store(0)
	if _, err := r.Seek(-1000, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	tail, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(tail, body[len(body)-1000:]) {
		t.Fatalf("reading the last 1000 bytes after a Seek: %v (or wrong bytes)", err)
	}
	if got := d.n.Load(); got > 64<<10 {
		t.Errorf("reading the last 1000 bytes received %d bytes", got)
	}
	r.Close()
}

// A wrong secret fails New with the server's refusal, and the error does
// not show the secret.
func testWrongSecret(t *testing.T, w *testutil.SeaweedFS) {
	o, err := s3blob.ParseURL(w.URL("conformance"))
	if err != nil {
		t.Fatal(err)
	}
	o.SecretKey = "WrongSecretValue123456"
	o.Timeout = 10 * time.Second
	_, err = s3blob.New(t.Context(), o)
	if err == nil {
		t.Fatal("New with a wrong secret succeeded")
	}
	t.Logf("wrong secret: %v", err)
	if strings.Contains(err.Error(), o.SecretKey) || strings.Contains(err.Error(), w.SecretKey) {
		t.Errorf("error shows a secret: %v", err)
	}
}

// A body over minio-go's 16 MiB part size still goes in one PUT.
func testLargeBody(t *testing.T, w *testutil.SeaweedFS) {
	if testing.Short() {
		t.Skip("17 MiB upload skipped with -short")
	}
	ctx := t.Context()
	s := open(t, w, "large", nil)
	body := make([]byte, 17<<20)
	rand.Read(body)
	key := blob.Key(body)
	if err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("reading 17 MiB back: %d bytes, %v", len(got), err)
	}
	// A short reader of that size leaves nothing (no multipart upload
	// left half done).
	short := body[:len(body)-1]
	if err := s.Put(ctx, blob.Key(short), bytes.NewReader(short), int64(len(body))); err == nil {
		t.Fatal("Put of 17 MiB from a shorter reader succeeded")
	}
	if _, err := s.Open(ctx, blob.Key(short)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after a failed Put, Open: %v", err)
	}
}

// recorder keeps the X-Amz-Content-Sha256 header of each PUT.
type recorder struct {
	http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && strings.Count(strings.Trim(req.URL.Path, "/"), "/") > 0 { // an object, not a bucket
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Get("X-Amz-Content-Sha256"))
		r.mu.Unlock()
	}
	return r.RoundTripper.RoundTrip(req)
}

// A PUT's body is covered end to end, as the package documentation
// says: signed chunks over HTTP, a CRC32C trailer over HTTPS.
func testBodyIntegrity(t *testing.T, w *testutil.SeaweedFS) {
	for _, c := range []struct {
		url, want string
	}{
		{w.URL("integrity/" + uniqueName("t")), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"},
		{w.TLSURL("integrity/" + uniqueName("t")), "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
	} {
		rec := &recorder{RoundTripper: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: w.TLS.Pool}}}
		s := openURL(t, c.url, func(o *s3blob.Options) { o.Transport = rec })
		b := []byte("integrity check body")
		if err := s.Put(t.Context(), blob.Key(b), bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
		rec.mu.Lock()
		if len(rec.seen) != 1 || rec.seen[0] != c.want {
			t.Errorf("PUT over %s sent X-Amz-Content-Sha256 %q, want %q", strings.SplitN(c.url, "?", 2)[1], rec.seen, c.want)
		}
		rec.mu.Unlock()
	}
}
