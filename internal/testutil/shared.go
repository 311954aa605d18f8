package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedTestdata returns the path of the project's shared test vectors
// (shared/testdata, kept beside the repository: ../shared from the module
// root), looking upwards from the test's working directory. It fails the
// test when the directory cannot be found.
func SharedTestdata(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		for _, cand := range []string{filepath.Join(d, "shared", "testdata"), filepath.Join(d, "..", "shared", "testdata")} {
			if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
				return filepath.Clean(cand)
			}
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Fatalf("shared/testdata not found above %s", dir)
	return ""
}
