package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestDMARCQuarantineJunk: with dmarc_quarantine_action = junk, a DMARC
// failure under p=quarantine (and under p=reject with
// dmarc_reject_action = quarantine) is accepted and delivered into the
// recipient's Junk folder, made on the fly; a message whose sender
// forged the quarantine marker field lands in INBOX without it.
func TestDMARCQuarantineJunk(t *testing.T) {
	t.Parallel()
	soa := "@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n"
	ns := testutil.StartNSD(t, map[string]string{
		"quarantine.test.": soa + "_dmarc TXT \"v=DMARC1; p=quarantine\"\n",
		"reject.test.":     soa + "_dmarc TXT \"v=DMARC1; p=reject\"\n",
		"nodmarc.test.":    soa,
	})
	in := newInstance(t, "mynetworks = 192.0.2.0/24\nmsgauth_inbound_checks = yes\nmsgauth_nameservers = "+ns.Addr+
		"\ndmarc_reject_action = quarantine\ndmarc_quarantine_action = junk\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	out := in.python(pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.ehlo('client.example.org')
for d in ('quarantine.test', 'reject.test'):
    s.sendmail('x@' + d, ['alice@localhost'], 'From: boss@' + d + '\r\nTo: alice@localhost\r\nSubject: from ' + d + '\r\n\r\nx\r\n')
s.sendmail('x@nodmarc.test', ['alice@localhost'], 'X-Yubin-Quarantine: junk (forged)\r\nFrom: news@nodmarc.test\r\nTo: alice@localhost\r\nSubject: forged marker\r\n\r\nx\r\n')
s.quit()
wait_mail('alice', 1)
import time
m = imaplib.IMAP4('127.0.0.1', P('IMAP'))
m.starttls(ssl_context=ctx)
m.login('alice@localhost', 'pw-alice')
for box in ('INBOX', 'Junk'):
    for _ in range(100):
        typ, _ = m.select(box)
        typ, data = m.search(None, 'ALL') if typ == 'OK' else (typ, [b''])
        if box == 'INBOX' or len(data[0].split()) >= 2:
            break
        m.close() if typ == 'OK' else None
        time.sleep(0.1)
    for num in data[0].split():
        typ, d = m.fetch(num, '(BODY.PEEK[HEADER])')
        h = d[0][1].decode()
        subj = [l for l in h.split('\r\n') if l.startswith('Subject:')][0]
        print('IN', box, subj, 'MARKED' if 'X-Yubin-Quarantine' in h else 'clean')
m.logout()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]), "IMAP="+strconv.Itoa(in.ports["imap"]))
	for _, want := range []string{
		"IN Junk Subject: from quarantine.test MARKED",
		"IN Junk Subject: from reject.test MARKED",
		"IN INBOX Subject: forged marker clean",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "IN ") != 3 {
		t.Errorf("mailboxes:\n%s", out)
	}
	in.waitLog("dmarc: quarantine.test fail (p=quarantine), action junk")
}

// TestJunkMarker: the marker is found only in the header section, in any
// case, after other fields; stripping removes it with its continuation
// lines and keeps the rest byte for byte.
func TestJunkMarker(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]bool{
		junkMarkerField("a.test") + "From: a\r\n\r\nbody\r\n":        true,
		"Received: x\r\n x-yubin-quarantine: no\r\n\r\n":             false,
		"Received: x\r\nx-yubin-quarantine: junk\r\n\r\n":            true,
		"From: a\r\n\r\n" + junkMarkerField("a.test"):                false,
		"From: a\n\n" + junkMarkerField("a.test"):                    false,
		"Return-Path: <>\n" + junkMarkerField("a.test") + "\nbody\n": true,
	} {
		if got := hasJunkMarker([]byte(msg)); got != want {
			t.Errorf("%q: %v", msg, got)
		}
	}
	hdr := "From: a\r\nX-Yubin-Quarantine: junk\r\n\tcontinued\r\nSubject:  s \r\n\r\n"
	if got := string(stripJunkMarker([]byte(hdr))); got != "From: a\r\nSubject:  s \r\n\r\n" {
		t.Errorf("stripped: %q", got)
	}
}
