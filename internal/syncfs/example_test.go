package syncfs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/internal/syncfs"
)

// A delivery writes its file without fsync and notes the directory; one
// Sync (shared with every delivery waiting at that moment) makes it
// durable before the caller forgets its own copy.
func Example() {
	dir, _ := os.MkdirTemp("", "syncfs")
	defer os.RemoveAll(dir)
	var p syncfs.Pending
	defer p.Close()
	os.WriteFile(filepath.Join(dir, "msg"), []byte("hello\n"), 0o600)
	p.Note(dir)
	fmt.Println(p.Sync(context.Background()))
	// Output: <nil>
}
