// Package atomicfile replaces a file's contents so that readers see the
// old file or the new one, never a part: the data is written to a
// temporary file beside it, given its mode (and owner), synced, renamed
// over the name, and the directory synced, as chasquid's and Postfix's
// postmap do.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Owner is who the new file belongs to; NoOwner leaves it to the
// process's user.
type Owner struct{ UID, GID int }

// NoOwner leaves the file owned by the process's user.
var NoOwner = Owner{-1, -1}

// Write replaces name with data, mode perm and owned by owner. On error
// name is unchanged and no temporary file is left behind.
func Write(name string, data []byte, perm os.FileMode, owner Owner) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil && owner != NoOwner {
		err = f.Chown(owner.UID, owner.GID)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(name)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
