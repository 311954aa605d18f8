package imapmsg

import (
	"strings"
	"testing"
	"time"
)

func corpusMsg(t *testing.T, name string) string {
	t.Helper()
	for _, c := range corpus {
		if c.name == name {
			return c.msg
		}
	}
	t.Fatalf("no corpus message %q", name)
	return ""
}

func TestMatchHeader(t *testing.T) {
	m := mustParse(t, corpusMsg(t, "qp-and-base64"))
	for _, tc := range []struct {
		field, substr string
		want          bool
	}{
		{"Subject", "CAFÉ", true}, // RFC 2047 iso-8859-1, case-insensitive
		{"subject", "afé", true},
		{"Subject", "cafe", true}, // "CAFE\u0301" holds "CAFE", as in Dovecot
		{"From", "X@Y", true},
		{"To", "", false}, // no To field
		{"From", "", true},
		{"X-Missing", "", false},
	} {
		if got := m.MatchHeader(tc.field, tc.substr); got != tc.want {
			t.Errorf("MatchHeader(%q, %q) = %v", tc.field, tc.substr, got)
		}
	}
	enc := mustParse(t, corpusMsg(t, "8bit-header"))
	if !enc.MatchHeader("From", "jörg") {
		t.Error("encoded display name not decoded")
	}
	if !enc.MatchHeader("Subject", "ÉTÉ") {
		t.Error("8-bit UTF-8 subject not matched case-insensitively")
	}
}

func TestMatchBodyAndText(t *testing.T) {
	msg := corpusMsg(t, "qp-and-base64")
	m := mustParse(t, msg)
	r := strings.NewReader(msg)
	for _, tc := range []struct {
		substr string
		body   bool
		text   bool
		why    string
	}{
		{"crème brûlée", true, true, "quoted-printable iso-8859-1 with a soft line break"},
		{"CRÈME", true, true, "case-insensitive after charset decoding"},
		{"naïve café", true, true, "base64 utf-8"},
		{"=E8", false, false, "the encoded form is not text"},
		{"caf=E9", false, false, "not in the decoded subject either"},
		{"café", true, true, "in body and subject"},
		{"Subject: café", false, true, "TEXT includes the header"},
		{"x@y", false, true, "header only"},
		{"\x00\x01", false, false, "application/octet-stream is not searched"},
		{"", true, true, "empty matches"},
	} {
		if got, err := m.MatchBody(r, tc.substr); err != nil || got != tc.body {
			t.Errorf("MatchBody(%q) = %v, %v; want %v (%s)", tc.substr, got, err, tc.body, tc.why)
		}
		if got, err := m.MatchText(r, tc.substr); err != nil || got != tc.text {
			t.Errorf("MatchText(%q) = %v, %v; want %v (%s)", tc.substr, got, err, tc.text, tc.why)
		}
	}
	nested := corpusMsg(t, "rfc822-in-multipart-crlf")
	nm := mustParse(t, nested)
	if ok, _ := nm.MatchBody(strings.NewReader(nested), "<P>HTML"); !ok {
		t.Error("text/html inside an attached message not searched")
	}
}

// TestStreamContainsAcrossChunks puts the needle across the 32 KiB read
// boundary, with a multi-byte rune split there.
func TestStreamContainsAcrossChunks(t *testing.T) {
	for pad := 32<<10 - 8; pad <= 32<<10+2; pad++ {
		s := strings.Repeat("a", pad) + "ÀÉÎ needle"
		ok, err := streamContains(strings.NewReader(s), []byte(fold("àéî needle")))
		if err != nil || !ok {
			t.Fatalf("pad %d: %v %v", pad, ok, err)
		}
	}
}

func TestSentDate(t *testing.T) {
	for _, tc := range []struct {
		date string
		want string
	}{
		{"Fri, 21 Nov 1997 09:55:06 -0600", "1997-11-21T09:55:06-06:00"},
		{"21 Nov 1997 09:55 +0100", "1997-11-21T09:55:00+01:00"},
		{"Fri, 21 Nov 1997 09:55:06 -0600 (CST)", "1997-11-21T09:55:06-06:00"},
		{"Thu, 13 Feb 1969 23:32:54 -0330", "1969-02-13T23:32:54-03:30"},
		{"garbage", ""},
	} {
		msg := "Date: " + tc.date + "\n\nx\n"
		d, ok := mustParse(t, msg).SentDate()
		got := ""
		if ok {
			got = d.Format(time.RFC3339)
		}
		if got != tc.want {
			t.Errorf("SentDate(%q) = %q, want %q", tc.date, got, tc.want)
		}
	}
	if _, ok := mustParse(t, "Subject: x\n\n").SentDate(); ok {
		t.Error("date without Date:")
	}
}

func TestParseAddressList(t *testing.T) {
	got := ParseAddressList(`"Joe" <joe@x.test>, Team: a@b, "c d" <c@d>;, bad@, <@r1,@r2:box@host>`)
	want := []Address{
		{Name: "Joe", Mailbox: "joe", Host: "x.test"},
		{Mailbox: "Team", GroupStart: true},
		{Mailbox: "a", Host: "b"},
		{Name: "c d", Mailbox: "c", Host: "d"},
		{GroupEnd: true},
		{Mailbox: "bad", Host: "MISSING_DOMAIN"},
		{ADL: "@r1,@r2", Mailbox: "box", Host: "host"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
