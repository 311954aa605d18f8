//go:build !linux

package queue

import "os"

// fdatasync is fsync where the system has no fdatasync.
func fdatasync(f *os.File) error { return f.Sync() }

// openNoAtime opens a file to read.
func openNoAtime(p string) (*os.File, error) { return os.Open(p) }
