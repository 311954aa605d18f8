package atomicfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/yubinmail/yubin/internal/atomicfile"
)

func Example() {
	dir, _ := os.MkdirTemp("", "atomicfile-")
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "passwd")
	atomicfile.Write(name, []byte("alice@example.jp:{PLAIN}x\n"), 0o600, atomicfile.NoOwner)
	b, _ := os.ReadFile(name)
	fi, _ := os.Stat(name)
	fmt.Printf("%s%o\n", b, fi.Mode().Perm())
	// Output:
	// alice@example.jp:{PLAIN}x
	// 600
}

func TestWriteReplacesAndLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	if err := os.WriteFile(name, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(name, []byte("new"), 0o640, atomicfile.NoOwner); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "new" {
		t.Errorf("contents %q", b)
	}
	if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %o", fi.Mode().Perm())
	}
	if os.Geteuid() == 0 {
		if err := atomicfile.Write(name, []byte("owned"), 0o600, atomicfile.Owner{UID: 65534, GID: 65534}); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(name)
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("owned by %d:%d, want 65534:65534", st.Uid, st.Gid)
		}
	}
	// A rename onto a directory fails: the temporary file goes.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "x"), nil, 0o644)
	if err := atomicfile.Write(sub, []byte("x"), 0o644, atomicfile.NoOwner); err == nil {
		t.Error("replaced a non-empty directory")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "f" && e.Name() != "sub" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestWriteWithTempName: a named temporary file is created exclusively
// (an existing one fails the write and is left alone), the mode is 0600
// by default, and Chown sees the temporary file before the rename.
func TestWriteWithTempName(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "dovecot-uidlist")
	tmp := name + ".1.1.tmp"
	var chowned string
	o := atomicfile.Options{Temp: tmp, NoSync: true, Chown: func(f *os.File) error { chowned = f.Name(); return nil }}
	if err := atomicfile.WriteWith(name, []byte("3 V1 N1\n"), o); err != nil {
		t.Fatal(err)
	}
	if chowned != tmp {
		t.Errorf("Chown saw %q, want %q", chowned, tmp)
	}
	if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v %v", fi, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary file left: %v", err)
	}
	os.WriteFile(tmp, []byte("another writer's"), 0o600)
	if err := atomicfile.WriteWith(name, []byte("new"), o); err == nil {
		t.Fatal("write through an existing temporary file succeeded")
	}
	if b, _ := os.ReadFile(tmp); string(b) != "another writer's" {
		t.Errorf("another writer's temporary file changed to %q", b)
	}
	if b, _ := os.ReadFile(name); string(b) != "3 V1 N1\n" {
		t.Errorf("file changed to %q by a failed write", b)
	}
	o.Chown = func(*os.File) error { return syscall.EPERM }
	o.Temp = name + ".1.2.tmp"
	if err := atomicfile.WriteWith(name, []byte("new"), o); err == nil {
		t.Fatal("a failing Chown did not fail the write")
	}
	if ents, _ := filepath.Glob(name + ".1.2*"); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
