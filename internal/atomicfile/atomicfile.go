// Package atomicfile replaces a file's contents so that readers see the
// old file or the new one, never a part: the data is written to a
// temporary file beside it, given its mode (and owner), synced, renamed
// over the name, and the directory synced, as chasquid's and Postfix's
// postmap do. The fullserver, imap's per-user files and maildir's
// index files all write through it.
package atomicfile

import (
	"os"
	"path/filepath"

	"github.com/yubinmail/yubin/internal/syncfs"
)

// Owner is who the new file belongs to; NoOwner leaves it to the
// process's user.
type Owner struct{ UID, GID int }

// NoOwner leaves the file owned by the process's user.
var NoOwner = Owner{-1, -1}

// Write replaces name with data, mode perm and owned by owner. On error
// name is unchanged and no temporary file is left behind.
func Write(name string, data []byte, perm os.FileMode, owner Owner) error {
	o := Options{Perm: perm}
	if owner != NoOwner {
		o.Chown = func(f *os.File) error { return f.Chown(owner.UID, owner.GID) }
	}
	return WriteWith(name, data, o)
}

// Options say how WriteWith writes. The zero value writes mode 0600
// through a randomly named temporary file and syncs.
type Options struct {
	// Perm is the new file's mode; 0 means 0600.
	Perm os.FileMode
	// Chown, when set, is called on the temporary file before it is
	// synced and renamed (to give it an owner); its error fails the
	// write.
	Chown func(tmp *os.File) error
	// Temp names the temporary file, created exclusively; it must be in
	// name's directory. Empty: a random ".tmp-NAME-*" beside name.
	// (maildir uses Dovecot's "NAME.<pid>.<n>.tmp", which no Maildir++
	// reader takes for a folder.)
	Temp string
	// NoSync skips the file's and the directory's fsync: the new file
	// is complete for readers at once, but durable only when the file
	// system next writes it back (a cache, or data that can be made
	// again).
	NoSync bool
}

// WriteWith replaces name with data as o says. On error name is
// unchanged and no temporary file is left behind. The directory's fsync
// is best effort (some file systems refuse it): the file is in place
// whatever it returns.
func WriteWith(name string, data []byte, o Options) error {
	perm := o.Perm
	if perm == 0 {
		perm = 0o600
	}
	var f *os.File
	var err error
	if o.Temp != "" {
		f, err = os.OpenFile(o.Temp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	} else {
		f, err = os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-")
	}
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil && (o.Temp == "" || perm&^0o700 != 0) {
		// CreateTemp makes 0600; OpenFile's mode passed the umask.
		err = f.Chmod(perm)
	}
	if err == nil && o.Chown != nil {
		err = o.Chown(f)
	}
	if err == nil && !o.NoSync {
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
	if !o.NoSync {
		syncfs.Dir(filepath.Dir(name))
	}
	return nil
}
