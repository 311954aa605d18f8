package imap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// contextSteps drive two sessions: "A" keeps searches up to date
// (RFC 5267 CONTEXT=SEARCH) and "B" changes the mailbox.
var contextSteps = []string{
	`A SELECT INBOX`,
	`B SELECT INBOX`,
	`A UID SEARCH RETURN (UPDATE) UNSEEN`,
	`A SEARCH RETURN (UPDATE) UNSEEN`,
	`A UID SEARCH RETURN (MIN MAX COUNT UPDATE) UNSEEN`,
	`A UID SEARCH RETURN (UPDATE SAVE) FLAGGED`,
	`A UID SEARCH RETURN (CONTEXT) UNSEEN`,
	`A UID SEARCH RETURN (UPDATE PARTIAL 1:2) UNSEEN`,
	`A SEARCH RETURN (UPDATE COUNT) UNDELETED`,
	`B STORE 3 +FLAGS (\Seen)`,
	`A NOOP`,
	// Appended with INBOX not selected in B, A takes the \Recent flag.
	`B UNSELECT`,
	"B APPEND INBOX {5+}\r\nhello",
	`A NOOP`,
	`B SELECT INBOX`,
	`B STORE 5 +FLAGS (\Deleted)`,
	`B EXPUNGE`,
	`A NOOP`,
	`A CANCELUPDATE "t4"`,
	`A CANCELUPDATE "nosuch"`,
	`A CANCELUPDATE`,
	`B STORE 4 -FLAGS (\Seen)`,
	`A NOOP`,
	`B STORE 2 +FLAGS (Work \Flagged)`,
	`A NOOP`,
	`A FETCH 1 FLAGS`,
	`A SEARCH RETURN (UPDATE) 1:3`,
	`B STORE 2 +FLAGS (\Deleted)`,
	`B EXPUNGE`,
	`A NOOP`,
	`A CANCELUPDATE "t3" "t5"`,
	`A CHECK`,
	// The session's own changes.
	`A STORE 1 -FLAGS.SILENT (\Seen)`,
	`A NOOP`,
	`A STORE 1 +FLAGS (\Seen)`,
	"A APPEND INBOX {5+}\r\nhello",
	`A STORE 4 +FLAGS.SILENT (\Deleted)`,
	`A EXPUNGE`,
	`A NOOP`,
	`A UNSELECT`,
	`A CANCELUPDATE "t6"`,
	`A SELECT Sent`,
	`A CANCELUPDATE "t6"`,
}

// TestDovecotContextSearch compares CONTEXT=SEARCH (RFC 5267) with
// Dovecot 2.3: RETURN (UPDATE) with and without other options, the
// ADDTO and REMOVEFROM updates for others' flag changes, appends and
// expunges (by UID and by sequence number), CANCELUPDATE, and contexts
// ending with the selection.
func TestDovecotContextSearch(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildDiffCorpus(t, filepath.Join(corpus, "Maildir"))
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	conf := dovecotIMAPConf(t, dvRoot)
	dvA := startDovecotSession(t, conf, "alice", dvHome)
	dvB := startDovecotSession(t, conf, "alice", dvHome)
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	env := newTestEnvAt(t, yRoot, nil)
	ybA := yubinDiffSession{env.login(t, "alice", "secret")}
	// Tags from t1 after LOGIN, as in Dovecot's PREAUTH session:
	// CANCELUPDATE names them.
	ybA.c.n = 0
	ybB := yubinDiffSession{env.login(t, "alice", "secret")}
	for i, step := range contextSteps {
		who, cmd, _ := strings.Cut(step, " ")
		dv, yb := diffSession(dvA), diffSession(ybA)
		if who == "B" {
			dv, yb = dvB, ybB
		}
		dl, dt := dv.do(cmd)
		yl, yt := yb.do(cmd)
		if who == "B" {
			if d, y := strings.Fields(dt)[0], strings.Fields(yt)[0]; d != y || d != "OK" {
				t.Errorf("step %d: %s: dovecot %s, yubin %s", i, step, dt, yt)
			}
			continue
		}
		want := normalize(cmd, dl, dt)
		got := normalize(cmd, yl, yt)
		if got != want {
			t.Errorf("step %d: %s\n--- dovecot\n%s\n--- yubin\n%s\n--- raw\n%s", i, step, want, got, strings.Join(append(yl, yt), "\n"))
		}
		if os.Getenv("YUBIN_DIFF_VERBOSE") != "" {
			t.Logf("step %d: %s\n%s", i, step, want)
		}
	}
}
