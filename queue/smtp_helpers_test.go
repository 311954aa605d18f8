package queue

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// smtpTestZone is the yubin.test zone the transport tests resolve through
// the real nsd.
func smtpTestZone(extra string) string {
	return `@ IN SOA ns.yubin.test. admin.yubin.test. 1 3600 600 86400 60
@ IN NS ns
ns IN A 127.0.0.1
; MX with several preferences: the first one has only ::1 (nothing
; listens there), so delivery falls back to the second
multi IN MX 10 mx6
multi IN MX 20 mx4
multi IN MX 30 mx4b
mx6 IN AAAA ::1
mx4 IN A 127.0.0.1
mx4b IN A 127.0.0.1
; equal preferences
equal IN MX 10 e1
equal IN MX 10 e2
equal IN MX 10 e3
equal IN MX 20 e4
e1 IN A 127.0.0.1
e2 IN A 127.0.0.1
e3 IN A 127.0.0.1
e4 IN A 127.0.0.1
; no MX: implicit MX
implicit IN A 127.0.0.1
; null MX (RFC 7505)
nullmx IN MX 0 .
; the relayhost and TLS server names
relay IN A 127.0.0.1
mx IN A 127.0.0.1
tls IN MX 10 mx
; an MX host without address
noaddr IN MX 10 nowhere
; secure level: the MX is a host in the nexthop domain
sec IN MX 10 mx.sec
mx.sec IN A 127.0.0.1
; IPv6 only
v6 IN MX 10 mx6
` + extra
}

// smtpBigMX returns 1000 MX records for big.yubin.test: an answer too large
// for UDP, fetched again over TCP.
func smtpBigMX() string {
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "big IN MX %d host%04d.big\n", 10+i, i)
	}
	b.WriteString("host0000.big IN A 127.0.0.1\n")
	return b.String()
}

// startSMTPDNS starts nsd with the test zones and returns a resolver for it.
func startSMTPDNS(t testing.TB) Resolver {
	t.Helper()
	n := testutil.StartNSD(t, map[string]string{
		"yubin.test.":        smtpTestZone(smtpBigMX()),
		"broken.yubin.test.": "", // nsd cannot load it: SERVFAIL
	})
	return n.Resolver()
}

// smtpLogBuffer collects what the transport logs.
type smtpLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *smtpLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *smtpLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newSMTPLogger() (*slog.Logger, *smtpLogBuffer) {
	lb := &smtpLogBuffer{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

const smtpTestMessage = "From: a@example.jp\r\nTo: b@yubin.test\r\nSubject: test\r\n\r\nHello.\r\n.leading dot\r\n"

// newSMTPDelivery makes a Delivery of msg to the addresses via nexthop.
func newSMTPDelivery(nexthop, msg string, to ...string) *Delivery {
	env := &Envelope{ID: "4XTEST", From: "sender@example.jp", Arrival: time.Now()}
	for _, a := range to {
		env.Recipients = append(env.Recipients, Recipient{Addr: a, Transport: "smtp", Nexthop: nexthop})
	}
	return &Delivery{
		Envelope:   env,
		Nexthop:    nexthop,
		Recipients: env.Recipients,
		Size:       int64(len(msg)),
		Open:       func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(msg)), nil },
	}
}

func smtpDeliver(t testing.TB, tr *SMTPTransport, d *Delivery) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res := tr.Deliver(ctx, d)
	if len(res) != len(d.Recipients) {
		t.Fatalf("%d results for %d recipients", len(res), len(d.Recipients))
	}
	for i, r := range res {
		t.Logf("to=<%s> relay=%s dsn=%s status=%s (%s) [%v]", d.Recipients[i].Addr, r.Relay, r.DSN, r.Status, r.Text, time.Since(start).Round(time.Millisecond))
	}
	return res
}

func wantSMTPStatus(t testing.TB, r Result, st Status, dsn, text string) {
	t.Helper()
	if r.Status != st || dsn != "" && r.DSN != dsn || !strings.Contains(r.Text, text) {
		t.Errorf("got status=%s dsn=%s (%s); want status=%s dsn=%s text containing %q", r.Status, r.DSN, r.Text, st, dsn, text)
	}
}

func smtpItoa(n int) string { return fmt.Sprint(n) }

// startSinkV6 starts smtp-sink on [::1], skipping when this host has no
// IPv6 loopback.
func startSinkV6(t testing.TB) *testutil.SmtpSink {
	t.Helper()
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here (%v): the IPv6 delivery case cannot run", err)
	}
	l.Close()
	return testutil.StartSmtpSink(t, "::1")
}

func smtpX509Opts(pool *x509.CertPool) x509.VerifyOptions { return x509.VerifyOptions{Roots: pool} }
