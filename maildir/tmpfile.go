package maildir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// A delivery writes its message to an unnamed file (O_TMPFILE) created
// in the folder's tmp/ and links it into new/ or cur/ under the uidlist
// lock, instead of writing tmp/<name> and renaming it. The result on disk
// is the same; what changes is the cost when many deliveries run at once:
// creating a named file and renaming it between directories both hold
// the directories' locks while the file system allocates the inode (the
// kernel spins on them; perf showed a third of the SMTP benchmark
// server's CPU there with 10 sessions into one mailbox), while an unnamed
// file takes no directory lock until the link. A delivery cut short also
// leaves nothing in tmp/: the kernel frees an unnamed file with its last
// descriptor.
//
// Where the file system or kernel has no O_TMPFILE, or the link through
// /proc/self/fd fails (no /proc), the Store falls back to tmp/<name> and
// rename for good.

// messageFile is a message being written: an unnamed file, or tmp/<name>.
type messageTemp struct {
	f    *os.File
	path string // tmp/<name>; "" for an unnamed file
}

// createMessageTemp opens the file a delivery with base name base writes.
func (m *mbox) createMessageTemp(base string) (messageTemp, error) {
	s := m.s
	tmpDir := filepath.Join(m.dir, "tmp")
	if !s.noTmpfile.Load() {
		f, err := openFile(tmpDir, os.O_RDWR|unix.O_TMPFILE, 0o600)
		if errors.Is(err, os.ErrNotExist) {
			if err = s.makeMaildir(m.dir); err == nil {
				f, err = openFile(tmpDir, os.O_RDWR|unix.O_TMPFILE, 0o600)
			}
		}
		if err == nil {
			return messageTemp{f: f}, nil
		}
		if errors.Is(err, os.ErrNotExist) {
			return messageTemp{}, err
		}
		// EOPNOTSUPP, EISDIR (an old kernel), EINVAL: named files.
		s.noTmpfile.Store(true)
	}
	path := filepath.Join(tmpDir, base)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err = s.makeMaildir(m.dir); err == nil {
			f, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		}
	}
	if err != nil {
		return messageTemp{}, err
	}
	return messageTemp{f: f, path: path}, nil
}

// discard closes and removes the file of a delivery that failed.
func (t messageTemp) discard() {
	t.f.Close()
	if t.path != "" {
		os.Remove(t.path)
	}
}

// chown gives the file the store's owner.
func (t messageTemp) chown(s *Store) {
	if s.chownFiles {
		t.f.Chown(s.uid, s.gid)
	}
}

// setTimes sets the file's mtime (and atime) to date.
func (t messageTemp) setTimes(date time.Time) error {
	return setFileTimes(t.f, unix.NsecToTimeval(date.UnixNano()))
}

// linkTmpfile is how an unnamed file gets its name (Store.linkTmpfile,
// when set, replaces it in tests, to make it fail as it would without
// /proc).
func linkTmpfile(f *os.File, to string) error {
	err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, to, unix.AT_SYMLINK_FOLLOW)
	if err != nil {
		return &os.LinkError{Op: "linkat", Old: f.Name(), New: to, Err: err}
	}
	return nil
}

// install gives the file its name to, in new/ or cur/: a rename for a
// named file, a link for an unnamed one. When the link fails for a
// reason other than to existing already, the content is copied to a
// named file in tmp/ (synced) and renamed, and the Store uses named files
// from then on. The caller syncs to's directory.
func (t messageTemp) install(s *Store, tmpDir, to string) error {
	if t.path != "" {
		return os.Rename(t.path, to)
	}
	link := linkTmpfile
	if s.linkTmpfile != nil {
		link = s.linkTmpfile
	}
	err := link(t.f, to)
	if err == nil || errors.Is(err, os.ErrExist) {
		return err
	}
	s.noTmpfile.Store(true)
	s.logger().Warn("maildir: no link for unnamed files, using tmp/ names", "err", err)
	path := filepath.Join(tmpDir, filepath.Base(to))
	if err := copyToNamed(t.f, path, !s.opts.NoSync); err != nil {
		os.Remove(path)
		return fmt.Errorf("copy to %s: %w", path, err)
	}
	s.chown(path)
	return os.Rename(path, to)
}

// copyToNamed copies f's content and times to a new file at path.
func copyToNamed(f *os.File, path string, durable bool) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, io.NewSectionReader(f, 0, fi.Size()))
	if err == nil {
		err = os.Chtimes(path, fi.ModTime(), fi.ModTime())
	}
	if err == nil && durable {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}
