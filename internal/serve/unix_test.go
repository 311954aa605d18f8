package serve

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestListenUnix: a stale socket file is replaced, a live one is refused
// and keeps working, a regular file is refused and kept.
func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	live, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(path); !errors.Is(err, ErrSocketInUse) {
		t.Fatalf("second listener on a live socket: %v", err)
	}
	go func() {
		if c, err := live.Accept(); err == nil {
			c.Close()
		}
	}()
	if c, err := net.Dial("unix", path); err != nil {
		t.Fatalf("the live server lost its socket: %v", err)
	} else {
		c.Close()
	}
	live.Close()

	// A socket file nobody answers on (left by a crash).
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	l, err := ListenUnix(path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	l.Close()

	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	if _, err := ListenUnix(file); err == nil {
		t.Fatal("a regular file was taken over")
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Fatal("the regular file was changed")
	}
}
