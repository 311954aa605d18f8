package tlspolicy

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// keysOf returns the keys of a JSON object.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %v", v)
	}
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// TestReportJSON checks the report against RFC 8460 section 4.4's
// field names and types, with the counts the recorder took.
func TestReportJSON(t *testing.T) {
	clock := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	rec := &Recorder{Now: func() time.Time { return clock }}
	sts := PolicyRef{Type: PolicySTS, Domain: "example.com", String: []string{"version: STSv1", "mode: testing", "mx: *.mail.example.com", "max_age: 86400"}, MXHost: []string{"*.mail.example.com"}}
	for i := 0; i < 3; i++ {
		rec.Success(sts)
	}
	f := Failure{Result: ResultCertExpired, SendingMTAIP: netip.MustParseAddr("2001:db8:abcd:0012::1"), ReceivingMX: "mx1.mail.example.com", ReceivingIP: netip.MustParseAddr("203.0.113.56")}
	rec.Fail(sts, f)
	rec.Fail(sts, f)
	rec.Fail(sts, Failure{Result: ResultSTARTTLSNotSupported, ReceivingMX: "mx2.mail.example.com", AdditionalInfo: "STARTTLS not offered"})
	rec.Success(PolicyRef{Type: PolicyTLSA, Domain: "other.example", String: []string{"3 1 1 abcd"}})
	clock = clock.Add(24 * time.Hour)
	p := rec.Take()
	if got := rec.Take(); len(got.Policies) != 0 || !got.Start.Equal(clock) {
		t.Errorf("second Take: %+v", got)
	}
	r := BuildReport(p, "example.com", "Company-X", "sts-reporting@company-x.example", "5065427c-23d3-47ca-b6e0-946ea0e8c4be")
	gz, err := r.Gzip()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(zr)
	var v map[string]any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	if k := keysOf(t, v); !reflect.DeepEqual(k, []string{"contact-info", "date-range", "organization-name", "policies", "report-id"}) {
		t.Errorf("report fields %v", k)
	}
	dr := v["date-range"].(map[string]any)
	if dr["start-datetime"] != "2026-12-07T00:00:00Z" || dr["end-datetime"] != "2026-12-08T00:00:00Z" {
		t.Errorf("date-range %v", dr)
	}
	pols := v["policies"].([]any)
	if len(pols) != 1 {
		t.Fatalf("%d policies, want 1 (other.example has its own report)", len(pols))
	}
	pol := pols[0].(map[string]any)
	if k := keysOf(t, pol); !reflect.DeepEqual(k, []string{"failure-details", "policy", "summary"}) {
		t.Errorf("policy entry fields %v", k)
	}
	pd := pol["policy"].(map[string]any)
	if k := keysOf(t, pd); !reflect.DeepEqual(k, []string{"mx-host", "policy-domain", "policy-string", "policy-type"}) {
		t.Errorf("policy fields %v", k)
	}
	if pd["policy-type"] != "sts" || pd["policy-domain"] != "example.com" || len(pd["policy-string"].([]any)) != 4 {
		t.Errorf("policy %v", pd)
	}
	sum := pol["summary"].(map[string]any)
	if sum["total-successful-session-count"] != 3.0 || sum["total-failure-session-count"] != 3.0 {
		t.Errorf("summary %v", sum)
	}
	fds := pol["failure-details"].([]any)
	if len(fds) != 2 {
		t.Fatalf("%d failure details, want 2", len(fds))
	}
	fd := fds[0].(map[string]any)
	if k := keysOf(t, fd); !reflect.DeepEqual(k, []string{"failed-session-count", "receiving-ip", "receiving-mx-hostname", "result-type", "sending-mta-ip"}) {
		t.Errorf("failure-details fields %v", k)
	}
	if fd["result-type"] != "certificate-expired" || fd["failed-session-count"] != 2.0 || fd["sending-mta-ip"] != "2001:db8:abcd:12::1" {
		t.Errorf("failure detail %v", fd)
	}
	if fd := fds[1].(map[string]any); fd["result-type"] != "starttls-not-supported" || fd["additional-information"] != "STARTTLS not offered" {
		t.Errorf("failure detail %v", fd)
	}
	if n := r.FileName("mail.sender.example"); n != "mail.sender.example!example.com!1796601600!1796688000!5065427c-23d3-47ca-b6e0-946ea0e8c4be.json.gz" {
		t.Errorf("file name %q", n)
	}
	msg, err := r.Mail("tlsrpt@mail.sender.example", "reports@example.com", "mail.sender.example", clock)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"\r\nTLS-Report-Domain: example.com\r\n", "\r\nTLS-Report-Submitter: mail.sender.example\r\n",
		"Subject: Report Domain: example.com Submitter: mail.sender.example Report-ID: <5065427c-23d3-47ca-b6e0-946ea0e8c4be>\r\n",
		"multipart/report; report-type=\"tlsrpt\"", "Content-Type: application/tlsrpt+gzip\r\n"} {
		if !strings.Contains(string(msg), h) {
			t.Errorf("report mail lacks %q", h)
		}
	}
	if BuildReport(p, "nothing.example", "", "", "x") != nil {
		t.Error("a report for a domain without sessions")
	}
}

