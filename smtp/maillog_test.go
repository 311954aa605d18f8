package smtp

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict"
)

// maillogScript is a session a log reader (pflogsumm) counts from: a
// transaction whose recipients are all refused, then one with a refused,
// two accepted and another refused recipient whose message header_checks
// refuses.
func maillogScript(t *testing.T, addr string) {
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	c.expect("EHLO client.example", "250-")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<c@elsewhere.example>", "554 ")
	c.expect("RSET", "250 ")
	c.expect("MAIL FROM:<a@x.org>", "250 ")
	c.expect("RCPT TO:<d@elsewhere.example>", "554 ")
	c.expect("RCPT TO:<b@example.jp>", "250 ")
	c.expect("RCPT TO:<f@example.jp>", "250 ")
	c.expect("RCPT TO:<e@elsewhere.example>", "554 ")
	c.expect("DATA", "354 ")
	c.send("Subject: spam\r\n\r\nhi\r\n.\r\n")
	c.expect("", "550 5.7.1 no spam here")
	c.expect("QUIT", "221 ")
}

const maillogHeaderChecks = "/^Subject: spam/ REJECT no spam here\n"

// maillogShapes keeps the client= and reject lines of a log's messages,
// queue IDs replaced by QID and the client named unknown[127.0.0.1].
func maillogShapes(msgs []string) []string {
	var got []string
	qid := ""
	for _, l := range msgs {
		if m := regexp.MustCompile(`^([0-9A-Za-z]+): client=`).FindStringSubmatch(l); m != nil {
			qid = m[1]
		}
		if !strings.Contains(l, "client=") && !strings.Contains(l, "reject:") {
			continue
		}
		if qid != "" {
			l = strings.ReplaceAll(l, qid, "QID")
		}
		got = append(got, strings.ReplaceAll(l, "localhost[127.0.0.1]", "unknown[127.0.0.1]"))
	}
	return got
}

// wantMaillogShapes is what Postfix 3.7 logs for maillogScript
// (TestPostfixMaillogLineShapes checks it against the real one).
var wantMaillogShapes = []string{
	`NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <c@elsewhere.example>: Relay access denied; from=<a@x.org> to=<c@elsewhere.example> proto=ESMTP helo=<client.example>`,
	`NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <d@elsewhere.example>: Relay access denied; from=<a@x.org> to=<d@elsewhere.example> proto=ESMTP helo=<client.example>`,
	`QID: client=unknown[127.0.0.1]`,
	`QID: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <e@elsewhere.example>: Relay access denied; from=<a@x.org> to=<e@elsewhere.example> proto=ESMTP helo=<client.example>`,
	`QID: reject: header Subject: spam from unknown[127.0.0.1]; from=<a@x.org> to=<f@example.jp> proto=ESMTP helo=<client.example>: 5.7.1 no spam here`, // to= the last accepted recipient
}

// TestMaillogLinesAsPostfix checks the transaction lines a log reader
// counts, in Postfix's shapes: "QUEUEID: client=" only once a recipient
// is accepted (a transaction whose recipients were all refused has only
// "NOQUEUE: reject:" lines), rejects after that under the queue ID, and
// a header_checks reject logged once, as cleanup logs it, with the reply
// text at the end.
func TestMaillogLinesAsPostfix(t *testing.T) {
	hc := filepath.Join(t.TempDir(), "header_checks")
	require.NoError(t, os.WriteFile(hc, []byte(maillogHeaderChecks), 0o644))
	p := restrict.DefaultParams()
	p["myhostname"] = "mail.example.jp"
	p["mydestination"] = "example.jp"
	p["mynetworks"] = "192.0.2.0/24"
	p["local_recipient_maps"] = ""
	p["smtpd_relay_restrictions"] = "permit_mynetworks, reject_unauth_destination"
	p["header_checks"] = "regexp:" + hc
	pol, err := restrict.New(p)
	require.NoError(t, err)
	addr, logs := startServer(t, &Server{Backend: DataFunc((&sink{}).Data), Policy: pol}, nil)
	maillogScript(t, addr)
	logs.waitLog(t, "disconnect from")
	var msgs []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if _, msg, ok := strings.Cut(l, "msg=\""); ok {
			msgs = append(msgs, msg[:strings.LastIndex(msg, "\"")])
		}
	}
	assert.Equal(t, wantMaillogShapes, maillogShapes(msgs), "log:\n%s", logs)
}

// TestPostfixMaillogLineShapes runs maillogScript against the real
// Postfix 3.7 with the same restrictions and header_checks: its
// maillog_file has the lines wantMaillogShapes says yubin logs.
func TestPostfixMaillogLineShapes(t *testing.T) {
	dir := testutil.SharedDir(t)
	hc := filepath.Join(dir, "header_checks")
	require.NoError(t, os.WriteFile(hc, []byte(maillogHeaderChecks), 0o644))
	p := testutil.StartSMTPPostfix(t, `mynetworks = 192.0.2.0/24
mydestination = example.jp
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions =
header_checks = regexp:`+hc+"\n")
	maillogScript(t, p.Addr())
	p.WaitLog(t, "disconnect from", 10*time.Second)
	var msgs []string
	for _, l := range strings.Split(p.Log(), "\n") {
		// "Dec 07 15:52:37 postfix postfix/smtpd[5449]: message"
		if _, msg, ok := strings.Cut(l, "]: "); ok {
			msgs = append(msgs, msg)
		}
	}
	assert.Equal(t, wantMaillogShapes, maillogShapes(msgs), "maillog:\n%s", p.Log())
}
