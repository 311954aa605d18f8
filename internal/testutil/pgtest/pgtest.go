// Package pgtest runs a protocol package's existing tests a second time
// with their mail stores in PostgreSQL (package pgstore), without a
// second copy of the test bodies: Run starts a private cluster for one
// top-level test and runs the given test functions as its subtests;
// the package's test helpers call Backend, which returns a pgstore
// backend while a test runs under Run and nil otherwise (the helper then
// keeps its Maildir).
package pgtest

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/pgstore"
	"github.com/yubinmail/yubin/store"
)

// run is one Run: its cluster and the databases its subtests made.
type run struct {
	c   *testutil.PGCluster
	mu  sync.Mutex
	dbs map[string]string // test name and key: connect string
}

// runs maps a top-level test's name to its run. Tests find theirs by
// the first element of their name, so it works from any depth of
// subtest.
var runs sync.Map

// Run starts a private PostgreSQL cluster (skipped, or failed under
// YUBIN_REQUIRE_INTEROP=1, when PostgreSQL 15 is missing), runs each
// test as a subtest of t named after the function, and stops the
// cluster when t ends.
func Run(t *testing.T, tests ...func(*testing.T)) {
	c, err := testutil.StartPGCluster()
	if err != nil {
		testutil.Unavailable(t, "PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	runs.Store(t.Name(), &run{c: c, dbs: map[string]string{}})
	t.Cleanup(func() { runs.Delete(t.Name()) })
	for _, f := range tests {
		name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
		t.Run(name[strings.LastIndexByte(name, '.')+1:], f)
	}
}

// Active reports whether t runs under Run.
func Active(t testing.TB) bool { return lookup(t) != nil }

func lookup(t testing.TB) *run {
	root, _, _ := strings.Cut(t.Name(), "/")
	v, ok := runs.Load(root)
	if !ok {
		return nil
	}
	return v.(*run)
}

// Backend returns, while t runs under Run, a new pgstore backend (a
// server of its own) on the database of key within t's test: the same
// key, the same database, so servers of one test given one key share
// their users' mail. The backend is closed, and the database dropped,
// when t ends. Otherwise it returns nil.
func Backend(t testing.TB, key string, opts pgstore.Options) *pgstore.Backend {
	t.Helper()
	r := lookup(t)
	if r == nil {
		return nil
	}
	k := t.Name() + "\x00" + key
	r.mu.Lock()
	conn, ok := r.dbs[k]
	if !ok {
		conn = r.c.ConnString(r.c.NewDatabase(t))
		r.dbs[k] = conn
		t.Cleanup(func() {
			r.mu.Lock()
			delete(r.dbs, k)
			r.mu.Unlock()
		})
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := pgstore.Open(ctx, conn, opts)
	if err != nil {
		t.Fatalf("pgstore: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Or returns be, a test's own backend, or, while t runs under Run, a
// pgstore backend with opts on the database of key (Backend).
func Or(t testing.TB, key string, opts pgstore.Options, be store.Backend) store.Backend {
	t.Helper()
	if pg := Backend(t, key, opts); pg != nil {
		return pg
	}
	return be
}
