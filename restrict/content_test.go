package restrict

import (
	"context"
	"net/netip"
	"slices"
	"testing"
)

func TestHeaderAndBodyChecks(t *testing.T) {
	dir := t.TempDir()
	hc := writeFile(t, dir, "header_checks", `/^Subject: .*lottery/ DISCARD
/^X-Spam-Flag: YES/ HOLD
/^X-Mailer: (.*)/ REPLACE X-Mailer: hidden (was $1)
/^X-Originating-IP:/ IGNORE
/^From: .*@partner\.example/ PREPEND X-Partner: yes
/^X-Defer:/ DEFER 4.3.0 try later
/^Subject: .*virus/ REJECT 5.7.0 virus found
/^Subject: .*notice/ WARN notice seen
`)
	bc := writeFile(t, dir, "body_checks", "/^begin 644 .*\\.exe/ REJECT no executables\n/unsubscribe/ INFO\n")
	p, err := New(Params{"header_checks": "regexp:" + hc, "body_checks": "pcre:" + bc, "smtpd_recipient_restrictions": "reject_unauth_destination"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hdrs := []HeaderLine{
		{Name: "From", Value: "a@partner.example"},
		{Name: "X-Mailer", Value: "Foo 1.0"},
		{Name: "X-Originating-IP", Value: "[192.0.2.1]"},
		{Name: "Subject", Value: "a notice"},
	}
	d, err := p.CheckHeaders(ctx, hdrs)
	if err != nil || d.Refused() || d.Action != Dunno {
		t.Fatalf("%v %v", d, err)
	}
	if len(d.Prepend) != 1 || d.Prepend[0] != "X-Partner: yes" {
		t.Errorf("prepend: %q", d.Prepend)
	}
	if len(d.HeaderEdits) != 2 || d.HeaderEdits[0] != (HeaderEdit{Index: 1, Replace: "X-Mailer: hidden (was Foo 1.0)"}) || d.HeaderEdits[1] != (HeaderEdit{Index: 2, Delete: true}) {
		t.Errorf("edits: %+v", d.HeaderEdits)
	}
	if len(d.Warnings) != 1 {
		t.Errorf("warnings: %q", d.Warnings)
	}
	for _, c := range []struct {
		h    HeaderLine
		want string
	}{
		{HeaderLine{Name: "Subject", Value: "you won the lottery"}, "DISCARD"},
		{HeaderLine{Name: "X-Spam-Flag", Value: "YES"}, "HOLD"},
		{HeaderLine{Name: "X-Defer", Value: "1"}, "DUNNO"}, // not a cleanup action in Postfix 3.7
		{HeaderLine{Name: "Subject", Value: "virus inside"}, "550 5.7.0 virus found"},
	} {
		d, _ := p.CheckHeaders(ctx, []HeaderLine{c.h})
		if d.String() != c.want {
			t.Errorf("%v: got %q want %q", c.h, d, c.want)
		}
	}
	if d, _ := p.CheckBody(ctx, "begin 644 invoice.exe"); d.String() != "550 5.7.1 no executables" {
		t.Errorf("body: %v", d)
	}
	if d, _ := p.CheckBody(ctx, "click to unsubscribe"); d.Refused() || len(d.Warnings) != 1 {
		t.Errorf("body info: %+v", d)
	}
}

func TestDataStageRestrictions(t *testing.T) {
	p, err := New(Params{
		"smtpd_recipient_restrictions":   "reject_unauth_destination",
		"smtpd_data_restrictions":        "reject_unauth_pipelining, reject_multi_recipient_bounce",
		"smtpd_end_of_data_restrictions": "check_sender_access inline:{ { late@example.org = REJECT not today } }",
	})
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{ClientAddr: netip.MustParseAddr("198.51.100.1"), Sender: "", RecipientCount: 2}
	if d := mustCheck(t, p, StageData, req); d.String() != "550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce" {
		t.Errorf("multi-recipient bounce: %v", d)
	}
	req = &Request{ClientAddr: netip.MustParseAddr("198.51.100.1"), Sender: "a@example.org", RecipientCount: 1, Pipelined: true}
	if d := mustCheck(t, p, StageData, req); d.String() != "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining" {
		t.Errorf("pipelining: %v", d)
	}
	req = &Request{ClientAddr: netip.MustParseAddr("198.51.100.1"), Sender: "late@example.org", RecipientCount: 1}
	if d := mustCheck(t, p, StageEndOfData, req); d.String() != "554 5.7.1 <late@example.org>: Sender address rejected: not today" {
		t.Errorf("end of data: %v", d)
	}
}

// TestHeaderChecksPrependPlacement checks that a caller learns which
// header line each PREPEND belongs to (cleanup puts the line right before
// it), and that PREPEND/REPLACE text that is not a header line is
// ignored, as cleanup does.
func TestHeaderChecksPrependPlacement(t *testing.T) {
	dir := t.TempDir()
	hc := writeFile(t, dir, "header_checks", `/^From: .*@partner\.example/ PREPEND X-Partner: yes
/^Subject: (.*)urgent/ PREPEND X-Urgent: $1
/^X-Bad-Prepend:/ PREPEND not a header line
/^X-Bad-Replace:/ REPLACE no colon here
/^X-Spaced:/ PREPEND X-Label : spaced colon
/^X-Mailer:/ REPLACE X-Mailer: hidden
`)
	bc := writeFile(t, dir, "body_checks", "/^-- $/ PREPEND signature follows\n")
	p, err := New(Params{"header_checks": "regexp:" + hc, "body_checks": "regexp:" + bc, "smtpd_recipient_restrictions": "reject_unauth_destination"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hdrs := []HeaderLine{
		{Name: "Received", Value: "from a.example"},
		{Name: "Subject", Value: "very urgent"},
		{Name: "X-Bad-Prepend", Value: "1"},
		{Name: "From", Value: "a@partner.example"},
		{Name: "X-Bad-Replace", Value: "1"},
		{Name: "X-Mailer", Value: "Foo"},
		{Name: "X-Spaced", Value: "1"},
	}
	d, err := p.CheckHeaders(ctx, hdrs)
	if err != nil || d.Action != Dunno {
		t.Fatalf("%v %v", d, err)
	}
	wantPrepends := []HeaderPrepend{{1, "X-Urgent: very "}, {3, "X-Partner: yes"}, {6, "X-Label : spaced colon"}}
	if !slices.Equal(d.HeaderPrepends, wantPrepends) {
		t.Errorf("HeaderPrepends = %+v\nwant %+v", d.HeaderPrepends, wantPrepends)
	}
	if want := []string{"X-Urgent: very ", "X-Partner: yes", "X-Label : spaced colon"}; !slices.Equal(d.Prepend, want) {
		t.Errorf("Prepend = %q, want %q", d.Prepend, want)
	}
	if want := []HeaderEdit{{Index: 5, Replace: "X-Mailer: hidden"}}; !slices.Equal(d.HeaderEdits, want) {
		t.Errorf("HeaderEdits = %+v, want %+v", d.HeaderEdits, want)
	}

	// The same through Check at the end of data, with Request.Header.
	req := &Request{ClientAddr: netip.MustParseAddr("198.51.100.1"), Sender: "a@partner.example", Recipient: "b@example.org", Header: hdrs}
	d = mustCheck(t, p, StageEndOfData, req)
	if !slices.Equal(d.HeaderPrepends, wantPrepends) || len(d.HeaderEdits) != 1 || d.HeaderEdits[0].Index != 5 {
		t.Errorf("Check at end of data: prepends %+v, edits %+v", d.HeaderPrepends, d.HeaderEdits)
	}

	// A body line's PREPEND is any text and belongs to that line.
	d, err = p.CheckBody(ctx, "-- ")
	if err != nil || !slices.Equal(d.Prepend, []string{"signature follows"}) || len(d.HeaderPrepends) != 0 {
		t.Errorf("body PREPEND: %+v %v", d, err)
	}
}

func TestIsHeader(t *testing.T) {
	for s, want := range map[string]bool{
		"X-Seen: yes":   true,
		"X-Seen:":       true,
		"X-Seen :yes":   true,
		"X-Seen \t: x":  true,
		"X Seen: yes":   false,
		": yes":         false,
		" X-Seen: yes":  false,
		"X-Seen":        false,
		"":              false,
		"X-S\x01: yes":  false,
		"X-S\xc3\xa9: ": false,
		"X-S\x7f: yes":  false,
	} {
		if got := isHeader(s); got != want {
			t.Errorf("isHeader(%q) = %v, want %v", s, got, want)
		}
	}
}
