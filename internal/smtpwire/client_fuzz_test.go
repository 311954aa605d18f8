package smtpwire

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzReadReply: any bytes from a server give a reply within the limits
// or an error, never a panic; the extension parser takes any lines.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n", "550 5.1.1 no\r\n", "220-a\n220 b\n", "999 x\r\n", "250-" + strings.Repeat("x", 5000) + "\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(in), 16)
		for {
			rep, err := ReadReply(r, 512)
			if err != nil {
				return
			}
			if len(rep.Lines) > MaxReplyLines || rep.Code < 200 || rep.Code > 599 {
				t.Fatalf("reply out of limits: %d lines, code %d", len(rep.Lines), rep.Code)
			}
			for _, l := range rep.Lines {
				if len(l) > 512 {
					t.Fatalf("line of %d bytes", len(l))
				}
			}
			ParseExtensions(rep.Lines)
			_ = ReplyError(rep).Error()
		}
	})
}

// FuzzCommandLines: whatever the caller's values, the MAIL and RCPT
// lines the client would write either are refused or have no CR, LF or
// NUL and parse, with the server's parser, into exactly the address and
// parameters given.
func FuzzCommandLines(f *testing.F) {
	f.Add("a@example.jp", "b@example.org", "ENV+2B1", "rfc822;b@example.org", "SUCCESS,DELAY", "a@example.jp", "HDRS", false)
	f.Add(`"a b"@example.jp`, "postmaster", "x", "utf-8;ü@example.org", "NEVER", "<>", "FULL", true)
	f.Add("a\r\nRSET@x", "b\x00@y", "e\n", "rfc822;x\r", "NEVER\r\n", "a\r", "HDRS\n", false)
	f.Fuzz(func(t *testing.T, from, rcpt, envid, orcpt, notify, auth, ret string, lmtp bool) {
		c := &Client{LMTP: lmtp, ext: map[string]string{"DSN": "", "AUTH": "PLAIN", "SMTPUTF8": "", "8BITMIME": "", "SIZE": "0"}}
		to := []Recipient{{Addr: rcpt, Opts: RcptOptions{Notify: notify, ORcpt: orcpt}}}
		if mail, err := c.mailLine(from, to, &MailOptions{EnvID: envid, Auth: auth, Ret: ret, Size: 100}); err == nil {
			if strings.ContainsAny(mail, "\r\n\x00") {
				t.Fatalf("MAIL line %q", mail)
			}
			path, params, err := ParsePathArg(strings.TrimPrefix(mail, "MAIL "), "FROM:", false)
			if err != nil || path != from {
				t.Fatalf("MAIL line %q parses to %q, %v", mail, path, err)
			}
			for _, p := range params {
				switch p.Key {
				case "ENVID":
					if p.Value != envid {
						t.Fatalf("ENVID %q from %q", p.Value, envid)
					}
				case "AUTH":
					if p.Value != auth {
						t.Fatalf("AUTH %q from %q", p.Value, auth)
					}
				case "RET":
					if !strings.EqualFold(p.Value, ret) {
						t.Fatalf("RET %q from %q", p.Value, ret)
					}
				case "SIZE", "SMTPUTF8":
				default:
					t.Fatalf("unexpected parameter %q in %q", p.Key, mail)
				}
			}
		}
		if line, err := c.rcptLine(to[0]); err == nil {
			if strings.ContainsAny(line, "\r\n\x00") {
				t.Fatalf("RCPT line %q", line)
			}
			path, params, err := ParsePathArg(strings.TrimPrefix(line, "RCPT "), "TO:", true)
			if err != nil && lmtp && !strings.Contains(rcpt, "@") {
				return // a bare user name, for LMTP servers that take one
			}
			if err != nil || path != rcpt {
				t.Fatalf("RCPT line %q parses to %q, %v", line, path, err)
			}
			for _, p := range params {
				switch {
				case p.Key == "ORCPT" && p.Value == orcpt:
				case p.Key == "NOTIFY" && strings.EqualFold(p.Value, notify):
				default:
					t.Fatalf("parameter %q=%q in %q", p.Key, p.Value, line)
				}
			}
		}
	})
}
