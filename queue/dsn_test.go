package queue

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLineWrapAsPostfix(t *testing.T) {
	// Lines as Postfix 3.7's bounce(8) wrapped them (see TestPostfixBounce).
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"<nobody@reject.test>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <nobody@reject.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)",
			[]string{"<nobody@reject.test>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1",
				"    <nobody@reject.test>: Recipient address rejected: User unknown (in reply to",
				"    RCPT TO command)"}},
		{"Diagnostic-Code: X-Postfix; connect to 127.0.0.1[127.0.0.1]:1: Connection refused",
			[]string{"Diagnostic-Code: X-Postfix; connect to 127.0.0.1[127.0.0.1]:1: Connection", "    refused"}},
		{"short", []string{"short"}},
		{"", []string{""}},
		{strings.Repeat("x", 100) + " y", []string{strings.Repeat("x", 100), "    y"}},
		{"a  b", []string{"a  b"}},
	} {
		got := lineWrap(c.in, 79, 4)
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("lineWrap(%q) =\n%q\nwant\n%q", c.in, got, c.want)
		}
	}
}

func testReport(kind dsnKind, content string) *dsnReport {
	at := time.Date(2026, 12, 7, 5, 30, 1, 0, time.UTC)
	return &dsnReport{Kind: kind, Host: "mx.example.jp",
		Envelope: &Envelope{ID: "4ABCDEF", From: "s@example.jp", Arrival: at},
		Recipients: []dsnRecipient{{Recipient: Recipient{Addr: "r@example.net"},
			Result: Result{Status: Bounced, DSN: "5.1.1", Remote: true, RemoteMTA: "mx.example.net", Text: "550 5.1.1 unknown"}}},
		Content: strings.NewReader(content), Size: int64(len(content)), SizeLimit: defaultBounceSizeLimit,
		Now: at.Add(time.Hour), WarnAfter: 4 * time.Hour, RetryUntil: at.Add(5 * 24 * time.Hour)}
}

func TestWriteDSNNotify(t *testing.T) {
	r := testReport(dsnSuccess, "Subject: x\r\n\r\nbody\r\n")
	var b strings.Builder
	if err := writeDSN(&b, r); !errors.Is(err, errNoDSNRecipients) || b.Len() != 0 {
		t.Fatalf("success notice without NOTIFY=SUCCESS: err %v, wrote %d bytes", err, b.Len())
	}
	r = testReport(dsnFailure, "Subject: x\r\n\r\nbody\r\n")
	r.Recipients[0].Recipient.Notify = "NEVER"
	if err := writeDSN(&b, r); !errors.Is(err, errNoDSNRecipients) {
		t.Fatalf("NOTIFY=NEVER: %v", err)
	}
	r = testReport(dsnDelay, "Subject: x\r\n\r\nbody\r\n")
	r.Recipients[0].Recipient.Notify = "SUCCESS,DELAY"
	if err := writeDSN(&b, r); err != nil {
		t.Fatalf("NOTIFY=SUCCESS,DELAY delay notice: %v", err)
	}
	for _, s := range []string{"Subject: Delayed Mail (still being retried)\r\n", "more than 4 hour(s).\r\n",
		"retried until it is 5 day(s) old.\r\n", "Action: delayed\r\n", "Will-Retry-Until: Sat, 12 Dec 2026 05:30:01 +0000 (UTC)\r\n",
		"Content-Type: text/rfc822-headers\r\n", "Return-Path: <s@example.jp>\r\nSubject: x\r\n\r\n--"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("delay notice lacks %q:\n%s", s, b.String())
		}
	}
	r = testReport(dsnFailure, "x")
	r.Envelope.From = ""
	if err := writeDSN(&b, r); err == nil {
		t.Fatal("a notice to the null sender was written")
	}
}

// TestWriteDSNHostileText: a reply with CR, LF and control characters
// and an ENVID with them cannot add header fields or MIME parts.
func TestWriteDSNHostileText(t *testing.T) {
	r := testReport(dsnFailure, "Subject: x\r\n\r\nbody\r\n")
	r.Envelope.EnvID = "a\r\nBcc: victim@example.jp"
	// The boundary's random part is unknown; inject its other parts.
	boundary := fmt.Sprintf("4ABCDEF.%d.", r.Now.Unix())
	r.Recipients[0].Result.Text = "550 no\r\n\r\n--" + boundary + "\r\nContent-Type: text/html\r\n\x00"
	r.Recipients[0].Result.RemoteMTA = "evil\r\nX-Injected: 1"
	var b strings.Builder
	if err := writeDSN(&b, r); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"\r\nBcc:", "\r\nX-Injected", "\r\nContent-Type: text/html", "\x00", "--" + boundary + "\r\nContent-Type: text/html"} {
		if strings.Contains(s, bad) {
			t.Errorf("notice contains %q:\n%s", bad, s)
		}
	}
	shape := readDSNShape(t, s)
	if len(shape.Parts) != 3 {
		t.Fatalf("parts: %q", shape.Parts)
	}
	if got := shape.statusValue("Diagnostic-Code"); !strings.HasPrefix(got, "smtp; 550 no??") {
		t.Errorf("Diagnostic-Code %q", got)
	}
}

