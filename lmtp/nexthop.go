package lmtp

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseNexthop turns the nexthop of a Postfix lmtp transport
// (mailbox_transport = lmtp:unix:private/dovecot-lmtp, transport_maps
// results) into the network and address for Dial: "unix:/path" (a
// relative path is taken from baseDir, as Postfix takes it from its queue
// directory), "inet:host:port", "host:port", "[host]:port", "inet:host"
// and "host" (port 24, RFC 2033's).
func ParseNexthop(nexthop, baseDir string) (network, addr string, err error) {
	if p, ok := strings.CutPrefix(nexthop, "unix:"); ok {
		if p == "" {
			return "", "", errors.New("lmtp:unix: needs a socket path")
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		return "unix", p, nil
	}
	hp := strings.TrimPrefix(nexthop, "inet:")
	if hp == "" {
		return "", "", errors.New("lmtp: needs a destination (lmtp:unix:/path or lmtp:inet:host:port)")
	}
	host, port := hp, "24"
	if h, p, err := net.SplitHostPort(hp); err == nil {
		host, port = h, p
	} else if strings.Count(hp, ":") > 1 && !strings.HasPrefix(hp, "[") {
		return "", "", fmt.Errorf("lmtp:%s: write an IPv6 address as [addr]:port", nexthop)
	}
	host = strings.Trim(host, "[]")
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || host == "" {
		return "", "", fmt.Errorf("lmtp:%s: want host:port", nexthop)
	}
	return "tcp", net.JoinHostPort(host, port), nil
}
