package queue

import (
	"bufio"
	"fmt"
	"io"
	stdtextproto "net/textproto"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	message "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"github.com/yubinmail/yubin/internal/testutil"
)

// dsnShape is what the differential tests compare of a notice: its
// subject, top-level header field names in order (without Received),
// the report type, each MIME part's type, description and transfer
// encoding, the notification text, and the delivery-status fields.
type dsnShape struct {
	Subject    string
	Header     []string
	Type       string
	ReportType string
	Parts      []string
	Text       string
	Status     []string // "Name: value" of every delivery-status field
	Original   string   // the returned message or headers part's body
}

// readDSNShape parses a notice with go-message.
func readDSNShape(t *testing.T, raw string) dsnShape {
	t.Helper()
	e, err := message.Read(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message cannot read the notice: %v\n%s", err, raw)
	}
	var s dsnShape
	s.Subject = e.Header.Get("Subject")
	for f := e.Header.Fields(); f.Next(); {
		// Received, and the Delivered-To and Return-Path of a mailbox.
		if k := strings.ToLower(f.Key()); k != "received" && k != "delivered-to" && k != "return-path" && k != "x-original-to" {
			s.Header = append(s.Header, stdtextproto.CanonicalMIMEHeaderKey(f.Key()))
		}
	}
	var params map[string]string
	s.Type, params, err = e.Header.ContentType()
	if err != nil {
		t.Fatal(err)
	}
	s.ReportType = params["report-type"]
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatalf("notice is not multipart:\n%s", raw)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading MIME parts: %v\n%s", err, raw)
		}
		ct, _, _ := p.Header.ContentType()
		s.Parts = append(s.Parts, fmt.Sprintf("%s | %s | %s", ct, p.Header.Get("Content-Description"), p.Header.Get("Content-Transfer-Encoding")))
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(body), "\r\n", "\n")
		switch ct {
		case "text/plain":
			s.Text = text
		case "message/delivery-status", "message/global-delivery-status":
			br := bufio.NewReader(strings.NewReader(text))
			for {
				h, err := textproto.ReadHeader(br)
				if err != nil {
					t.Fatalf("delivery-status: %v\n%s", err, text)
				}
				if h.Len() == 0 {
					break
				}
				for f := h.Fields(); f.Next(); {
					s.Status = append(s.Status, f.Key()+": "+f.Value())
				}
				s.Status = append(s.Status, "")
			}
		default:
			s.Original = text
		}
	}
	return s
}

