package msgauth

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// BenchmarkCheckWarm measures Verifier.Check alone on a 4 KiB message
// with one RSA-2048 signature, SPF pass and DMARC pass, every DNS answer
// in a warm CachingResolver.
func BenchmarkCheckWarm(b *testing.B) {
	k := newTestKeys(b, "example.test")
	ns := startDNS(b, map[string]string{"example.test.": k.zone + "@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"})
	v := &Verifier{Resolver: &CachingResolver{Resolver: ns.Resolver(), TTL: time.Hour}, KeyCache: &KeyCache{TTL: time.Hour}, Results: &ResultCache{TTL: time.Hour}}
	s := &Signer{Keys: DomainKeys{"example.test": {k.rsaKey()}}}
	msg := benchMessage(4 << 10)
	sig, _ := s.Sign(context.Background(), strings.NewReader(msg))
	body := sig + msg
	env := Envelope{ClientIP: net.ParseIP("127.0.0.1"), HELO: "c.example.test", MailFrom: "alice@example.test"}
	for _, part := range []string{"all", "spf", "dkim", "dmarc"} {
		b.Run(part, func(b *testing.B) {
			lim := v.Limits.withDefaults()
			_, fields, _ := readHeader(bufioReader(body), 1<<20, 100)
			b.ReportAllocs()
			c0 := cpuTime()
			for range b.N {
				switch part {
				case "all":
					r, err := v.Check(context.Background(), env, strings.NewReader(body))
					if err != nil || r.DMARC.Result != ResultPass {
						b.Fatal(r, err)
					}
				case "spf":
					v.CheckSPF(context.Background(), env.ClientIP, env.HELO, env.MailFrom)
				case "dkim":
					v.VerifyDKIM(context.Background(), strings.NewReader(body))
				case "dmarc":
					v.evaluateDMARC(context.Background(), lim, fields, SPFResult{Result: ResultPass, Domain: "example.test"}, nil)
				}
			}
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}
