package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestNSDMTASTSCacheSurvivesRestart: the fullserver (smtp_mta_sts =
// yes) fetches remote.test's enforce policy over the test's HTTPS
// server (certificate for mta-sts.remote.test, trusted through
// smtp_tls_CAfile) with the _mta-sts record and the MX from nsd, and
// so defers mail to the MX (smtp-sink, which offers no STARTTLS). The
// server is stopped, the HTTPS server closed, the server started again:
// the policy saved in queue_directory/tlspolicy/mta-sts.json still
// applies (the next message is deferred too, nothing reaches the sink).
// The control: with the saved file removed and HTTPS still down, no
// policy is known and the next message goes to the sink in plain text.
func TestNSDMTASTSCacheSurvivesRestart(t *testing.T) {
	t.Parallel()
	cert := testutil.NewTLSNames(t, "mta-sts.remote.test")
	var fetches atomic.Int64
	https := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "mta-sts.remote.test" || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "version: STSv1\r\nmode: enforce\r\nmx: mx.remote.test\r\nmax_age: 86400\r\n")
	}))
	https.TLS = cert.ServerConfig()
	https.StartTLS()
	defer https.Close()
	sink := testutil.StartSmtpSink(t, "127.0.0.1")
	ns := testutil.StartNSD(t, map[string]string{"remote.test.": "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n" +
		"@ MX 10 mx.remote.test.\nmx A 127.0.0.1\n_mta-sts TXT \"v=STSv1; id=20261207\"\n"})
	conf := fmt.Sprintf(`mynetworks = 127.0.0.0/8
smtp_mta_sts = yes
smtp_mta_sts_policy_address = %s
smtp_tls_CAfile = %s
smtp_dns_support_level = dnssec
smtp_dnssec_nameserver = %s
transport_maps = inline:{remote.test=smtp:remote.test:%d}
`, https.Listener.Addr(), cert.CertFile, ns.Addr, sink.Port)
	in := newInstance(t, conf)
	os.MkdirAll(in.data, 0o755)
	send := func(in *instance, rcpt string) {
		t.Helper()
		out := in.python(smtpToLMTPScript, "SMTP="+strconv.Itoa(in.ports["smtp"]), "RCPTS="+rcpt)
		if !strings.Contains(out, rcpt+" OK") {
			t.Fatalf("python:\n%s", out)
		}
	}
	stop := func(in *instance) {
		in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(20 * time.Second):
			t.Fatal("fullserver did not stop")
		}
	}
	restart := func() *instance {
		in2 := &instance{t: t, data: in.data, cfg: in.cfg, ports: map[string]int{}, done: make(chan struct{})}
		in2.start()
		return in2
	}

	in.start()
	send(in, "u1@remote.test")
	waitDeferredForTLS(t, in, "u1@remote.test")
	if fetches.Load() == 0 {
		t.Fatal("the policy was not fetched")
	}
	stop(in)
	state := filepath.Join(in.data, "queue", "tlspolicy", "mta-sts.json")
	if b, err := os.ReadFile(state); err != nil || !strings.Contains(string(b), "remote.test") {
		t.Fatalf("saved MTA-STS cache: %v\n%s", err, b)
	}
	https.Close()

	in2 := restart()
	send(in2, "u2@remote.test")
	waitDeferredForTLS(t, in2, "u2@remote.test")
	if msgs := sink.Messages(t); len(msgs) != 0 {
		t.Fatalf("mail reached the MX without TLS under the saved enforce policy:\n%s", msgs)
	}
	stop(in2)

	// Control: without the saved policy the same mail goes out.
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	in3 := restart()
	send(in3, "u3@remote.test")
	for _, m := range sink.WaitMessages(t, 1, 15*time.Second) {
		if strings.Contains(m, "u3@remote.test") {
			return
		}
	}
	t.Fatalf("without the saved policy the mail did not reach the sink; log:\n%s", in3.errText())
}

// waitDeferredForTLS waits up to 10 s for the log line that defers
// rcpt because the MX did not offer the TLS the policy requires.
func waitDeferredForTLS(t *testing.T, in *instance, rcpt string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range strings.Split(in.errText(), "\n") {
			if strings.Contains(l, "to=<"+rcpt+">, relay=mx.remote.test[127.0.0.1]") &&
				strings.Contains(l, "status=deferred (TLS is required, but was not offered by host mx.remote.test") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deferral for want of TLS to %s; log:\n%s", rcpt, in.errText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
