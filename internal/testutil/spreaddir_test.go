package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpreadTempDir(t *testing.T) {
	before := os.TempDir()
	dir, done, err := SpreadTempDir()
	if err != nil {
		t.Fatal(err)
	}
	if os.TempDir() != dir || !strings.HasPrefix(dir, before) {
		t.Errorf("TMPDIR %q, made %q under %q", os.TempDir(), dir, before)
	}
	if !hasTopdir(dir) {
		t.Logf("no top-directory flag on %s (a file system without it)", dir)
	}
	os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644)
	done()
	if os.TempDir() != before {
		t.Errorf("TMPDIR not restored: %q", os.TempDir())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dir, err)
	}
}
