package testutil

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// NSD is a private nsd(8) authoritative DNS server listening on
// 127.0.0.1 (UDP and TCP) with zones given by the test.
type NSD struct {
	// Addr is "127.0.0.1:port", for both UDP and TCP.
	Addr string
	// Dir holds nsd.conf, the zone files, the pid file and nsd.log.
	Dir string
}

// StartNSD starts the real nsd in the foreground with a private
// configuration under a temporary directory, serving zones (origin such
// as "example.test." -> zone file text; $ORIGIN and $TTL are added when
// missing) on a free port of 127.0.0.1, and stops it by PID when the test
// ends. A zone whose text is "" is configured with a zone file nsd
// cannot load: nsd answers SERVFAIL for its names, which is how tests get
// a real server failure. nsd binds the port itself, so another program
// may take it first: nsd is ready only when it holds the UDP and TCP
// sockets on the port itself (read from /proc; elsewhere, when it
// answers and still runs 50 ms later), and is started again on another
// port when it exits instead, up to 5 times. It skips (or fails under
// YUBIN_REQUIRE_INTEROP=1) when nsd is not installed.
func StartNSD(t testing.TB, zones map[string]string) *NSD {
	t.Helper()
	return startNSDOn(t, zones, func() int { return FreePort(t) })
}

// startNSDOn is StartNSD with the port chooser given.
func startNSDOn(t testing.TB, zones map[string]string, choosePort func() int) *NSD {
	t.Helper()
	bin := RequireBinary(t, "nsd")
	dir := SharedDir(t)
	return startOnPorts(t, "nsd", choosePort, func(port int) (*NSD, error) {
		return startNSD(t, bin, dir, port, zones)
	})
}

func startNSD(t testing.TB, bin, dir string, port int, zones map[string]string) (*NSD, error) {
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
	ip-address: 127.0.0.1@%d
	port: %d
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: %q
	pidfile: %q
	database: ""
	xfrdfile: %q
	xfrdir: %q
	zonelistfile: %q
	logfile: %q
	server-count: 1
	tcp-count: 32
	verbosity: 1
	hide-version: yes
remote-control:
	control-enable: no
`, port, port, dir, filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "xfrd.state"), dir, filepath.Join(dir, "zone.list"), filepath.Join(dir, "nsd.log"))
	origins := make([]string, 0, len(zones))
	for o := range zones {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for i, origin := range origins {
		if !strings.HasSuffix(origin, ".") {
			origin += "."
		}
		text := zones[origins[i]]
		if text == "" {
			// A zone file nsd refuses: it logs the error and answers
			// SERVFAIL for the zone.
			text = "this is not a zone file {\n"
		} else {
			if !strings.Contains(text, "$ORIGIN") {
				text = "$ORIGIN " + origin + "\n" + text
			}
			if !strings.Contains(text, "$TTL") {
				text = "$TTL 60\n" + text
			}
		}
		file := fmt.Sprintf("zone%d.zone", i)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "zone:\n\tname: %q\n\tzonefile: %q\n", origin, file)
	}
	confPath := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "nsd.log"))
	d, err := startDaemon(bin, "-d", "-c", confPath)
	if err != nil {
		return nil, err
	}
	n := &NSD{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir}
	// Ready when it answers an SOA query for a loadable zone over UDP
	// and TCP (or, with no loadable zone, any answer at all).
	r := n.Resolver()
	probe := "nsd-probe.invalid"
	for _, o := range origins {
		if zones[o] != "" {
			probe = o
			break
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if d.exited() {
			log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
			return nil, fmt.Errorf("nsd exited: %s\n%s", d.out.String(), log)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := r.LookupNS(ctx, probe)
		cancel()
		var dnsErr *net.DNSError
		if err == nil || errors.As(err, &dnsErr) && !dnsErr.IsTimeout && probe == "nsd-probe.invalid" {
			// The answer may come from another server that took the
			// port first: it is this nsd's when nsd holds both sockets
			// (/proc); elsewhere, when nsd is still running 50 ms later.
			tcp, known := holdsTCPListener(d.pid(), port)
			udp, _ := holdsUDPSocket(d.pid(), port)
			if known && tcp && udp {
				break
			}
			if !known {
				time.Sleep(50 * time.Millisecond)
				if d.exited() {
					return nil, fmt.Errorf("nsd exited: %s", d.out.String())
				}
				break
			}
		}
		if time.Now().After(deadline) {
			d.stop()
			log, _ := os.ReadFile(filepath.Join(dir, "nsd.log"))
			return nil, fmt.Errorf("nsd not answering on %s: %v\n%s\n%s", n.Addr, err, d.out.String(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(d.stop)
	return n, nil
}

// Resolver returns a pure-Go resolver that sends every query to the
// server, over UDP and, for truncated answers, TCP.
func (n *NSD) Resolver() *net.Resolver {
	return NewTestResolver(n.Addr)
}

// NewTestResolver returns a pure-Go *net.Resolver that asks only the
// DNS server at addr ("127.0.0.1:port"), using the network (udp, tcp)
// the resolver asks for so that truncated UDP answers are retried over
// TCP.
func NewTestResolver(addr string) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			if strings.HasPrefix(network, "udp") {
				network = "udp4"
			} else {
				network = "tcp4"
			}
			return d.DialContext(ctx, network, addr)
		},
	}
}

// Log returns nsd's log so far.
func (n *NSD) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.Dir, "nsd.log"))
	return string(b)
}
