package sdbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// A message is written to an unnamed file (O_TMPFILE) in dbox-Mails and
// linked as u.<uid> under the log lock, instead of being written as
// .temp.<host>.<pid>... and renamed, as maildir does. The result on disk
// is the same; creating a named file and renaming it both take the
// directory's lock while the file system allocates the inode, which
// with ten concurrent appends into one big mailbox cost more CPU than
// the rest of the append. A delivery cut short (a crash) also leaves
// nothing behind: the kernel frees an unnamed file with its last
// descriptor.
//
// Where the file system has no O_TMPFILE or the link through
// /proc/self/fd fails, found out once per Store by a probe, named
// temporary files are used.

// rawFile is a message file's descriptor used through plain system
// calls: opened with open(2) rather than os.OpenFile, a regular file
// skips the runtime poller's set-up (two fcntl calls to make it
// non-blocking and back and a failed epoll_ctl), and, not wrapped in an
// os.File, the F_GETFL os.NewFile makes to learn its mode.
type rawFile struct{ fd int }

// openRaw opens path with open(2) flags (O_CLOEXEC added).
func openRaw(path string, flags int, perm uint32) (*rawFile, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, perm)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return &rawFile{fd: fd}, nil
	}
}

// Write writes all of p.
func (f *rawFile) Write(p []byte) (int, error) { return f.writeAll(p, -1) }

// WriteAt writes all of p at off.
func (f *rawFile) WriteAt(p []byte, off int64) (int, error) { return f.writeAll(p, off) }

// writeAll writes p at off, or at the file offset when off < 0.
func (f *rawFile) writeAll(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		var m int
		var err error
		if off < 0 {
			m, err = unix.Write(f.fd, p[n:])
		} else {
			m, err = unix.Pwrite(f.fd, p[n:], off+int64(n))
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.ErrShortWrite
		}
		n += m
	}
	return n, nil
}

// datasync is fdatasync(2).
func (f *rawFile) datasync() error { return unix.Fdatasync(f.fd) }

// Close closes the descriptor (once; later calls do nothing).
func (f *rawFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	err := unix.Close(f.fd)
	f.fd = -1
	return err
}

// openUnnamed opens an unnamed file in dir, or returns nil when unnamed
// files do not work there.
func (s *Store) openUnnamed(dir string) *rawFile {
	if s.noTmpfile.Load() {
		return nil
	}
	f, err := openRaw(dir, unix.O_RDWR|unix.O_TMPFILE, 0o600)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			s.noTmpfile.Store(true)
		}
		return nil
	}
	if !s.tmpfileProbed.Load() {
		probe := filepath.Join(dir, fmt.Sprintf(".temp.%s.%d.probe.%d", s.host, os.Getpid(), s.seq.Add(1)))
		if err := linkUnnamed(f, probe); err != nil {
			s.opts.logger().Warn("sdbox: no link for unnamed files, using named temporary files", "err", err)
			s.noTmpfile.Store(true)
			f.Close()
			return nil
		}
		os.Remove(probe)
		s.tmpfileProbed.Store(true)
		f.Close()
		return s.openUnnamed(dir)
	}
	if s.chownFiles {
		unix.Fchown(f.fd, s.uid, s.gid)
	}
	return f
}

// linkUnnamed gives the unnamed file f the name to; os.ErrExist when to
// exists.
func linkUnnamed(f *rawFile, to string) error {
	err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(f.fd), unix.AT_FDCWD, to, unix.AT_SYMLINK_FOLLOW)
	if err != nil {
		return &os.LinkError{Op: "linkat", Old: "/proc/self/fd/" + strconv.Itoa(f.fd), New: to, Err: err}
	}
	return nil
}
