package testutil

import "os"

// SpreadTempDir makes a fresh directory under the temporary directory,
// gives it ext4's top-directory flag (chattr +T) so that the
// directories made in it are spread over the file system's block
// groups as top-level directories are, and points TMPDIR at it for
// this process and the programs it starts. It returns the directory and
// a function that removes it and restores TMPDIR.
//
// Benchmarks that create many files call it first. ext4 without a
// journal (this machine's root file system) skips inodes freed in the
// last minute or so when it allocates one, reading the inode table for
// each; a block group churned by an earlier run's cleanup, by another
// server's queue or by a compiler's temporary files makes every file
// creation in it slower, for whichever server happens to write there.
// In their own groups, the servers a benchmark compares each pay only
// for what they delete themselves. Elsewhere the flag is ignored.
func SpreadTempDir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "yubin-bench-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	setTopdir(dir)
	old, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", dir)
	return dir, func() {
		if had {
			os.Setenv("TMPDIR", old)
		} else {
			os.Unsetenv("TMPDIR")
		}
		os.RemoveAll(dir)
	}, nil
}
