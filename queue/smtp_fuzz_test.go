package queue

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func FuzzParseNexthop(f *testing.F) {
	for _, s := range []string{"example.jp", "[smtp.example.com]:587", "[ipv6:2001:db8::1]:25", "[192.0.2.1]", "host:smtp", "[", "]:", "a..b", "[::ffff:1.2.3.4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nh, err := parseSMTPNexthop(s)
		if err != nil {
			return
		}
		// What parses prints back as something that parses to the same.
		again, err := parseSMTPNexthop(nh.String())
		if err != nil || again.String() != nh.String() || again.mx != nh.mx || again.ip != nh.ip {
			t.Fatalf("%q -> %q -> %+v %v", s, nh.String(), again, err)
		}
		if len(nh.host) > 253 && !nh.ip.IsValid() {
			t.Fatalf("host of %d octets", len(nh.host))
		}
	})
}

func FuzzParseSASLValue(f *testing.F) {
	for _, s := range []string{"joe:secret", "joe", ":x", "a:b:c", "x\x00:y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, p, err := parseSASLValue(s)
		if err != nil {
			return
		}
		if u == "" || strings.Contains(u, ":") || len(u)+len(p) > maxSASLValue {
			t.Fatalf("%q -> %q %q", s, u, p)
		}
		if p != "" && u+":"+p != s {
			t.Fatalf("%q -> %q %q", s, u, p)
		}
	})
}

// smtpFuzzResolver answers MX queries with records made from the fuzzer's
// bytes and A queries with 127.0.0.1 for every name.
type smtpFuzzResolver struct {
	mx  []*net.MX
	err error
}

func (r smtpFuzzResolver) LookupMX(context.Context, string) ([]*net.MX, error) { return r.mx, r.err }

func (r smtpFuzzResolver) LookupNetIP(_ context.Context, network, _ string) ([]netip.Addr, error) {
	if network == "ip6" {
		return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1")}, nil
}

// FuzzMXAnswer feeds MX answers (host names and preferences from the
// fuzzer, up to thousands of records) through the MX handling: the
// result is sorted, bounded by the limits, and a null MX bounces.
func FuzzMXAnswer(f *testing.F) {
	f.Add([]byte("10 mx1.example.jp\n20 mx2.example.jp\n"), "client.example.jp")
	f.Add([]byte("0 .\n"), "x")
	f.Add([]byte("5 me.example.jp\n5 other.example.jp\n"), "me.example.jp")
	f.Fuzz(func(t *testing.T, answer []byte, me string) {
		var mxs []*net.MX
		for _, line := range strings.Split(string(answer), "\n") {
			pref, host, ok := strings.Cut(line, " ")
			if !ok {
				continue
			}
			var p uint16
			for _, c := range pref {
				p = p*10 + uint16(c%10)
			}
			mxs = append(mxs, &net.MX{Host: host, Pref: p})
		}
		tr := &SMTPTransport{Hostname: me, Resolver: smtpFuzzResolver{mx: mxs}, MXHostLimit: 50, Protocols: "ipv4"}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		hosts, fail := tr.mxHosts(ctx, "example.jp")
		if fail != nil {
			if fail.Status != Bounced || fail.Relay != "none" {
				t.Fatalf("failure %+v", fail)
			}
			return
		}
		if len(hosts) > 50 {
			t.Fatalf("%d hosts over the limit", len(hosts))
		}
		targets, fail := tr.targets(ctx, smtpNexthop{host: "example.jp", mx: true})
		if fail == nil && (len(targets) == 0 || len(targets) > DefaultMXAddressLimit) {
			t.Fatalf("%d targets", len(targets))
		}
	})
}

// FuzzPhaseConn feeds what a client writes and a server answers through
// the phase tracking: it never panics, keeps its buffers bounded and
// knows a phase for every read and write.
func FuzzPhaseConn(f *testing.F) {
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n"), []byte("220 hi\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n221 bye\r\n"))
	f.Add([]byte("BDAT 5 LAST\r\nhelloRSET\r\n"), []byte("220 x\r\n250 ok\r\n250 ok\r\n"))
	f.Fuzz(func(t *testing.T, written, read []byte) {
		var tm [numPhases]time.Duration
		pc := newPhaseConn(nil, &tm)
		// Interleave: a piece written, a piece read.
		for len(written) > 0 || len(read) > 0 {
			n := min(len(written), 7)
			pc.track(written[:n])
			written = written[n:]
			m := min(len(read), 5)
			pc.scan(read[:m])
			read = read[m:]
			if len(pc.rline) > cap(pc.rline) || len(pc.reply) > 1024 || pc.cur >= numPhases || pc.lastCmd >= numPhases {
				t.Fatalf("state out of bounds: %d %d %d", len(pc.rline), len(pc.reply), pc.cur)
			}
			if pc.bdat < 0 {
				t.Fatal("negative BDAT count")
			}
		}
	})
}

// FuzzDataEnd checks dataEnd, which searches DATA content for its end
// with bytes.Index, against a byte-by-byte reference, with the content
// cut into writes at two places.
func FuzzDataEnd(f *testing.F) {
	f.Add([]byte("hello\r\n.\r\nQUIT\r\n"), 3, 9)
	f.Add([]byte("a\r\n..\r\n.\r\n"), 1, 2)
	f.Add([]byte("\r\n.\r\n"), 0, 0)
	f.Fuzz(func(t *testing.T, b []byte, cut1, cut2 int) {
		ref := func() int { // where the reference sees the end, in b
			var tail uint64
			for i, x := range b {
				tail = tail<<8 | uint64(x)
				if tail&0xffffffffff == crlfDotCRLF {
					return i + 1
				}
			}
			return -1
		}()
		if cut1 < 0 {
			cut1 = -cut1
		}
		if cut2 < 0 {
			cut2 = -cut2
		}
		cuts := []int{cut1 % (len(b) + 1), cut2 % (len(b) + 1)}
		if cuts[0] > cuts[1] {
			cuts[0], cuts[1] = cuts[1], cuts[0]
		}
		pc := &phaseConn{}
		got, off := -1, 0
		for _, piece := range [][]byte{b[:cuts[0]], b[cuts[0]:cuts[1]], b[cuts[1]:]} {
			if n := pc.dataEnd(piece); n >= 0 {
				got = off + n
				break
			}
			off += len(piece)
		}
		if got != ref {
			t.Fatalf("%q cut at %v: end at %d, reference %d", b, cuts, got, ref)
		}
	})
}
