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
