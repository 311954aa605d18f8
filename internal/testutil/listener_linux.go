package testutil

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// holdsTCPListener reports whether process pid has a TCP socket (IPv4 or
// IPv6) listening on port open, from /proc/net/tcp{,6} and
// /proc/PID/fd. known is false when /proc cannot tell. It tells a
// program that bound the port it was given from one that lost it to
// another program listening there: a dial cannot.
func holdsTCPListener(pid, port int) (held, known bool) {
	return holdsSocket(pid, port, "0A", "/proc/net/tcp", "/proc/net/tcp6") // 0A: TCP_LISTEN
}

// holdsUDPSocket is holdsTCPListener for a UDP socket bound to port.
func holdsUDPSocket(pid, port int) (held, known bool) {
	return holdsSocket(pid, port, "07", "/proc/net/udp", "/proc/net/udp6") // 07: unconnected
}

// holdsSocket reports whether process pid has a socket open that one of
// the /proc/net tables lists with local port port in state.
func holdsSocket(pid, port int, state string, tables ...string) (held, known bool) {
	inodes := map[string]bool{}
	read := false
	for _, f := range tables {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		read = true
		sc := bufio.NewScanner(fh)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != state {
				continue
			}
			_, hexPort, ok := strings.Cut(fs[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil && int(p) == port {
				inodes[fs[9]] = true
			}
		}
		fh.Close()
	}
	if !read {
		return false, false
	}
	if len(inodes) == 0 {
		return false, true
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return false, !os.IsPermission(err)
	}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if ino, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(ino, "]")] {
			return true, true
		}
	}
	return false, true
}
