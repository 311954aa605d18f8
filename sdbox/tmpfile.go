package sdbox

import (
	"errors"
	"fmt"
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

// openUnnamed opens an unnamed file in dir, or returns nil when unnamed
// files do not work there.
func (s *Store) openUnnamed(dir string) *os.File {
	if s.noTmpfile.Load() {
		return nil
	}
	// Opened with open(2) and wrapped, rather than by os.OpenFile: a
	// file os.OpenFile opens is offered to the runtime's poller (two
	// fcntl calls to set O_NONBLOCK and back and a failed epoll_ctl),
	// and each Fd() call sets it blocking again (two more fcntl calls);
	// a wrapped blocking descriptor costs none of that.
	fd, err := unix.Open(dir, unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			s.noTmpfile.Store(true)
		}
		return nil
	}
	f := os.NewFile(uintptr(fd), dir)
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
		f.Chown(s.uid, s.gid)
	}
	return f
}

// linkUnnamed gives the unnamed file f the name to; os.ErrExist when to
// exists.
func linkUnnamed(f *os.File, to string) error {
	err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, to, unix.AT_SYMLINK_FOLLOW)
	if err != nil {
		return &os.LinkError{Op: "linkat", Old: f.Name(), New: to, Err: err}
	}
	return nil
}
