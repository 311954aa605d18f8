package sessionlock

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzStaleReason feeds arbitrary session lock contents (written by
// another program) to the staleness check: it must not fail, and a
// fresh lock is never taken over unless it names a process on this host
// (a dead one, or this process without holding it).
func FuzzStaleReason(f *testing.F) {
	f.Add([]byte("1234:elsewhere.example"), false)
	f.Add([]byte("1:test.example\n"), true)
	f.Add([]byte(strconv.Itoa(os.Getpid())+":test.example"), false)
	f.Add([]byte(""), true)
	f.Add([]byte("-5:test.example"), false)
	f.Add([]byte("99999999999999999999:test.example"), false)
	f.Add([]byte(":"), true)
	dir := f.TempDir()
	l := &Locker{Dir: dir, Host: "test.example", Format: "test"}
	path := filepath.Join(dir, Name)
	f.Fuzz(func(t *testing.T, content []byte, old bool) {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if old {
			when := time.Now().Add(-time.Hour)
			os.Chtimes(path, when, when)
		}
		why := l.StaleReason(path)
		if why == "" || old {
			return
		}
		_, host, ok := strings.Cut(strings.TrimSuffix(string(content), "\n"), ":")
		if !ok || (host != l.host() && host != osHostname()) {
			t.Fatalf("fresh lock %q taken as stale (%s)", content, why)
		}
	})
}
