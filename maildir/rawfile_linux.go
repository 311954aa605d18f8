package maildir

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reading a message file costs a POP3 or IMAP server four system calls
// (open, fstat, pread, close). Made through package unix they are calls
// that may block as far as the Go scheduler knows, and the first of them
// after the server had been waiting for its client with every processor
// idle wakes the runtime's monitor thread (sysmon), which then polls
// every 20 µs for a while: about a tenth of a POP3 server's CPU time.
// When the kernel can answer from its caches the calls cannot block, and
// they are made here as raw system calls that the scheduler does not
// see: openat2 with RESOLVE_CACHED (EAGAIN when a path component is not
// cached), statx with AT_STATX_DONT_SYNC (no attribute revalidation on
// network file systems), preadv2 with RWF_NOWAIT (EAGAIN when the data
// is not in the page cache), and close of a descriptor opened only for
// reading. Whatever would need I/O falls back to the ordinary calls.

const (
	resolveCached   = 0x20   // RESOLVE_CACHED (Linux 5.12)
	atStatxDontSync = 0x4000 // AT_STATX_DONT_SYNC
)

// noCachedOpen is set once openat2 with RESOLVE_CACHED is found missing
// (kernels before 5.12, seccomp filters), so it is not tried again.
var noCachedOpen atomic.Bool

var emptyPath = [1]byte{}

// openCached opens name relative to dfd for reading when the kernel can
// do it without I/O, and returns the descriptor and the file's size.
// ok is false when it cannot (the caller opens the ordinary way); err
// is an error of the open itself (ENOENT...).
func openCached(dfd int, name string) (fd int, size int64, ok bool, err error) {
	if noCachedOpen.Load() || len(name) >= 256 {
		return -1, 0, false, nil
	}
	var path [256]byte
	n := copy(path[:], name)
	path[n] = 0
	for i := 0; i < n; i++ {
		if path[i] == 0 {
			return -1, 0, false, unix.EINVAL
		}
	}
	// O_NONBLOCK: a FIFO where a message should be does not block the
	// open; it is refused below for not being a regular file.
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK, Resolve: resolveCached}
	r, _, e := unix.RawSyscall6(unix.SYS_OPENAT2, uintptr(dfd), uintptr(unsafe.Pointer(&path[0])), uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	switch e {
	case 0:
	case unix.EAGAIN, unix.EINTR:
		return -1, 0, false, nil
	case unix.ENOSYS, unix.EINVAL, unix.E2BIG, unix.EPERM:
		noCachedOpen.Store(true)
		return -1, 0, false, nil
	default:
		return -1, 0, false, e
	}
	fd = int(r)
	var st unix.Statx_t
	_, _, e = unix.RawSyscall6(unix.SYS_STATX, uintptr(fd), uintptr(unsafe.Pointer(&emptyPath[0])), unix.AT_EMPTY_PATH|atStatxDontSync, unix.STATX_SIZE|unix.STATX_TYPE, uintptr(unsafe.Pointer(&st)), 0)
	if e != 0 || st.Mask&(unix.STATX_SIZE|unix.STATX_TYPE) != unix.STATX_SIZE|unix.STATX_TYPE || st.Mode&unix.S_IFMT != unix.S_IFREG {
		closeRaw(fd)
		return -1, 0, false, nil
	}
	return fd, int64(st.Size), true, nil
}

// preadCached reads from fd at off what the page cache holds, up to
// len(p); n is 0 when nothing could be read without I/O.
func preadCached(fd int, p []byte, off int64) int {
	if len(p) == 0 {
		return 0
	}
	iov := unix.Iovec{Base: &p[0]}
	iov.SetLen(len(p))
	r, _, e := unix.RawSyscall6(unix.SYS_PREADV2, uintptr(fd), uintptr(unsafe.Pointer(&iov)), 1, uintptr(off), uintptr(off>>32), unix.RWF_NOWAIT)
	if e != 0 {
		return 0
	}
	return int(r)
}

// closeRaw closes a descriptor opened only for reading.
func closeRaw(fd int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0); e != 0 {
		return e
	}
	return nil
}
