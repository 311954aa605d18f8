package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
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
	if fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0); err == nil {
		flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
		unix.Close(fd)
		if err == nil && flags&fsTopdirFL == 0 {
			t.Logf("no top-directory flag on %s (file system without it)", dir)
		}
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
