package queue

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/tlspolicy"
)

// stsServer is an HTTPS server (Go's net/http on 127.0.0.1) serving the
// MTA-STS policies of the domains in policies by Host header, as
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt, and counting fetches.
type stsServer struct {
	srv     *httptest.Server
	cert    *testutil.TLSFixture
	mu      sync.Mutex
	fetches map[string]int
}

func startSTSServer(t *testing.T, policies map[string]string) *stsServer {
	t.Helper()
	var names []string
	for d := range policies {
		names = append(names, "mta-sts."+d)
	}
	names = append(names, "mta-sts.gone.sts.test")
	s := &stsServer{cert: testutil.NewTLSNames(t, names...), fetches: map[string]int{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := strings.TrimPrefix(r.Host, "mta-sts.")
		s.mu.Lock()
		s.fetches[d]++
		s.mu.Unlock()
		p, ok := policies[d]
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, p)
	}))
	s.srv.TLS = s.cert.ServerConfig()
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stsServer) count(d string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches[d]
}

// TestPostfixMTASTS delivers to a real Postfix (STARTTLS, a certificate
// for mx.sts.test trusted through smtp_tls_CAfile) with MTA-STS on, DNS
// from the real nsd and the policies served over HTTPS by a Go net/http
// server on 127.0.0.1 (the client's dialer is pointed at it): an
// enforced policy that lists the MX is delivered and logged "Verified
// TLS", and fetched once for two deliveries (cache); an enforced policy
// that does not list the MX defers; a testing policy that does not list
// it delivers and reports; an MX whose certificate does not name it
// defers under enforce; a policy that cannot be fetched delivers as
// before and reports sts-policy-fetch-error; a configured level secure
// is still checked under an enforced policy. The TLS-RPT counts equal
// what happened, and the reports go to the domains' rua addresses.
func TestPostfixMTASTS(t *testing.T) {
	t.Parallel()
	pf, pcert, _ := danePostfix(t, "mx.sts.test")
	port := smtpItoa(pf.SMTPPort)
	roots, err := LoadRootCAs(pcert.CertFile, "")
	if err != nil {
		t.Fatal(err)
	}
	pol := func(mode, mx string) string {
		return "version: STSv1\r\nmode: " + mode + "\r\nmx: " + mx + "\r\nmax_age: 86400\r\n"
	}
	sts := startSTSServer(t, map[string]string{
		"enf.sts.test":  pol("enforce", "mx.sts.test"),
		"mis.sts.test":  pol("enforce", "other.sts.test"),
		"tst.sts.test":  pol("testing", "*.example.net"),
		"name.sts.test": pol("enforce", "*.sts.test"),
	})
	ns := testutil.StartNSD(t, map[string]string{"sts.test.": `@ SOA ns.sts.test. hostmaster.sts.test. 1 3600 600 86400 60
@ NS ns.sts.test.
ns A 127.0.0.1
mx A 127.0.0.1
mx-name A 127.0.0.1
enf MX 10 mx.sts.test.
_mta-sts.enf TXT "v=STSv1; id=20261207;"
_smtp._tls.enf TXT "v=TLSRPTv1; rua=mailto:tlsrpt@reports.test"
mis MX 10 mx.sts.test.
_mta-sts.mis TXT "v=STSv1; id=1"
tst MX 10 mx.sts.test.
_mta-sts.tst TXT "v=STSv1; id=1"
_smtp._tls.tst TXT "v=TLSRPTv1;rua=https://reports.test/tlsrpt,mailto:rpt@reports.test"
name MX 10 mx-name.sts.test.
_mta-sts.name TXT "v=STSv1; id=1"
gone MX 10 mx.sts.test.
_mta-sts.gone TXT "v=STSv1; id=1"
plain MX 10 mx.sts.test.
`})
	res := ns.Resolver()
	rec := &tlspolicy.Recorder{}
	addr := sts.srv.Listener.Addr().String()
	stsc := &tlspolicy.STS{
		Resolver: tlspolicy.NetTXT{R: res},
		RootCAs:  sts.cert.Pool,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	policy := &tlspolicy.Policy{STS: stsc, Recorder: rec}
	for _, tc := range []struct {
		domain string
		status Status
		text   string // in the log for Sent, in the result otherwise
	}{
		{"enf.sts.test", Sent, "Verified TLS connection established to mx.sts.test[127.0.0.1]:" + port},
		{"enf.sts.test", Sent, "Verified TLS connection established to mx.sts.test[127.0.0.1]:" + port},
		{"mis.sts.test", Deferred, "MX host mx.sts.test does not match the MTA-STS policy of mis.sts.test"},
		{"tst.sts.test", Sent, "Trusted TLS connection established to mx.sts.test[127.0.0.1]:" + port},
		{"name.sts.test", Deferred, "Server certificate not verified: name mismatch"},
		{"gone.sts.test", Sent, "Trusted TLS connection established to mx.sts.test[127.0.0.1]:" + port},
		{"plain.sts.test", Sent, "Trusted TLS connection established to mx.sts.test[127.0.0.1]:" + port},
		// smtp_tls_security_level = secure still applies under an
		// enforced policy: the certificate names mx.sts.test, not
		// enf.sts.test or a host in it.
		{"enf.sts.test", Deferred, "Server certificate not verified"},
	} {
		log, lb := newSMTPLogger()
		level := TLSMay
		if tc.status == Deferred && tc.domain == "enf.sts.test" {
			level = TLSSecure
		}
		tr := &SMTPTransport{Hostname: "client.yubin.test", Resolver: res, Port: port, TLSLevel: level, RootCAs: roots, TLSPolicy: policy, Logger: log, DisableConnectionCache: true}
		rs := smtpDeliver(t, tr, newSMTPDelivery(tc.domain, smtpTestMessage, "u@"+tc.domain))
		if tc.status == Sent {
			wantSMTPStatus(t, rs[0], Sent, "", "queued as")
			if !strings.Contains(lb.String(), tc.text) {
				t.Errorf("%s: log lacks %q:\n%s", tc.domain, tc.text, lb)
			}
			continue
		}
		wantSMTPStatus(t, rs[0], tc.status, "4.7.5", tc.text)
		if strings.Contains(lb.String(), "plaintext") {
			t.Errorf("%s: retried without TLS:\n%s", tc.domain, lb)
		}
	}
	if n := sts.count("enf.sts.test"); n != 1 {
		t.Errorf("enf.sts.test's policy fetched %d times for two deliveries, want 1 (cached)", n)
	}
	pf.WaitLog(t, "to=<u@plain.sts.test>", 10*time.Second)
	for _, d := range []string{"mis.sts.test", "name.sts.test"} {
		if strings.Contains(pf.Log(), "to=<u@"+d+">") {
			t.Errorf("Postfix received mail for %s", d)
		}
	}

	got := map[string]string{}
	for _, c := range rec.Peek().Policies {
		s := fmt.Sprintf("%s ok=%d fail=%d", c.Policy.Type, c.Success, c.Failure)
		for _, f := range c.Failures {
			s += fmt.Sprintf(" %s:%d", f.Result, f.Count)
		}
		got[c.Policy.Domain] += s + ";"
	}
	want := map[string]string{
		"enf.sts.test":   "sts ok=3 fail=0;", // the third met the policy, not the configured level
		"mis.sts.test":   "sts ok=0 fail=1 validation-failure:1;",
		"tst.sts.test":   "sts ok=0 fail=1 validation-failure:1;",
		"name.sts.test":  "sts ok=0 fail=1 certificate-host-mismatch:1;",
		"gone.sts.test":  "sts ok=0 fail=1 sts-policy-fetch-error:1;",
		"plain.sts.test": "no-policy-found ok=1 fail=0;",
	}
	for d, w := range want {
		if got[d] != w {
			t.Errorf("TLS-RPT counts for %s: %q, want %q", d, got[d], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("TLS-RPT domains: %v", got)
	}

	// The reports: to the two domains that publish a TLS-RPT record.
	type sent struct {
		to  string
		msg []byte
	}
	var out []sent
	rp := &tlspolicy.Reporter{
		Resolver: tlspolicy.NetTXT{R: res}, Recorder: rec,
		Organization: "yubin test", Contact: "postmaster@client.yubin.test",
		Submitter: "client.yubin.test", From: "noreply-tlsrpt@client.yubin.test",
		Send: func(_ context.Context, from string, to []string, msg []byte) error {
			out = append(out, sent{to[0], msg})
			return nil
		},
	}
	n, err := rp.SendPeriod(context.Background())
	if err != nil || n != 2 || len(out) != 2 {
		t.Fatalf("SendPeriod: %d sent, %v; want 2", n, err)
	}
	reports := map[string]*tlspolicy.Report{}
	for _, s := range out {
		r := readTLSRPTMail(t, s.msg)
		reports[s.to] = r
	}
	if r := reports["tlsrpt@reports.test"]; r == nil || r.Policies[0].Policy.Domain != "enf.sts.test" || r.Policies[0].Summary.Success != 3 {
		t.Errorf("report to tlsrpt@reports.test: %+v", r)
	}
	if r := reports["rpt@reports.test"]; r == nil || r.Policies[0].Policy.Domain != "tst.sts.test" || r.Policies[0].Summary.Failure != 1 ||
		r.Policies[0].FailureDetails[0].Result != tlspolicy.ResultValidationFailure || r.Policies[0].Policy.MXHost[0] != "*.example.net" {
		t.Errorf("report to rpt@reports.test: %+v", r)
	}
}

// readTLSRPTMail reads the gzipped JSON report out of a TLS-RPT mail
// (RFC 8460 5.3).
func readTLSRPTMail(t *testing.T, msg []byte) *tlspolicy.Report {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "tlsrpt" {
		t.Fatalf("Content-Type %q", m.Header.Get("Content-Type"))
	}
	if m.Header.Get("TLS-Report-Domain") == "" || m.Header.Get("TLS-Report-Submitter") != "client.yubin.test" {
		t.Errorf("TLS-Report headers: %v", m.Header)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no application/tlsrpt+gzip part: %v", err)
		}
		if p.Header.Get("Content-Type") != "application/tlsrpt+gzip" {
			continue
		}
		zr, err := gzip.NewReader(base64Reader(p))
		if err != nil {
			t.Fatal(err)
		}
		var r tlspolicy.Report
		if err := json.NewDecoder(zr).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return &r
	}
}

func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }
