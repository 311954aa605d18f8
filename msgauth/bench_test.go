package msgauth

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/queue"
	"github.com/yubinmail/yubin/smtp"
)

// benchMessage is a message of about size bytes with typical headers.
func benchMessage(size int) string {
	h := "From: Alice <alice@example.test>\r\nTo: bob@example.org\r\nSubject: benchmark\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <b@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	return h + strings.Repeat(strings.Repeat("abcdefghij", 7)+"\r\n", (size-len(h))/72)
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSign measures one DKIM signature over 4 KiB and 100 KiB
// messages with each key type; cpu-ns/op is the process CPU time.
func BenchmarkSign(b *testing.B) {
	k := newTestKeys(b, "example.test")
	for _, kt := range []struct {
		name string
		key  *Key
	}{{"RSA2048", k.rsaKey()}, {"Ed25519", k.edKey()}} {
		for _, size := range []struct {
			name string
			n    int
		}{{"4KiB", 4 << 10}, {"100KiB", 100 << 10}} {
			b.Run(kt.name+"/"+size.name, func(b *testing.B) {
				msg := benchMessage(size.n)
				s := &Signer{Keys: DomainKeys{"example.test": {kt.key}}}
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				c0 := cpuTime()
				b.ResetTimer()
				for range b.N {
					if _, err := s.Sign(context.Background(), strings.NewReader(msg)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkVerify measures verifying one signature (key from an
// in-memory resolver: the crypto and canonicalization, not DNS).
func BenchmarkVerify(b *testing.B) {
	k := newTestKeys(b, "example.test")
	rsaTXT, _ := TXTRecord(k.rsa.Public())
	edTXT, _ := TXTRecord(k.ed.Public())
	v := &Verifier{Resolver: staticResolver{txt: map[string][]string{
		"yrsa._domainkey.example.test": {rsaTXT}, "yed25519._domainkey.example.test": {edTXT},
	}}}
	for _, kt := range []struct {
		name string
		key  *Key
	}{{"RSA2048", k.rsaKey()}, {"Ed25519", k.edKey()}} {
		for _, size := range []struct {
			name string
			n    int
		}{{"4KiB", 4 << 10}, {"100KiB", 100 << 10}} {
			b.Run(kt.name+"/"+size.name, func(b *testing.B) {
				msg := benchMessage(size.n)
				s := &Signer{Keys: DomainKeys{"example.test": {kt.key}}}
				sig, err := s.Sign(context.Background(), strings.NewReader(msg))
				if err != nil {
					b.Fatal(err)
				}
				signed := sig + msg
				b.SetBytes(int64(len(signed)))
				b.ReportAllocs()
				c0 := cpuTime()
				b.ResetTimer()
				for range b.N {
					res, err := v.VerifyDKIM(context.Background(), strings.NewReader(signed))
					if err != nil || res[0].Result != ResultPass {
						b.Fatal(res, err)
					}
				}
				b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkOpenDKIMSign has the real opendkim sign the same messages in
// its test mode (-t: one process per message; opendkim-testmsg fails
// with "dkim_chunk(): Syntax error" on every input here) and reports the
// child's CPU time per message, and the same for a tiny message (the
// start-up and configuration cost) as base-cpu-ns/op: the difference is
// OpenDKIM's signing cost, to compare with BenchmarkSign's cpu-ns/op.
func BenchmarkOpenDKIMSign(b *testing.B) {
	bin := testutil.LookBinary("opendkim")
	if bin == "" {
		b.Skip("opendkim not installed")
	}
	k := newTestKeys(b, "example.test")
	dir := b.TempDir()
	write := func(name, text string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
		return p
	}
	run := func(b *testing.B, conf, file string) time.Duration {
		cmd := exec.Command(bin, "-x", conf, "-t", file)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "DKIM-Signature:") {
			b.Fatalf("opendkim: %v %s", err, out.String())
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	tiny := write("tiny.eml", "From: a@example.test\r\n\r\nx\r\n")
	for _, kt := range []struct{ name, file, alg string }{{"RSA2048", k.rsaFile, "rsa-sha256"}, {"Ed25519", k.edFile, "ed25519-sha256"}} {
		conf := write(kt.name+".conf", "Mode s\nDomain example.test\nSelector s\nKeyFile "+kt.file+"\nSignatureAlgorithm "+kt.alg+
			"\nCanonicalization relaxed/relaxed\nSyslog no\nRequireSafeKeys no\nOversignHeaders From,Subject,To\n")
		for _, size := range []struct {
			name string
			n    int
		}{{"4KiB", 4 << 10}, {"100KiB", 100 << 10}} {
			b.Run(kt.name+"/"+size.name, func(b *testing.B) {
				file := write(kt.name+size.name+".eml", benchMessage(size.n))
				var cpu, base time.Duration
				for range b.N {
					cpu += run(b, conf, file)
					base += run(b, conf, tiny)
				}
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(base)/float64(b.N), "base-cpu-ns/op")
				b.ReportMetric(float64(cpu-base)/float64(b.N), "sign-cpu-ns/op")
			})
		}
	}
}

// BenchmarkSMTPAcceptInboundChecks measures what the inbound checks add
// to accepting mail: whole SMTP sessions over loopback into an
// smtp.Server whose backend reads the message and drops it ("null"), or
// puts it in a real queue (fsync'd, on hold: "queue", what the fullserver
// does before answering 250), each without ("plain") or after
// Verifier.Check ("checked": SPF, one RSA-2048 DKIM signature, DMARC)
// with a warm DNS cache (CachingResolver over nsd). Compare cpu-ns/op
// and ns/op of plain and checked in the same run.
func BenchmarkSMTPAcceptInboundChecks(b *testing.B) {
	k := newTestKeys(b, "example.test")
	ns := startDNS(b, map[string]string{"example.test.": k.zone + "@ TXT \"v=spf1 ip4:127.0.0.1 -all\"\n_dmarc TXT \"v=DMARC1; p=reject\"\n"})
	v := &Verifier{Resolver: &CachingResolver{Resolver: ns.Resolver(), TTL: time.Hour}, KeyCache: &KeyCache{TTL: time.Hour}}
	s := &Signer{Keys: DomainKeys{"example.test": {k.rsaKey()}}}
	msg := benchMessage(4 << 10)
	sig, err := s.Sign(context.Background(), strings.NewReader(msg))
	if err != nil {
		b.Fatal(err)
	}
	body := sig + msg
	env := Envelope{ClientIP: net.ParseIP("127.0.0.1"), HELO: "c.example.test", MailFrom: "alice@example.test"}
	if r, err := v.Check(context.Background(), env, strings.NewReader(body)); err != nil || r.DMARC.Result != ResultPass {
		b.Fatalf("warm-up check: %+v %v", r, err)
	}
	q := &queue.Queue{Dir: b.TempDir(), Hostname: "mx.example.org"}
	if err := q.Start(); err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	for _, bc := range []struct {
		name            string
		queued, checked bool
	}{{"null/plain", false, false}, {"null/checked", false, true}, {"queue/plain", true, false}, {"queue/checked", true, true}} {
		checked := bc.checked
		b.Run(bc.name, func(b *testing.B) {
			srv := &smtp.Server{Hostname: "mx.example.org", MaxConnsPerClient: -1, AllowUnauthPipelining: true,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Backend: smtp.DataFunc(func(ctx context.Context, e *smtp.Envelope, r io.Reader) error {
					data, err := io.ReadAll(r)
					if err != nil {
						return err
					}
					hdr := ""
					if checked {
						res, err := v.Check(ctx, env, bytes.NewReader(data))
						if err != nil || res.DMARC.Result != ResultPass {
							return &smtp.Error{Code: 550, Enhanced: smtp.Enhanced{5, 7, 1}, Message: "check failed"}
						}
						hdr = res.Header("mx.example.org")
					}
					if !bc.queued {
						return nil
					}
					_, err = q.Enqueue(ctx, &queue.Envelope{From: e.From, Hold: true, Recipients: []queue.Recipient{{Addr: "b@example.org", Transport: "discard"}}},
						io.MultiReader(strings.NewReader(hdr), bytes.NewReader(data)))
					return err
				})}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			go srv.Serve(l)
			defer srv.Close()
			script := "EHLO c.example.test\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n" + body + ".\r\nQUIT\r\n"
			b.SetBytes(int64(len(body)))
			c0 := cpuTime()
			b.ResetTimer()
			var wg sync.WaitGroup
			sem := make(chan struct{}, 10)
			for range b.N {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					c, err := net.Dial("tcp", l.Addr().String())
					if err != nil {
						b.Error(err)
						return
					}
					defer c.Close()
					go io.WriteString(c, script)
					r := bufio.NewReader(c)
					ok := false
					for {
						line, err := r.ReadString('\n')
						if err != nil {
							break
						}
						if strings.HasPrefix(line, "250 2.0.0 Ok: queued") {
							ok = true
						}
					}
					if !ok {
						b.Error("message not accepted")
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}
