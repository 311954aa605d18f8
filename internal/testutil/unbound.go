package testutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Unbound is a private unbound(8) validating resolver on 127.0.0.1.
type Unbound struct {
	// Addr is "127.0.0.1:port" (UDP and TCP).
	Addr string
	// Dir holds unbound.conf, the trust anchors and unbound.log.
	Dir string
}

// StartUnbound starts the real unbound in the foreground as a
// validating resolver that knows only the zones of stubs (zone origin ->
// "127.0.0.1:port" of their authoritative server, such as StartNSD's)
// and validates with the trust anchors given (DNSKEY or DS records in
// zone-file form, such as SignZone's Anchor). There is no root trust
// anchor: zones without one are insecure (answers without the AD bit),
// zones with one are secure or bogus (SERVFAIL). unbound binds the port
// itself: it is started again on another port when it exits, up to 5
// times, and is stopped by PID when the test ends. It skips (or fails
// under YUBIN_REQUIRE_INTEROP=1) when unbound is not installed.
func StartUnbound(t testing.TB, stubs map[string]string, anchors ...string) *Unbound {
	t.Helper()
	bin := RequireBinary(t, "unbound")
	dir := SharedDir(t)
	af := filepath.Join(dir, "anchors")
	if err := os.WriteFile(af, []byte(strings.Join(anchors, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return startOnPorts(t, "unbound", func() int { return FreePort(t) }, func(port int) (*Unbound, error) {
		return startUnbound(t, bin, dir, port, stubs, af, len(anchors) > 0)
	})
}

func startUnbound(t testing.TB, bin, dir string, port int, stubs map[string]string, anchorFile string, haveAnchors bool) (*Unbound, error) {
	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
	interface: 127.0.0.1
	port: %d
	do-ip6: no
	do-daemonize: no
	username: ""
	chroot: ""
	directory: %q
	pidfile: %q
	logfile: %q
	use-syslog: no
	verbosity: 1
	do-not-query-localhost: no
	access-control: 127.0.0.0/8 allow
	module-config: "validator iterator"
	val-log-level: 2
	num-threads: 1
	outgoing-range: 64
	so-reuseport: no
	cache-max-ttl: 1
	cache-max-negative-ttl: 1
	infra-host-ttl: 1
	local-zone: "invalid." static
	trust-anchor-signaling: no
`, port, dir, filepath.Join(dir, "unbound.pid"), filepath.Join(dir, "unbound.log"))
	if haveAnchors {
		fmt.Fprintf(&conf, "\ttrust-anchor-file: %q\n", anchorFile)
	}
	zones := make([]string, 0, len(stubs)+1)
	all := map[string]string{}
	for z, a := range stubs {
		zones = append(zones, z)
		all[z] = a
	}
	stubs = all
	sort.Strings(zones)
	if _, ok := stubs["."]; !ok && len(zones) > 0 {
		// Never ask the real root servers: the root is a stub too, at
		// the first server, which refuses what it does not serve.
		stubs["."] = stubs[zones[0]]
		zones = append([]string{"."}, zones...)
	}
	tlds := map[string]bool{}
	for _, z := range zones {
		// unbound answers the special-use names of RFC 6761 (test.,
		// localhost., ...) itself unless told not to.
		f := strings.Split(strings.TrimSuffix(z, "."), ".")
		if tld := f[len(f)-1]; tld != "" && tld != "invalid" && !tlds[tld] {
			tlds[tld] = true
			fmt.Fprintf(&conf, "\tlocal-zone: %q nodefault\n", tld+".")
		}
	}
	for _, z := range zones {
		// unbound's stub-addr syntax is ADDR@PORT.
		addr := strings.Replace(stubs[z], ":", "@", 1)
		fmt.Fprintf(&conf, "stub-zone:\n\tname: %q\n\tstub-addr: %s\n\tstub-first: no\nserver:\n", z, addr)
	}
	fmt.Fprintf(&conf, "remote-control:\n\tcontrol-enable: no\n")
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "unbound.log"))
	d, err := startDaemon(bin, "-d", "-c", confPath)
	if err != nil {
		return nil, err
	}
	u := &Unbound{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if d.exited() {
			return nil, fmt.Errorf("unbound exited: %s\n%s", d.out.String(), u.Log())
		}
		// Ready when this unbound holds the port and answers.
		m := new(dns.Msg)
		m.SetQuestion("probe.invalid.", dns.TypeA)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _, err := (&dns.Client{}).ExchangeContext(ctx, m, u.Addr)
		cancel()
		if err == nil {
			if udp, known := holdsUDPSocket(d.pid(), port); udp || !known {
				break
			}
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("unbound not answering on %s: %v\n%s", u.Addr, err, u.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(d.stop)
	return u, nil
}

// Log returns unbound's log so far.
func (u *Unbound) Log() string {
	b, _ := os.ReadFile(filepath.Join(u.Dir, "unbound.log"))
	return string(b)
}
