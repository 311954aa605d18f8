//go:build !linux

package testutil

// setTopdir does nothing where there is no ext4 top-directory flag.
func setTopdir(string) {}

// hasTopdir reports false: no such flag here.
func hasTopdir(string) bool { return false }
