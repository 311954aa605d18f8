package testutil

import (
	"path/filepath"
	"runtime"
	"testing"
)

// SharedTestdata returns the path of the project's shared test vectors:
// the copy of shared/testdata (checked against Dovecot 2.3.19 and
// Postfix 3.7) kept in the repository under internal/testutil/testdata,
// so that a clean clone runs every test on its own. TestSharedTestdataCurrent
// compares the copy with ../shared/testdata when that directory is there.
func SharedTestdata(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testutil: cannot locate the shared test vectors")
	}
	return filepath.Join(filepath.Dir(file), "testdata", "shared")
}
