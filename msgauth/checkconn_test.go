package msgauth

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// connFrames calls f under n frames of 512 bytes, about the stack an
// SMTP connection's goroutine holds when its DATA handler runs.
//
//go:noinline
func connFrames(n int, f func()) {
	var pad [512]byte
	if n == 0 {
		f()
		return
	}
	connFrames(n-1, f)
	pad[n%len(pad)] = 1
}

// BenchmarkCheckPerConnection is BenchmarkCheckWarm/all with every
// Check on a new goroutine, as in a server with a goroutine per
// connection: its stack starts small and grows wherever the check needs
// more. One RSA-2048 and one Ed25519 signature; cpu-ns/op is the
// process CPU time.
func BenchmarkCheckPerConnection(b *testing.B) {
	k := newTestKeys(b, "example.test")
	ns := startDNS(b, map[string]string{"example.test.": k.zone + "@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"})
	v := &Verifier{Resolver: &CachingResolver{Resolver: ns.Resolver(), TTL: time.Hour}, KeyCache: &KeyCache{TTL: time.Hour}, Results: &ResultCache{TTL: time.Hour}}
	env := Envelope{ClientIP: net.ParseIP("127.0.0.1"), HELO: "c.example.test", MailFrom: "alice@example.test"}
	msg := benchMessage(4 << 10)
	for _, kt := range []struct {
		name string
		key  *Key
	}{{"RSA2048", k.rsaKey()}, {"Ed25519", k.edKey()}} {
		sig, err := (&Signer{Keys: DomainKeys{"example.test": {kt.key}}}).Sign(context.Background(), strings.NewReader(msg))
		if err != nil {
			b.Fatal(err)
		}
		body := sig + msg
		b.Run(kt.name, func(b *testing.B) {
			b.ReportAllocs()
			c0 := cpuTime()
			for range b.N {
				done := make(chan *Results)
				go connFrames(16, func() {
					r, err := v.Check(context.Background(), env, strings.NewReader(body))
					if err != nil {
						r = nil
					}
					done <- r
				})
				if r := <-done; r == nil || r.DMARC.Result != ResultPass || len(r.DKIM) != 1 || r.DKIM[0].Result != ResultPass {
					b.Fatalf("%+v", r)
				}
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}
