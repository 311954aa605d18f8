package testutil

import (
	"net"
	"net/http"
	"testing"
)

// A port taken by another program when weed starts: the start is retried
// on other ports, and the server that comes up serves S3.
func TestSeaweedFSPortTaken(t *testing.T) {
	if WeedBinary() == "" {
		Unavailable(t, "SeaweedFS's weed not found (build it with .ci/build-weed)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	first := true
	w := startSeaweedFSOn(t, func() (seaweedPorts, error) {
		p, err := choosePorts()
		if first {
			first = false
			p.s3 = taken
		}
		return p, err
	})
	if first || w.ports.s3 == taken {
		t.Fatalf("weed runs on the taken port %d", taken)
	}
	resp, err := http.Get("http://" + w.S3Addr + "/")
	if err != nil {
		t.Fatalf("S3 gateway after the retry: %v", err)
	}
	resp.Body.Close()
}
