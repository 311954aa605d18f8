package testutil

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestNSDServes starts the real nsd and resolves an MX, an A record, a
// missing name (NXDOMAIN) and a name in a zone nsd could not load
// (SERVFAIL, a temporary error).
func TestNSDServes(t *testing.T) {
	n := StartNSD(t, map[string]string{
		"fix.test.": `@ IN SOA ns.fix.test. admin.fix.test. 1 3600 600 86400 60
@ IN NS ns
ns IN A 127.0.0.1
@ IN MX 10 mx
mx IN A 127.0.0.1
`,
		"broken.test.": "",
	})
	r := n.Resolver()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mx, err := r.LookupMX(ctx, "fix.test")
	if err != nil || len(mx) != 1 || mx[0].Host != "mx.fix.test." || mx[0].Pref != 10 {
		t.Fatalf("MX: %v %v", mx, err)
	}
	_, err = r.LookupHost(ctx, "nosuch.fix.test")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Errorf("nosuch: want not found, got %v", err)
	}
	_, err = r.LookupMX(ctx, "broken.test")
	if !errors.As(err, &de) || de.IsNotFound || !de.IsTemporary {
		t.Errorf("broken: want a temporary error (SERVFAIL), got %#v", err)
	}
}

// TestNSDStartRetriesBusyPort: when another program listens on the TCP
// port chosen for nsd (and accepts connections there), nsd is started
// again on another port instead of being taken to serve on the busy one.
func TestNSDStartRetriesBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	go func() {
		for {
			c, err := busy.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	tries := 0
	n := startNSDOn(t, map[string]string{"fix.test.": "@ IN SOA ns.fix.test. admin.fix.test. 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"}, func() int {
		tries++
		if tries == 1 {
			return busyPort
		}
		return FreePort(t)
	})
	if tries != 2 || n.Addr == busy.Addr().String() {
		t.Fatalf("%d tries, nsd on %s (busy %d)", tries, n.Addr, busyPort)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ns, err := n.Resolver().LookupNS(ctx, "fix.test"); err != nil || len(ns) != 1 {
		t.Fatalf("NS: %v %v", ns, err)
	}
}