// statusValue returns the value of the first delivery-status field name.
func (s *dsnShape) statusValue(name string) string {
	for _, f := range s.Status {
		if k, v, ok := strings.Cut(f, ": "); ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func compareDSN(t *testing.T, name string, ours, theirs dsnShape) {
	t.Helper()
	eq := func(what string, a, b any) {
		t.Helper()
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: %s differs\nyubin:   %q\npostfix: %q", name, what, a, b)
		}
	}
	eq("Subject", ours.Subject, theirs.Subject)
	eq("header fields", ours.Header, theirs.Header)
	eq("Content-Type", ours.Type, theirs.Type)
	eq("report-type", ours.ReportType, theirs.ReportType)
	eq("MIME parts", strings.Join(ours.Parts, "\n"), strings.Join(theirs.Parts, "\n"))
	eq("notification text", ours.Text, theirs.Text)
	eq("delivery-status fields", strings.Join(ours.Status, "\n"), strings.Join(theirs.Status, "\n"))
}

// TestPostfixBounce makes the real Postfix 3.7 write notices — bounces
// of a full message, of headers only (RET=HDRS, and a message over
// bounce_size_limit), a delay warning, a success report and an SMTPUTF8
// bounce — by relaying to smtp-sinks that reject or defer every
// recipient, and catches them at another smtp-sink. For each it writes
// yubin's notice for the same envelope and outcome and compares the two
// as go-message parses them: the subject, the header fields, the MIME
// structure, the notification text and every delivery-status field.
func TestPostfixBounce(t *testing.T) {
	dump := sinkDir(t)
	accept := startSmtpSink(t, dump, "-N")
	rejectReply := "550 5.1.1 <nobody@reject.test>: Recipient address rejected: User unknown"
	reject := startSmtpSink(t, "", "-f", "RCPT", "-B", rejectReply)
	// smtp-sink cannot take SMTPUTF8 mail: notices to utf8.test go to
	// a mailbox file that Postfix's virtual(8) writes.
	mailboxes := sinkDir(t)
	uid, gid := postfixIDs(t)
	pf := testutil.StartSMTPPostfix(t, fmt.Sprintf(`transport_maps = inline:{reject.test=smtp:%s, sink.test=smtp:%s, closed.test=smtp:[127.0.0.1]:1}
delay_warning_time = 1s
bounce_size_limit = 2000
virtual_mailbox_domains = utf8.test
virtual_mailbox_base = %s
virtual_mailbox_maps = inline:{bounce-utf8@utf8.test=bounce-utf8, box@utf8.test=box}
virtual_uid_maps = static:%d
virtual_gid_maps = static:%d
`, bracketAddr(reject), bracketAddr(accept), mailboxes, uid, gid))
	acceptPort := accept[strings.LastIndexByte(accept, ':')+1:]

	body := "From: Sender <s@sink.test>\r\nTo: someone@example.test\r\nSubject: test\r\nMessage-ID: <1@client.test>\r\n\r\nhello\r\n"
	big := body + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 50)
	rejected := Result{Status: Bounced, Code: 550, DSN: "5.1.1", Remote: true, RemoteMTA: "127.0.0.1",
		Text: "host 127.0.0.1[127.0.0.1] said: " + rejectReply + " (in reply to RCPT TO command)"}
	cases := []struct {
		name      string
		kind      dsnKind
		mail      string
		rcpts     []string
		content   string
		env       Envelope
		recipient Recipient
		extra     []Recipient // more recipients with the same result
		alt       *Result     // another outcome Postfix may choose
		result    Result
	}{
		{name: "full", kind: dsnFailure, mail: "<bounce-full@sink.test> ENVID=env+2B1",
			rcpts: []string{"<nobody@reject.test> ORCPT=rfc822;orig+2Bx@reject.test", "<ok@sink.test>"}, content: body,
			env:       Envelope{From: "bounce-full@sink.test", EnvID: "env+2B1"},
			recipient: Recipient{Addr: "nobody@reject.test", ORcpt: "rfc822;orig+2Bx@reject.test"}, result: rejected},
		{name: "hdrs", kind: dsnFailure, mail: "<bounce-hdrs@sink.test> RET=HDRS", rcpts: []string{"<nobody@reject.test>", "<second@reject.test>"}, content: body,
			env:       Envelope{From: "bounce-hdrs@sink.test", Ret: "HDRS"},
			recipient: Recipient{Addr: "nobody@reject.test"}, extra: []Recipient{{Addr: "second@reject.test"}}, result: rejected},
		{name: "big", kind: dsnFailure, mail: "<bounce-big@sink.test> RET=FULL", rcpts: []string{"<nobody@reject.test>"}, content: big,
			env:       Envelope{From: "bounce-big@sink.test", Ret: "FULL"},
			recipient: Recipient{Addr: "nobody@reject.test"}, result: rejected},
		{name: "delay", kind: dsnDelay, mail: "<delay@sink.test>", rcpts: []string{"<a@closed.test>"}, content: body,
			env:       Envelope{From: "delay@sink.test"},
			recipient: Recipient{Addr: "a@closed.test"},
			result:    Result{Status: Deferred, DSN: "4.4.1", Text: "connect to 127.0.0.1[127.0.0.1]:1: Connection refused"}},
		{name: "success", kind: dsnSuccess, mail: "<success@sink.test>", rcpts: []string{"<ok@sink.test> NOTIFY=SUCCESS"}, content: body,
			env:       Envelope{From: "success@sink.test"},
			recipient: Recipient{Addr: "ok@sink.test", Notify: "SUCCESS"},
			result: Result{Status: Sent, Code: 250, DSN: "2.0.0", Text: "250 2.0.0 Ok", Remote: true, RemoteMTA: "127.0.0.1",
				Relay: "127.0.0.1[127.0.0.1]:" + acceptPort}},
		{name: "delivered", kind: dsnSuccess, mail: "<delivered@sink.test>", rcpts: []string{"<box@utf8.test> NOTIFY=SUCCESS"}, content: body,
			env:       Envelope{From: "delivered@sink.test"},
			recipient: Recipient{Addr: "box@utf8.test", Notify: "SUCCESS"},
			result:    Result{Status: Sent, DSN: "2.0.0", Text: "delivered to mailbox", Relay: "virtual"}},
		// The sink does not offer SMTPUTF8: Postfix bounces the message,
		// before RCPT or (now and then) after the sink's 550 to it.
		{name: "smtputf8", kind: dsnFailure, mail: "<bounce-utf8@utf8.test> SMTPUTF8", rcpts: []string{"<ユーザー@reject.test>"},
			content:   "From: 差出人 <bounce-utf8@utf8.test>\r\nSubject: テスト\r\n\r\nhello, こんにちは\r\n",
			env:       Envelope{From: "bounce-utf8@utf8.test", UTF8: true},
			recipient: Recipient{Addr: "ユーザー@reject.test"},
			result:    Result{Status: Bounced, DSN: "5.6.7", Text: "SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1]"},
			alt:       &rejected},
	}
	for _, c := range cases {
		smtpSend(t, pf.Addr(), c.mail, c.rcpts, c.content)
	}
	for _, c := range cases {
		var raw string
		if c.env.UTF8 {
			raw = waitMailbox(t, filepath.Join(mailboxes, "bounce-utf8"), 30*time.Second, pf.Log)
		} else {
			raw = waitDump(t, dump, "\nTo: "+c.env.From+"\n", 30*time.Second, pf.Log)
		}
		theirs := readDSNShape(t, raw)
		// The same envelope as Postfix had: its queue ID and times.
		env := c.env
		env.ID = theirs.statusValue("X-Postfix-Queue-ID")
		arrival, err := time.Parse("Mon, _2 Jan 2006 15:04:05 -0700 (MST)", theirs.statusValue("Arrival-Date"))
		if err != nil {
			t.Fatalf("%s: Arrival-Date: %v\n%s", c.name, err, raw)
		}
		env.Arrival = arrival
		// The content as Postfix queued it: its Received header first.
		content := "Received: from client.example.test (localhost [127.0.0.1])\r\n\tby postfix.example.test (Postfix) with ESMTP id " + env.ID + "\r\n" + c.content
		result := c.result
		if c.alt != nil && theirs.statusValue("Status") == c.alt.DSN {
			result = *c.alt
		}
		r := &dsnReport{Kind: c.kind, Host: "postfix.example.test", From: "MAILER-DAEMON@example.test", Envelope: &env,
			Recipients: []dsnRecipient{{Recipient: c.recipient, Result: result}},
			Content:    strings.NewReader(content), Size: int64(len(content)), SizeLimit: 2000,
			Now: time.Now(), WarnAfter: time.Second, RetryUntil: arrival.Add(5 * 24 * time.Hour)}
		for _, x := range c.extra {
			r.Recipients = append(r.Recipients, dsnRecipient{Recipient: x, Result: result})
		}
		var b strings.Builder
		if err := writeDSN(&b, r); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ours := readDSNShape(t, b.String())
		if testing.Verbose() {
			t.Logf("%s: postfix:\n%s\nyubin:\n%s", c.name, raw, b.String())
		}
		compareDSN(t, c.name, ours, theirs)
		// The returned content: the whole message or its headers.
		wantBody := c.name == "full" || c.name == "smtputf8"
		if got := strings.Contains(theirs.Original, "hello"); got != wantBody {
			t.Errorf("%s: postfix returned the body: %v, want %v", c.name, got, wantBody)
		}
		if got := strings.Contains(ours.Original, "hello"); got != wantBody {
			t.Errorf("%s: yubin returned the body: %v, want %v", c.name, got, wantBody)
		}
		if !regexp.MustCompile(`(?m)^Subject: `).MatchString(ours.Original) {
			t.Errorf("%s: yubin's returned part lacks the original headers:\n%s", c.name, ours.Original)
		}
	}
}
