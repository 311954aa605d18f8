package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InteropRequired reports whether YUBIN_REQUIRE_INTEROP=1 is set, under
// which tests that would skip for a missing program fail instead.
func InteropRequired() bool { return os.Getenv("YUBIN_REQUIRE_INTEROP") == "1" }

// extraDirs are searched after $PATH: Debian keeps Dovecot's service
// binaries and Postfix's daemons outside it.
var extraDirs = []string{"/usr/sbin", "/sbin", "/usr/lib/dovecot", "/usr/lib/postfix/sbin"}

// LookBinary returns the full path of the named program, searching $PATH
// and the Debian locations of Dovecot's and Postfix's helpers, or "".
func LookBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range extraDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// RequireBinary returns the path of the named program. When it is missing
// the test is skipped with a message naming the Debian package to install,
// or failed when YUBIN_REQUIRE_INTEROP=1.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	if p := LookBinary(name); p != "" {
		return p
	}
	Unavailable(t, "%s not found (install it from Debian's packages; .ci/run does)", name)
	return ""
}

// Unavailable skips the test with the formatted reason, or fails it when
// YUBIN_REQUIRE_INTEROP=1. Use it for any interop prerequisite that is
// missing (a program, a Python module, a system user).
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InteropRequired() {
		t.Fatalf("interop required (YUBIN_REQUIRE_INTEROP=1) but: "+format, args...)
	}
	t.Skipf("skipping interop test: "+format, args...)
}
