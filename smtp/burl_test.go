package smtp

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/auth"
)

// urlData is a BURLFetcher over fixed URLs (the submission server's
// side of BURL; the IMAP side is tested through the fullserver).
type urlData map[string]string

func (u urlData) FetchURL(_ context.Context, user, url string) (io.ReadCloser, int64, error) {
	switch {
	case url == "imap://broken":
		return nil, 0, errors.New("store down")
	case !strings.HasPrefix(url, "imap://"):
		return nil, 0, ErrBURLInvalid
	case !strings.Contains(url, ";URLAUTH=submit+"+user):
		return nil, 0, ErrBURLTrust
	}
	d, ok := u[url]
	if !ok {
		return nil, 0, ErrBURLFailed
	}
	return io.NopCloser(strings.NewReader(d)), int64(len(d)), nil
}

// TestBURL: BURL (RFC 4468) is offered after AUTH only, refuses with
// RFC 4468's codes, and its data joins BDAT chunks in order, whether
// the BURL is the last chunk or not.
func TestBURL(t *testing.T) {
	k := &sink{}
	a := interopAuth(t)
	a.(*auth.Service).AllowPlaintext = true
	srv := &Server{Backend: DataFunc(k.Data), Authenticator: a, BURL: urlData{
		"imap://alice@h/INBOX/;UID=1;URLAUTH=submit+alice:INTERNAL:00": "part one\r\n",
		"imap://alice@h/INBOX/;UID=2;URLAUTH=submit+alice:INTERNAL:00": "part two\r\n",
	}}
	addr, _ := startServer(t, srv, nil)
	c := dialRaw(t, addr)
	c.expect("", "220 ")
	if ehlo := c.expect("EHLO x", "250-"); strings.Contains(ehlo, "BURL") {
		t.Fatalf("BURL before AUTH: %q", ehlo)
	}
	one := "imap://alice@h/INBOX/;UID=1;URLAUTH=submit+alice:INTERNAL:00"
	two := "imap://alice@h/INBOX/;UID=2;URLAUTH=submit+alice:INTERNAL:00"
	c.expect("BURL "+one+" LAST", "530 5.7.0")
	c.expect("AUTH PLAIN "+b64("\x00alice\x00secret"), "235 ")
	if ehlo := c.expect("EHLO x", "250-"); !strings.Contains(ehlo, "\n250-BURL imap") && !strings.HasSuffix(ehlo, "250 BURL imap") {
		t.Fatalf("no BURL imap after AUTH: %q", ehlo)
	}
	c.expect("BURL "+one+" LAST", "503 5.5.0")
	c.expect("MAIL FROM:<alice@example.jp>", "250 ")
	c.expect("RCPT TO:<bob@example.org>", "250 ")
	c.expect("BURL", "501 5.5.4")
	c.expect("BURL a b c", "501 5.5.4")
	c.expect("BURL mailto:x LAST", "554 5.7.0")
	c.expect("BURL imap://alice@h/INBOX/;UID=1 LAST", "554 5.7.8")
	c.expect("BURL imap://alice@h/INBOX/;UID=9;URLAUTH=submit+alice:INTERNAL:00 LAST", "554 5.6.6")
	c.expect("BURL imap://broken LAST", "451 4.4.1")
	hdr := "Subject: burl\r\n\r\n"
	c.send("BDAT " + strconv.Itoa(len(hdr)) + "\r\n" + hdr)
	c.expect("", "250 ")
	c.expect("BURL "+one, "250 ")
	c.expect("BURL "+two+" LAST", "250 ")
	msgs := k.list()
	if len(msgs) != 1 || !strings.HasSuffix(string(msgs[0].data), hdr+"part one\r\npart two\r\n") {
		t.Fatalf("delivered: %d messages", len(msgs))
	}
	// A message of one BURL.
	c.expect("MAIL FROM:<alice@example.jp>", "250 ")
	c.expect("RCPT TO:<bob@example.org>", "250 ")
	c.expect("BURL "+two+" LAST", "250 ")
	if msgs := k.list(); len(msgs) != 2 || !strings.HasSuffix(string(msgs[1].data), "part two\r\n") {
		t.Fatalf("delivered: %d messages", len(msgs))
	}
}
