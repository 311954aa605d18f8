package restrict

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"
)

// testDNS is a real DNS server on 127.0.0.1 answering from a map.
type testDNS struct {
	mu       sync.Mutex
	a        map[string][]string // name. -> IPv4/IPv6 addresses
	mx       map[string][]string // name. -> "pref host."
	txt      map[string][]string
	servfail map[string]bool
	queries  atomic.Int64
	asked    map[string]int // "TYPE name." -> queries received
	addr     string
}

func newTestDNS(t testing.TB) *testDNS {
	t.Helper()
	d := &testDNS{a: map[string][]string{}, mx: map[string][]string{}, txt: map[string][]string{}, servfail: map[string]bool{}, asked: map[string]int{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: d}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return d
}

func (d *testDNS) addA(name string, addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.a[dns.Fqdn(strings.ToLower(name))] = append(d.a[dns.Fqdn(strings.ToLower(name))], addrs...)
}

// addMX adds an MX record; host may be "pref host" (default preference 10).
func (d *testDNS) addMX(name, host string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mx[dns.Fqdn(name)] = append(d.mx[dns.Fqdn(name)], host)
}

func (d *testDNS) addTXT(name, txt string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.txt[dns.Fqdn(name)] = append(d.txt[dns.Fqdn(name)], txt)
}

func (d *testDNS) fail(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.servfail[dns.Fqdn(name)] = true
}

func (d *testDNS) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	d.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked[dns.TypeToString[q.Qtype]+" "+name]++
	if d.servfail[name] {
		m.Rcode = dns.RcodeServerFailure
		w.WriteMsg(m)
		return
	}
	exists := d.a[name] != nil || d.mx[name] != nil || d.txt[name] != nil
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
	switch q.Qtype {
	case dns.TypeA, dns.TypeAAAA:
		for _, a := range d.a[name] {
			ip := net.ParseIP(a)
			if ip.To4() != nil && q.Qtype == dns.TypeA {
				h := hdr
				h.Rrtype = dns.TypeA
				m.Answer = append(m.Answer, &dns.A{Hdr: h, A: ip.To4()})
			} else if ip.To4() == nil && q.Qtype == dns.TypeAAAA {
				h := hdr
				h.Rrtype = dns.TypeAAAA
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: h, AAAA: ip})
			}
		}
	case dns.TypeMX:
		for _, mx := range d.mx[name] {
			h := hdr
			h.Rrtype = dns.TypeMX
			pref := uint16(10)
			if p, host, ok := strings.Cut(mx, " "); ok { // "20 backup.example"
				n, _ := strconv.Atoi(p)
				pref, mx = uint16(n), host
			}
			m.Answer = append(m.Answer, &dns.MX{Hdr: h, Preference: pref, Mx: dns.Fqdn(mx)})
		}
	case dns.TypeTXT:
		for _, t := range d.txt[name] {
			h := hdr
			h.Rrtype = dns.TypeTXT
			m.Answer = append(m.Answer, &dns.TXT{Hdr: h, Txt: []string{t}})
		}
	}
	if !exists {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}

// askedFor returns how many queries of type qtype ("A", "MX") for name
// the server has received.
func (d *testDNS) askedFor(qtype, name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.asked[qtype+" "+dns.Fqdn(strings.ToLower(name))]
}

// resolver returns a net.Resolver that asks only this server.
func (d *testDNS) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "udp", d.addr)
		},
	}
}