func TestWriteDSNSizeLimit(t *testing.T) {
	body := "Subject: big\r\n\r\n" + strings.Repeat("line of the body\r\n", 100)
	r := testReport(dsnFailure, body)
	r.SizeLimit = 1000
	var b strings.Builder
	if err := writeDSN(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Content-Type: text/rfc822-headers\r\n") || strings.Contains(b.String(), "line of the body") {
		t.Errorf("a message over the limit was not returned as headers only:\n%s", b.String())
	}
	r = testReport(dsnFailure, body)
	b.Reset()
	writeDSN(&b, r)
	if !strings.Contains(b.String(), "Content-Type: message/rfc822\r\n") || strings.Count(b.String(), "line of the body") != 100 {
		t.Errorf("a message under the limit was not returned whole:\n%s", b.String())
	}
	// Unknown size with a limit: headers only.
	r = testReport(dsnFailure, body)
	r.Size = 0
	b.Reset()
	writeDSN(&b, r)
	if strings.Contains(b.String(), "line of the body") {
		t.Error("a message of unknown size was returned whole")
	}
	// No content: the placeholder.
	r = testReport(dsnFailure, body)
	r.Content = nil
	b.Reset()
	writeDSN(&b, r)
	if !strings.Contains(b.String(), "\t--- Undelivered message unavailable ---\r\n") {
		t.Error("no placeholder for missing content")
	}
}

func TestCopyOriginal(t *testing.T) {
	for _, c := range []struct {
		in          string
		headersOnly bool
		limit       int64
		want        string
	}{
		{"A: 1\nB: 2\n\nbody\n", true, 0, "A: 1\r\nB: 2\r\n"},
		{"A: 1\r\n continued\r\nB : 2\r\nnot a header\r\nC: 3\r\n", true, 0, "A: 1\r\n continued\r\nB : 2\r\n"},
		{"A: 1\r\n\r\nbody", false, 0, "A: 1\r\n\r\nbody\r\n"},
		{"A: 1\r\nB: 2\r\nC: 3\r\n", false, 7, "A: 1\r\nB: 2\r\n"},
		{"A: " + strings.Repeat("x", 10000) + "\r\nB: 2\r\n\r\nbody\r\n", true, 0, "A: " + strings.Repeat("x", 10000) + "\r\nB: 2\r\n"},
		{"", true, 0, ""},
	} {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		if err := copyOriginal(w, strings.NewReader(c.in), c.headersOnly, c.limit); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if b.String() != c.want {
			t.Errorf("copyOriginal(%.40q, %v, %d) = %.80q, want %.80q", c.in, c.headersOnly, c.limit, b.String(), c.want)
		}
	}
}

func TestXtextDecode(t *testing.T) {
	for in, want := range map[string]string{
		"rfc822;a+2Bb@example.jp": "rfc822;a+b@example.jp",
		"plain":                   "plain",
		"bad+2":                   "bad+2",
		"bad+zz":                  "bad+zz",
		"+3D+3d":                  "==",
	} {
		if got := xtextDecode(in); got != want {
			t.Errorf("xtextDecode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRemoteReply(t *testing.T) {
	for in, want := range map[string]string{
		"host mx[192.0.2.1] said: 550 5.1.1 no (in reply to RCPT TO command)": "550 5.1.1 no",
		"550 5.1.1 no":            "550 5.1.1 no",
		"host x said: 452 full":   "452 full",
		"hostile (in reply to x)": "hostile (in reply to x)",
	} {
		if got := remoteReply(in); got != want {
			t.Errorf("remoteReply(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzWriteDSN: whatever the remote reply, addresses, ENVID, ORCPT and
// content, the notice parses (go-message) into its three parts with one
// recipient block whose fields are the expected ones, and the original
// part stays within the size limit.
func FuzzWriteDSN(f *testing.F) {
	f.Add("550 5.1.1 no such user", "r@example.net", "env1", "rfc822;r@example.net", "Subject: x\r\n\r\nbody\r\n", false, uint8(0))
	f.Add("host x said: 452 full\r\n(in reply to RCPT TO command)", "ユーザー@example.jp", "a+2Bb", "utf-8;x", "From: 差出人\r\n\r\n", true, uint8(1))
	f.Add("--boundary\r\nContent-Type: text/html\r\n\r\n", "a\r\nb", "\x00", "", "\r\n\r\n--x--\r\n", false, uint8(2))
	f.Fuzz(func(t *testing.T, reply, addr, envid, orcpt, content string, utf8 bool, kind uint8) {
		r := testReport(dsnKind(kind%3), content)
		r.SizeLimit = 200
		r.Envelope.UTF8 = utf8
		r.Envelope.EnvID = envid
		r.Recipients[0].Recipient = Recipient{Addr: addr, ORcpt: orcpt, Notify: "SUCCESS,FAILURE,DELAY"}
		r.Recipients[0].Result.Text = reply
		r.Recipients[0].Result.Remote = kind&4 == 0
		var b strings.Builder
		if err := writeDSN(&b, r); err != nil {
			t.Fatal(err)
		}
		shape := readDSNShape(t, b.String())
		if len(shape.Parts) != 3 {
			t.Fatalf("%d parts:\n%s", len(shape.Parts), b.String())
		}
		var names []string
		for _, f := range shape.Status {
			name, _, _ := strings.Cut(f, ": ")
			names = append(names, strings.ToLower(name))
		}
		got := strings.Join(names, ",")
		if !strings.HasPrefix(got, "reporting-mta,") || strings.Count(got, "final-recipient") != 1 || strings.Count(got, "action") != 1 ||
			strings.Count(got, "diagnostic-code") != 1 || strings.Count(got, ",,") != 1 {
			t.Fatalf("delivery-status fields %s:\n%s", got, b.String())
		}
		// The returned part: Return-Path, then at most the limit.
		if len(shape.Original) > int(r.SizeLimit)+len("Return-Path: <s@example.jp>\n")+len(content)/100+2 && len(shape.Original) > len(content)+64 {
			t.Fatalf("returned part of %d bytes for content of %d", len(shape.Original), len(content))
		}
	})
}
