package testutil

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestSharedTestdataCurrent checks that the in-repository copy of the
// shared test vectors matches ../shared/testdata, file by file, when the
// project's shared directory sits beside the repository (it does on the
// team's machines, not necessarily in a clean clone).
func TestSharedTestdataCurrent(t *testing.T) {
	copyDir := SharedTestdata(t)
	upstream, err := filepath.Abs(filepath.Join(copyDir, "..", "..", "..", "..", "..", "shared", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(upstream); err != nil {
		t.Skipf("no shared/testdata beside the repository (%s): nothing to compare the copy with", upstream)
	}
	n := 0
	err = filepath.WalkDir(copyDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(copyDir, path)
		mine, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		theirs, err := os.ReadFile(filepath.Join(upstream, rel))
		if err != nil {
			t.Errorf("%s: in the copy but not in %s: %v", rel, upstream, err)
			return nil
		}
		if !bytes.Equal(mine, theirs) {
			t.Errorf("%s differs from %s: copy it again", rel, upstream)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the copy of the shared test vectors is empty")
	}
}
