package imap

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// previewCorpus are bodies whose PREVIEW (RFC 8970) Dovecot 2.3 computes
// in its own ways: white space runs, quoted lines, a quote-only body,
// byte-order marks, HTML, encodings and charsets, multiparts whose first
// part is or is not text, and texts longer than the preview.
var previewCorpus = []string{
	"Subject: plain\r\n\r\nHello world,\r\n\r\nthis is   a\ttest.\r\n",
	"Subject: a b\r\n\r\na b c\r\n",
	"Subject: leading\r\n\r\n\r\n   \t leading space\r\n",
	"Subject: quoted\r\n\r\nline1\r\n>quote2\r\n> quote3\r\n > line4\r\n\r\n  \t\t  \r\nline5\r\n  \t ",
	"Subject: only quote\r\n\r\n> all of it\r\n>is quoted\r\n",
	"Subject: long\r\n\r\n" + strings.Repeat("0123456789 ", 40) + "\r\n",
	"Subject: utf8 long\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.Repeat("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 100) + "\r\n",
	"Subject: bom\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\xef\xbb\xbfwith BOM\r\n",
	"Subject: qp latin1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me=\r\n br=FBl=E9e\r\n",
	"Subject: base64\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n44GC44GE44GG44GI44GKIGFpdWVv\r\n",
	"Subject: html\r\nContent-Type: text/html\r\n\r\n<html><head><title>T</title><style>p{color:red}</style></head><body><p>Hello &amp; welcome</p><p>second&nbsp;para</p></body></html>\r\n",
	"Subject: empty\r\n\r\n",
	"Subject: spaces only\r\n\r\n   \r\n\t\r\n",
	"Subject: image\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n",
	"Subject: mixed\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst part text\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n",
	"Subject: alternative\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain version\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html version</p>\r\n--b--\r\n",
	"Subject: attachment first\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b\r\nContent-Type: text/plain\r\n\r\nafter the pdf\r\n--b--\r\n",
	"Subject: rfc822\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n",
	"Subject: nul\r\n\r\nnul\x00here\r\n",
	"Subject: quote then text\r\n\r\n> quoted first\r\nthen text\r\n",
}

// TestDovecotPreview compares FETCH PREVIEW (and PREVIEW (LAZY)) with
// Dovecot 2.3's on the same messages.
func TestDovecotPreview(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	dir := filepath.Join(corpus, "Maildir")
	s, err := maildir.Open(dir, maildir.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range previewCorpus {
		if _, err := s.Deliver(context.Background(), "INBOX", strings.NewReader(m), store.AppendOptions{InternalDate: time.Date(2024, 1, 1+i, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	dv := startDovecotSession(t, dovecotIMAPConf(t, dvRoot), "alice", dvHome)
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	env := newTestEnvAt(t, yRoot, nil)
	yb := yubinDiffSession{env.login(t, "alice", "secret")}
	steps := []string{"EXAMINE INBOX"}
	for i := range previewCorpus {
		steps = append(steps, "FETCH "+itoa(uint32(i+1))+" (PREVIEW)")
	}
	steps = append(steps,
		"FETCH 1:3 (UID PREVIEW (LAZY) FLAGS)",
		"UID FETCH 1 PREVIEW",
		"FETCH 1 (PREVIEW (FOO))",
		"FETCH 1 (PREVIEW ())",
		// (Dovecot 2.3.19 panics on PREVIEW (LAZY LAZY).)
		// (Dovecot also takes "PREVIEW.PEEK" and any other suffix as
		// PREVIEW; yubin answers BAD, as RFC 8970's grammar has it.)
	)
	runDiffSteps(t, dv, yb, steps)
}
