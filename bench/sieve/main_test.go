package sievebench

import (
	"fmt"
	"os"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestMain puts both servers' files under a fresh directory with ext4's
// top-directory flag (testutil.SpreadTempDir), as bench/queue does, so
// that file creation in either Maildir does not pay for inodes an
// earlier run freed in the same block group.
func TestMain(m *testing.M) {
	_, done, err := testutil.SpreadTempDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	done()
	os.Exit(code)
}