// TestRecorderLimits: the recorder's memory is bounded.
func TestRecorderLimits(t *testing.T) {
	rec := &Recorder{MaxPolicies: 2, MaxFailures: 3}
	for i := 0; i < 10; i++ {
		ref := PolicyRef{Type: PolicyNotFound, Domain: string(rune('a' + i))}
		rec.Success(ref)
		rec.Fail(PolicyRef{Type: PolicyNotFound, Domain: "a"}, Failure{Result: ResultValidationFailure, ReceivingMX: ref.Domain})
	}
	p := rec.Take()
	if len(p.Policies) != 2 {
		t.Fatalf("%d policies kept, want 2", len(p.Policies))
	}
	if c := p.Policies[0]; c.Failure != 10 || len(c.Failures) != 3 {
		t.Errorf("policy a: %d failures in %d details, want 10 in 3", c.Failure, len(c.Failures))
	}
	var nilRec *Recorder
	nilRec.Success(PolicyRef{}) // a nil recorder counts nothing, and does not panic
}

// TestReporterSends: a period's reports go to the mailto: and https:
// destinations of each policy domain's TLS-RPT record, and to no one
// for a domain without one or with two; a refused post is an error.
func TestReporterSends(t *testing.T) {
	var mu sync.Mutex
	var posted []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/500" {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		var rep Report
		if err == nil {
			err = json.NewDecoder(zr).Decode(&rep)
		}
		if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/tlsrpt+gzip" {
			http.Error(w, "bad report", http.StatusBadRequest)
			return
		}
		mu.Lock()
		posted = append(posted, r.URL.Path+" "+rep.Policies[0].Policy.Domain)
		mu.Unlock()
	}))
	defer srv.Close()
	txt := &txtMap{m: map[string][]string{
		"_smtp._tls.a.example": {"v=TLSRPTv1; rua=mailto:rua@a.example," + srv.URL + "/a"},
		"_smtp._tls.b.example": {"v=TLSRPTv1; rua=mailto:one@b.example", "v=TLSRPTv1; rua=mailto:two@b.example"},
		"_smtp._tls.d.example": {"v=TLSRPTv1; rua=" + srv.URL + "/d"},
		"_smtp._tls.e.example": {"v=TLSRPTv1; rua=" + srv.URL + "/500"},
	}}
	rec := &Recorder{}
	for _, d := range []string{"a.example", "b.example", "c.example", "d.example", "e.example"} {
		rec.Success(PolicyRef{Type: PolicyNotFound, Domain: d})
	}
	var mailed []string
	rp := &Reporter{Resolver: txt, Recorder: rec, Submitter: "mx.test", From: "r@mx.test", HTTPClient: srv.Client(),
		Send: func(_ context.Context, from string, to []string, msg []byte) error {
			mailed = append(mailed, to...)
			return nil
		}}
	n, err := rp.SendPeriod(context.Background())
	if err == nil || n != 3 {
		t.Errorf("SendPeriod: %d, %v; want 3 sent and e.example's HTTP 500", n, err)
	}
	if strings.Join(mailed, ",") != "rua@a.example" {
		t.Errorf("mailed to %v", mailed)
	}
	sort.Strings(posted)
	if strings.Join(posted, ",") != "/a a.example,/d d.example" {
		t.Errorf("posted %v", posted)
	}
	if p := rec.Take(); len(p.Policies) != 0 {
		t.Errorf("the period was not taken: %v", p)
	}
}
