package imap

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// catenateSteps build messages from literals and IMAP URLs of INBOX's
// messages (whole, sections, partials), MULTIAPPEND with CATENATE, and
// the error answers (BADURL for what does not resolve).
var catenateSteps = []string{
	"SELECT INBOX",
	"APPEND Drafts CATENATE (URL \";UID=5\" TEXT {2+}\r\n\r\n)",
	"APPEND Drafts CATENATE (TEXT {20+}\r\nSubject: catenated\r\n URL \"/INBOX/;UID=1/;SECTION=TEXT\")",
	"APPEND Drafts (\\Seen) CATENATE (URL \"/INBOX/;UID=2\")",
	"APPEND Drafts CATENATE (URL \"/INBOX/;UID=3/;SECTION=HEADER\" TEXT {6+}\r\nhello\n URL \"/INBOX/;UID=3/;SECTION=1.MIME\" URL \"/INBOX/;UID=3/;SECTION=1\")",
	"APPEND Drafts CATENATE (URL \"/INBOX/;UID=4/;SECTION=HEADER.FIELDS%20(SUBJECT)\" TEXT {4+}\r\nbody URL \"/INBOX/;UID=1/;PARTIAL=0.10\")",
	"APPEND Drafts CATENATE (TEXT {8+}\r\nSubject: URL \"/INBOX/;UID=1/;SECTION=TEXT\") CATENATE (TEXT {3+}\r\nx\r\n)",
	"APPEND Drafts CATENATE (URL \"/INBOX/;UID=999\")",
	"APPEND Drafts CATENATE (URL \"/nosuch/;UID=1\")",
	"APPEND Drafts CATENATE (URL \"/INBOX/;UID=1/;SECTION=9\")",
	"APPEND Drafts CATENATE (URL \"/INBOX/;UID=1;URLAUTH=anonymous\")",
	"APPEND Drafts CATENATE (URL \"not a url\")",
	"APPEND Drafts CATENATE (URL \"/INBOX;UIDVALIDITY=1/;UID=2\")",
	// (After a BAD inside CATENATE, FOO parts say, Dovecot also sends a
	// stray "* BAD" with the next command's answer: TestCatenate.)
	// (Dovecot answers CATENATE () with an untagged BAD too; yubin
	// with the tagged one only: TestCatenate.)
	// (Dovecot refuses absolute URLs, "Relative URL required"; yubin
	// takes the user's own: TestCatenate.)
	"APPEND nosuch CATENATE (TEXT {3+}\r\nabc)",
	"NOOP",
	"SELECT Drafts",
	"FETCH 1:* (FLAGS RFC822.SIZE BODY.PEEK[])",
}

// TestDovecotCatenate compares APPEND CATENATE (RFC 4469) with Dovecot
// 2.3: the answers and the messages it stores.
func TestDovecotCatenate(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildDiffCorpus(t, filepath.Join(corpus, "Maildir"))
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	conf := dovecotIMAPConf(t, dvRoot)
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Dovecot resolves CATENATE URLs only with a URLAUTH host set.
	io.WriteString(f, "imap_urlauth_host = localhost\n")
	f.Close()
	dv := startDovecotSession(t, conf, "alice", dvHome)
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	env := newTestEnvAt(t, yRoot, nil)
	yb := yubinDiffSession{env.login(t, "alice", "secret")}
	runDiffSteps(t, dv, yb, catenateSteps)
}
