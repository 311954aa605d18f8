package testutil

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// ContentChecks are ten header_checks and ten body_checks rules (regexp
// tables, by parameter name) of the kind sites use, none of which
// matches ReportMessage: the content-inspection benchmarks of restrict
// and smtp.
var ContentChecks = map[string]string{
	"header_checks": `/^Subject:.*viagra/ REJECT spam
/^From:.*@spam\.example/ REJECT spam source
/^X-Mailer: (bulk|mass)mailer/ REJECT bulk
/^Content-Type:.*name="?.*\.(exe|scr|pif|bat)"?/ REJECT attachment type
/^Content-Disposition:.*filename="?.*\.(exe|scr)"?/ REJECT attachment name
/^Received: from unknown/ WARN unknown relay
/^To: .*undisclosed/ WARN undisclosed
/^X-Spam-Flag: YES/ DISCARD
/^Message-ID: <>$/ REJECT bad id
/^Date: .* 19[0-9][0-9] / REJECT old date
`,
	"body_checks": `/^<iframe src=/ REJECT iframe
/^TVqQAAMAAAAEAAAA/ REJECT windows executable
/click here to unsubscribe from this list now/ WARN unsubscribe
/^begin [0-7]{3} .*\.exe$/ REJECT uuencoded executable
/bitcoin wallet/ REJECT scam
/^.{990,}$/ WARN long line
/^Content-Type: application\/x-msdownload/ REJECT executable part
/^X-Evil:/ REJECT evil
/lottery winner/ REJECT scam
/^PAYLOAD$/ REJECT payload
`,
}

// ReportMessage is a 36 KB message as mail clients send it: ten header
// fields, a text part and a base64 attachment.
func ReportMessage() string {
	var b strings.Builder
	b.WriteString("Received: from client.example.org (client.example.org [192.0.2.1])\r\n\tby mx.example.jp (yubin) with ESMTP id 4ABC\r\n\tfor <b@example.jp>; Mon, 7 Dec 2026 12:00:00 +0000\r\n")
	b.WriteString("From: Alice <alice@example.org>\r\nTo: Bob <b@example.jp>\r\nSubject: quarterly report\r\n")
	b.WriteString("Date: Mon, 7 Dec 2026 12:00:00 +0000\r\nMessage-ID: <1234@example.org>\r\nMIME-Version: 1.0\r\n")
	b.WriteString("X-Mailer: Thunderbird\r\nContent-Type: multipart/mixed; boundary=\"------------0123456789\"\r\n\r\n")
	b.WriteString("This is a multi-part message in MIME format.\r\n--------------0123456789\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
	for i := range 40 {
		fmt.Fprintf(&b, "Line %d of the report text, with words enough to make a usual line length.\r\n", i)
	}
	b.WriteString("\r\n--------------0123456789\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	att := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.4 report data "), 1500))
	for len(att) > 76 {
		b.WriteString(att[:76] + "\r\n")
		att = att[76:]
	}
	b.WriteString(att + "\r\n--------------0123456789--\r\n")
	return b.String()
}
