package imapmsg

import "strings"

// corpus holds hand-written messages, stored with bare LF line endings
// unless written with \r\n, as a Maildir written by Dovecot keeps them.
var corpus = []struct {
	name string
	msg  string
}{
	{"rfc5322-simple", "From: \"Joe Q. Public\" <john.q.public@example.com>\nTo: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\nCc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\nSubject: Hello =?UTF-8?B?w6k=?= world\nDate: Fri, 21 Nov 1997 09:55:06 -0600\nMessage-ID: <1234@local.machine.example>\nContent-Type: TEXT/Plain; Charset=ISO-8859-1; Format=flowed\n\nThis is a message just to say hello.\nSo, \"Hello\".\n"},
	{"nested-multipart", "From: Pete <pete@silly.example>\nTo: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;\nCc: Undisclosed recipients:;\nDate: Thu, 13 Feb 1969 23:32:54 -0330\nMessage-ID: <testabcd.1234@silly.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n--XX\n\nplain part\n--XX\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\nContent-ID: <id1>\nContent-Description: desc\nContent-Disposition: attachment; filename=\"a.html\"\nContent-Language: en, fr\nContent-Location: http://x/\n\nPGI+aGk8L2I+\n--XX\nContent-Type: message/rfc822\n\nFrom: inner@x.test\nSubject: inner\n\ninner body\nline2\n--XX\nContent-Type: multipart/alternative; boundary=YY\n\n--YY\nContent-Type: text/plain\n\nalt1\n\n--YY\nContent-Type: application/octet-stream; name*0=\"long\"; name*1=\"name.bin\"\n\nbin\n--YY--\nepilogue\n--XX--\n"},
	{"missing-domains", "Subject: no from\nFrom: foo\nTo: @, bar@, <>, \"x\" <y>\nIn-Reply-To: <a@b>\n\nbody without newline"},
	{"8bit-header", "From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\nSubject: 8bit \xc3\xa9t\xc3\xa9 \"q\" back\\\\slash\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n"},
	{"no-final-newline", "Content-Type: multipart/mixed; boundary=Z\n\n--Z\nContent-Type: text/plain\n\na\n--Z\n\nb\n\n--Z--"},
	{"multipart-no-boundary", "Content-Type: multipart/mixed\n\nno boundary\n"},
	{"garbage-type", "Content-Type: garbage\nContent-Transfer-Encoding: X-Weird\n\nx\n"},
	{"digest", "Content-Type: multipart/digest; boundary=D\n\n--D\n\nFrom: d1@x\n\nd1\n--D\nContent-Type: text/plain\n\nt\n--D--\n"},
	{"only-close", "Content-Type: multipart/mixed; boundary=E\n\n--E--\n"},
	{"unterminated", "Content-Type: multipart/mixed; boundary=F\n\n--F\nContent-Type: text/plain\n\nunterminated\n"},
	{"addresses", "Subject: back\\\\slash\nFrom: \"a\\\\b\" <a@b>, (comment) c@d (Real Name), e@f\nTo: \"\" <x@y>, undisclosed-recipients:;, g@h.\nCc: Foo Bar <foo@bar>, =?utf-8?q?x?= <z@z>\nBcc: \"quoted\"@example.com\nReply-To: a@[1.2.3.4], <@route,@r2:box@host>\nSender: \nContent-Type: text/plain; name*=utf-8''%E2; f*0*=utf-8''a; f*1*=%20b; g*0=x; g*1*=%41\n\nx"},
	{"empty-subject", "Subject: \nDate: garbage\nMessage-ID:   <a b>  \nContent-Type: text/html\nContent-Disposition: inline\nContent-Language: en\n\n<b>\n"},
	{"folded", "Subject: with\n tab\tfold\nContent-Type: image/png; name=\"x\\\\y\\\"z.png\"\nContent-Transfer-Encoding: BASE64\nContent-Disposition: attachment\nContent-MD5: abc\n\naGk=\n"},
	{"long-subject-rfc822", "Subject: long " + strings.Repeat("x", 5000) + "\nContent-Type: message/rfc822\n\nSubject: in\nContent-Type: multipart/mixed; boundary=Q\n\n--Q\n\nq\n--Q--\n"},
	{"prefix-boundaries", "Content-Type: multipart/mixed; boundary=\"A\"\n\n--A\nContent-Type: multipart/mixed; boundary=\"AB\"\n\n--AB\n\nx\n--AB--\n--A--\n"},
	{"crlf", "Content-Type: text/plain; charset=\"utf-8\"\r\nSubject: crlf\r\n\r\nline1\r\nline2\r\n"},
	{"empty-first-part", "Content-Type: multipart/mixed; boundary=A\n\n--A\n--A\n\nx\n--A--\n"},
	{"header-only-part", "Content-Type: multipart/mixed; boundary=A\n\n--A\nContent-Type: text/plain\n--A--\n"},
	{"header-only-message", "From: a@b\nSubject: no body"},
	{"empty", ""},
	{"tab-subject", "Subject: a\tb\nFrom: a\tb <c@d>\nTo: \"x\ty\" <e@f>\n\nx\n"},
	{"dup-fields", "Subject: first\nSubject: second\nFrom: one@x\nFrom: two@x\n\nx\n"},
	{"qp-and-base64", "From: x@y\nSubject: =?iso-8859-1?q?caf=E9?=\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 cr=E8me =\nbr=FBl=E9e\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nTmHDr3ZlIGNhZsOp\n--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAEC/w==\n--b1--\n"},
	{"mixed-line-endings", "Subject: mixed\r\nFrom: a@b\n\nline1\r\nline2\nline3\rcr\n"},
	{"rfc822-in-multipart-crlf", "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\nFrom: Inner <in@x.test>\r\nTo: a@b, c@d\r\nSubject: fwd\r\nContent-Type: multipart/alternative; boundary=\"i\"\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\nplain\r\n--i\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--i--\r\n\r\n--o--\r\n"},
	{"odd-params", "Content-Type: multipart/mixed; BOUNDARY=\"k\"\n\n--k\nContent-Type: text/plain;\nContent-Description: a \"quoted\" desc\n\n1\n--k\nContent-Type: application/pdf; name=\"r\xc3\xa9sum\xc3\xa9.pdf\"\nContent-Disposition: attachment;\n filename*=utf-8''r%C3%A9sum%C3%A9.pdf; size=12\nContent-Description: folded\n description\n\n2\n--k\nContent-Type: text/plain; charset = \"utf-8\" ; format=\nContent-Language: (comment) de-DE\n\n3\n--k--\n"},
	{"typical-100k", typicalMessage()},
}
