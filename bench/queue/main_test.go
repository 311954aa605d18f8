package queuebench

import (
	"fmt"
	"os"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestMain puts every directory the benchmarks make (the fullserver's
// data, Postfix's queue and Maildirs, bench/smtp's Maildirs) under a
// fresh directory with ext4's top-directory flag, so that each server's
// files land in block groups of their own (see testutil.SpreadTempDir):
// on this machine's journal-less ext4, creating a file in a block group
// where many inodes were freed in the last minutes (an earlier run's
// cleanup, Postfix's deleted queue files) scans the inode table, and
// that cost would fall on whichever server shares the group.
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
