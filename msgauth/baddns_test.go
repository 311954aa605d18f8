package msgauth

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/yubinmail/yubin/internal/testutil"
)

// startBadDNS runs a DNS server on 127.0.0.1 (UDP and TCP) that
// misbehaves by name: slow.bad.test answers after 3 s, garbage.bad.test
// with random bytes, many.bad.test with 500 TXT records (SPF, DMARC and
// DKIM key alike), servfail.bad.test with SERVFAIL.
func startBadDNS(t *testing.T) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if len(req.Question) != 1 {
			return
		}
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		switch {
		case strings.HasSuffix(name, "slow.bad.test."):
			time.Sleep(3 * time.Second)
		case strings.HasSuffix(name, "garbage.bad.test."):
			w.Write([]byte{byte(req.Id >> 8), byte(req.Id), 0x81, 0x80, 0, 1, 0, 9, 0xde, 0xad, 0xbe, 0xef, 3, 'x'})
			return
		case strings.HasSuffix(name, "servfail.bad.test."):
			m.Rcode = dns.RcodeServerFailure
		case strings.HasSuffix(name, "many.bad.test.") && q.Qtype == dns.TypeTXT:
			for i := 0; i < 500; i++ {
				var txt string
				switch {
				case strings.HasPrefix(name, "_dmarc."):
					txt = fmt.Sprintf("v=DMARC1; p=reject; rua=mailto:r%d@x", i)
				case strings.Contains(name, "._domainkey."):
					txt = fmt.Sprintf("v=DKIM1; k=ed25519; p=%d", i)
				default:
					txt = fmt.Sprintf("v=spf1 ip4:198.51.100.%d -all", i%256)
				}
				m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{txt}})
			}
			if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
				m.Truncate(512)
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		pc.Close()
		t.Skipf("TCP port %s taken: %v", addr, err)
	}
	us := &dns.Server{PacketConn: pc, Handler: handler}
	ts := &dns.Server{Listener: ln, Handler: handler}
	go us.ActivateAndServe()
	go ts.ActivateAndServe()
	t.Cleanup(func() { us.Shutdown(); ts.Shutdown() })
	return addr
}

// TestDNSBadServer: a DNS server that answers slowly, with garbage, with
// 500 TXT records or SERVFAIL costs each check a bounded time
// (Limits.Timeout) and gives temperror or permerror, never a hang.
func TestDNSBadServer(t *testing.T) {
	t.Parallel()
	addr := startBadDNS(t)
	v := &Verifier{Resolver: testutil.NewTestResolver(addr), Limits: Limits{Timeout: time.Second}}
	ctx := context.Background()
	ip := net.ParseIP("192.0.2.1")
	for _, tc := range []struct{ sender, want string }{
		{"a@slow.bad.test", ResultTempError},
		{"a@garbage.bad.test", ResultTempError},
		{"a@many.bad.test", ResultPermError},
		{"a@servfail.bad.test", ResultTempError},
		{"a@nxdomain.bad.test", ResultNone},
	} {
		start := time.Now()
		r := v.CheckSPF(ctx, ip, "mx.example.org", tc.sender)
		took := time.Since(start)
		if r.Result != tc.want || took > 2500*time.Millisecond {
			t.Errorf("SPF %s: %s (%s) in %v, want %s within the 1s limit", tc.sender, r.Result, r.Reason, took, tc.want)
		}
	}
	// DKIM keys behind the same server.
	k := newTestKeys(t, "example.test")
	for _, tc := range []struct{ domain, want string }{
		{"slow.bad.test", ResultTempError},
		{"many.bad.test", ResultPermError},
		{"servfail.bad.test", ResultTempError},
	} {
		s := &Signer{Keys: DomainKeys{"example.test": {&Key{Domain: tc.domain, Selector: "s", Signer: k.ed}}}}
		msg := "From: a@example.test\r\n\r\nx\r\n"
		sig, err := s.Sign(ctx, strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res, err := v.VerifyDKIM(ctx, strings.NewReader(sig+msg))
		took := time.Since(start)
		if err != nil || len(res) != 1 || res[0].Result != tc.want || took > 2500*time.Millisecond {
			t.Errorf("DKIM d=%s: %+v %v in %v, want %s", tc.domain, res, err, took, tc.want)
		}
	}
	// DMARC: 500 records at _dmarc are "more than one", as if none.
	_, fields, _ := readHeader(bufioReader("From: a@many.bad.test\r\n\r\n"), 1<<20, 10)
	start := time.Now()
	d := v.evaluateDMARC(ctx, v.Limits.withDefaults(), fields, SPFResult{}, nil)
	if d.Result != ResultPermError && d.Result != ResultNone || time.Since(start) > 2500*time.Millisecond {
		t.Errorf("DMARC with 500 records: %+v", d)
	}
	_, fields, _ = readHeader(bufioReader("From: a@slow.bad.test\r\n\r\n"), 1<<20, 10)
	start = time.Now()
	d = v.evaluateDMARC(ctx, v.Limits.withDefaults(), fields, SPFResult{}, nil)
	if d.Result != ResultTempError || time.Since(start) > 2500*time.Millisecond {
		t.Errorf("DMARC with a slow server: %+v in %v", d, time.Since(start))
	}
}

// countingResolver counts TXT lookups.
type countingResolver struct {
	Resolver
	txt atomic.Int64
}

func (c *countingResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	c.txt.Add(1)
	return c.Resolver.LookupTXT(ctx, name)
}

// TestNSD1000DKIMSignatures: a message with 1,000 DKIM-Signature fields
// (each naming its own selector, so no answer could be shared) costs
// Limits.MaxDKIMSignatures key lookups and verifications; the rest are
// reported as "policy" without work.
func TestNSD1000DKIMSignatures(t *testing.T) {
	t.Parallel()
	k := newTestKeys(t, "example.test")
	ns := startDNS(t, map[string]string{"example.test.": k.zone})
	cr := &countingResolver{Resolver: ns.Resolver()}
	v := &Verifier{Resolver: cr}
	msg := "From: a@example.test\r\nSubject: many\r\n\r\nbody\r\n"
	s := &Signer{Keys: DomainKeys{"example.test": {k.edKey()}}}
	sig, err := s.Sign(context.Background(), strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < 999; i++ {
		b.WriteString(strings.Replace(sig, "s=yed25519", fmt.Sprintf("s=sel%d", i), 1))
	}
	b.WriteString(sig) // the one good signature, last
	b.WriteString(msg)
	start := time.Now()
	res, err := v.VerifyDKIM(context.Background(), strings.NewReader(b.String()))
	took := time.Since(start)
	if err != nil || len(res) != 1000 {
		t.Fatalf("%d results, %v", len(res), err)
	}
	checked := 0
	for _, r := range res {
		if r.Result != ResultPolicy {
			checked++
		}
	}
	if checked != 5 || cr.txt.Load() > 5 || res[999].Result != ResultPolicy {
		t.Fatalf("%d checked, %d TXT lookups, last %s", checked, cr.txt.Load(), res[999].Result)
	}
	t.Logf("1000 signatures: %d verified, %d lookups, %v", checked, cr.txt.Load(), took)
}
