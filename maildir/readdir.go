package maildir

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// The getdents buffer is sized from the directory's own size (which,
// on ext4 and most file systems, grows with the total length of its
// entries), between these bounds: a small folder costs a small buffer,
// and a 100,000-message cur/ is listed in a few dozen system calls
// (os.File.Readdirnames always uses 8 KiB).
const (
	minReaddirBuf = 4 << 10
	maxReaddirBuf = 256 << 10
)

// readNames lists the names in dir except "." and ".." and, when
// skipDot, every name starting with ".".
func readNames(dir string, skipDot bool) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(minReaddirBuf)
	if fi, err := f.Stat(); err == nil {
		size = min(max(fi.Size(), minReaddirBuf), maxReaddirBuf)
	}
	fd := int(f.Fd())
	buf := make([]byte, size)
	var out []string
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "getdents", Path: dir, Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		b := buf[:n]
		for len(b) >= 19 {
			reclen := int(binary.NativeEndian.Uint16(b[16:]))
			if reclen < 19 || reclen > len(b) {
				break
			}
			name := b[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			b = b[reclen:]
			if len(name) == 0 || (name[0] == '.' && (skipDot || len(name) == 1 || (len(name) == 2 && name[1] == '.'))) {
				continue
			}
			out = append(out, string(name))
		}
	}
}
