package maildir

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// readdirBuf is the getdents buffer: big enough that listing a 100,000
// message cur/ takes a handful of system calls (os.File.Readdirnames
// uses 8 KiB).
const readdirBuf = 1 << 20

// readNames lists the names in dir except "." and ".." and, when
// skipDot, every name starting with ".".
func readNames(dir string, skipDot bool) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fd := int(f.Fd())
	buf := make([]byte, readdirBuf)
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
