package imap

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// aclSteps exercise MYRIGHTS, GETACL, LISTRIGHTS, SETACL and DELETEACL
// (RFC 4314) on the user's own mailboxes: replacing, adding and
// removing rights, denied rights, the obsolete "c" and "d", the owner
// keeping its admin right, every kind of identifier, the errors, the
// rights taking effect on SELECT and STATUS, and the lists going with
// RENAME and DELETE, lists copied to new mailboxes, and the rights
// CREATE, RENAME and DELETE need.
var aclSteps = []string{
	`MYRIGHTS INBOX`,
	`GETACL INBOX`,
	`LISTRIGHTS INBOX alice`,
	`LISTRIGHTS INBOX anyone`,
	`LISTRIGHTS INBOX "some one"`,
	`MYRIGHTS nosuch`,
	`GETACL nosuch`,
	`SETACL nosuch bob r`,
	`DELETEACL nosuch bob`,
	`SETACL INBOX bob lr`,
	`GETACL INBOX`,
	`SETACL INBOX bob +wc`,
	`GETACL INBOX`,
	`SETACL INBOX bob -l`,
	`GETACL INBOX`,
	`SETACL INBOX -bob i`,
	`GETACL INBOX`,
	`SETACL INBOX bob -kxrwc`,
	`GETACL INBOX`,
	`SETACL INBOX bob ""`,
	`GETACL INBOX`,
	`SETACL INBOX -bob +d`,
	`GETACL INBOX`,
	`SETACL INBOX -bob -e`,
	`GETACL INBOX`,
	`DELETEACL INBOX -bob`,
	`GETACL INBOX`,
	`DELETEACL INBOX bob`,
	`GETACL INBOX`,
	`DELETEACL INBOX nobody`,
	`SETACL INBOX anyone r`,
	`SETACL INBOX authenticated r`,
	`SETACL INBOX -anyone r`,
	`DELETEACL INBOX anyone`,
	`SETACL INBOX #global r`,
	`DELETEACL INBOX #global`,
	`SETACL INBOX bob z`,
	`SETACL INBOX bob lrz`,
	`SETACL INBOX "" r`,
	`DELETEACL INBOX ""`,
	`SETACL INBOX bob`,
	`LISTRIGHTS INBOX`,
	`MYRIGHTS`,
	`GETACL`,
	`SETACL INBOX bob {2+}` + "\r\nlr",
	`SETACL INBOX $staff lr`,
	`SETACL INBOX !$staff2 lrw`,
	`SETACL INBOX carol lrswi`,
	`GETACL INBOX`,
	`MYRIGHTS INBOX`,
	// The owner's own rights, and the admin right it keeps.
	`SETACL INBOX alice lr`,
	`MYRIGHTS INBOX`,
	`GETACL INBOX`,
	`SETACL INBOX alice -a`,
	`GETACL INBOX`,
	// (Dovecot's MYRIGHTS right after an update that adds rights
	// or denies only can answer from its cache, stale: the rights
	// are compared after the next replacing update.)
	`SETACL INBOX alice +w`,
	`SETACL INBOX owner lrswi`,
	`GETACL INBOX`,
	`MYRIGHTS INBOX`,
	`SETACL INBOX -owner w`,
	`GETACL INBOX`,
	`MYRIGHTS INBOX`,
	`DELETEACL INBOX alice`,
	`GETACL INBOX`,
	`MYRIGHTS INBOX`,
	`DELETEACL INBOX owner`,
	`DELETEACL INBOX -owner`,
	`GETACL INBOX`,
	`MYRIGHTS INBOX`,
	`SETACL INBOX alice +i`,
	`GETACL INBOX`,
	// A mailbox the owner may look up but not read, then not see.
	`CREATE Locked`,
	`SETACL Locked owner la`,
	`MYRIGHTS Locked`,
	`SELECT Locked`,
	`EXAMINE Locked`,
	`STATUS Locked (MESSAGES)`,
	`GETACL Locked`,
	`SETACL Locked alice ""`,
	`MYRIGHTS Locked`,
	`LIST "" *`,
	`LIST "" Locked`,
	`LIST "" % RETURN (CHILDREN STATUS (MESSAGES))`,
	`SELECT Locked`,
	`STATUS Locked (MESSAGES)`,
	`SETACL Locked alice d`,
	`MYRIGHTS Locked`,
	`GETACL Locked`,
	`SETACL Locked owner ""`,
	`GETACL Locked`,
	`MYRIGHTS Locked`,
	`SETACL Locked owner lr`,
	`MYRIGHTS Locked`,
	`SELECT Locked`,
	`DELETEACL Locked owner`,
	`DELETEACL Locked alice`,
	`MYRIGHTS Locked`,
	`SELECT Locked`,
	// Lists go with RENAME and DELETE.
	`SETACL Locked bob lr`,
	`UNSELECT`,
	`RENAME Locked Unlocked`,
	`GETACL Unlocked`,
	`GETACL Locked`,
	`DELETE Unlocked`,
	`CREATE Unlocked`,
	`GETACL Unlocked`,
	`SETACL "Lists/go" bob lr`,
	`GETACL Lists/go`,
	// A new mailbox takes its parent's list; creating below a
	// mailbox needs its "k", deleting and renaming need "x".
	`CREATE P`,
	`SETACL P bob lr`,
	`SETACL P owner lra`,
	`CREATE P/C`,
	`GETACL P/C`,
	`MYRIGHTS P/C`,
	`SETACL INBOX carol r`,
	`CREATE INBOX/x`,
	`GETACL INBOX/x`,
	`CREATE Top`,
	`GETACL Top`,
	`RENAME P Q`,
	`GETACL Q/C`,
	`DELETE P`,
	`SETACL P owner lrakx`,
	`CREATE P/C`,
	`GETACL P/C`,
	`RENAME P/C P/D`,
	`SETACL P/D owner lr`,
	`DELETE P/D`,
	`DELETE P`,
	`SELECT INBOX`,
	`GETACL INBOX`,
	`MYRIGHTS INBOX`,
}

// TestDovecotACL compares the ACL commands with Dovecot 2.3's imap_acl
// plugin (mail_plugins = acl imap_acl, acl = vfile) on copies of the
// same Maildir, and then checks that each server reads the dovecot-acl
// files the other wrote.
func TestDovecotACL(t *testing.T) {
	p := startDiffPair(t, true)
	runDiffSteps(t, p.dv, p.yb, aclSteps)

	// The files: the same text on both sides.
	for _, dir := range []string{".", ".Lists.go", ".Unlocked"} {
		want, _ := os.ReadFile(filepath.Join(p.dvMaildir, dir, ACLFileName))
		got, _ := os.ReadFile(filepath.Join(p.yMaildir, dir, ACLFileName))
		if string(got) != string(want) {
			t.Errorf("%s/dovecot-acl:\n--- dovecot\n%s--- yubin\n%s", dir, want, got)
		}
	}
}

// TestDovecotACLReadsYubinFiles: a fresh Dovecot reads the lists yubin
// wrote, and yubin the ones Dovecot wrote, with the same GETACL and
// MYRIGHTS answers.
func TestDovecotACLReadsYubinFiles(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildDiffCorpus(t, filepath.Join(corpus, "Maildir"))
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	env := newTestEnvAt(t, yRoot, func(s *Server) { s.ACL = testFileACL(yRoot) })
	yc := env.login(t, "alice", "secret")
	set := []string{`SETACL INBOX bob lrc`, `SETACL INBOX -bob w`, `SETACL INBOX owner lrwsa`, `SETACL INBOX $staff r`, `SETACL Lists/go !$ops +d`, `SETACL Lists/go alice lr`}
	for _, cmd := range set {
		if _, tagged := yc.cmd(cmd); !strings.HasPrefix(tagged, "OK") {
			t.Fatalf("%s: %s", cmd, tagged)
		}
	}
	// Dovecot reads yubin's files.
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, filepath.Join(yRoot, "alice"), dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	dv := startDovecotSession(t, dovecotACLConf(t, dvRoot), "alice", dvHome)
	check := []string{`GETACL INBOX`, `MYRIGHTS INBOX`, `GETACL Lists/go`, `MYRIGHTS Lists/go`}
	runDiffSteps(t, dv, yubinDiffSession{yc}, check)

	// yubin reads Dovecot's.
	for _, cmd := range []string{`SETACL INBOX carol +ie`, `DELETEACL INBOX -bob`, `SETACL Lists/go owner lrk`} {
		if _, tagged := dv.do(cmd); !strings.HasPrefix(tagged, "OK") {
			t.Fatalf("dovecot %s: %s", cmd, tagged)
		}
	}
	y2 := t.TempDir()
	copyTree(t, dvHome, filepath.Join(y2, "alice"))
	env2 := newTestEnvAt(t, y2, func(s *Server) { s.ACL = testFileACL(y2) })
	runDiffSteps(t, dv, yubinDiffSession{env2.login(t, "alice", "secret")}, check)
}

// dovecotACLConf is dovecotIMAPConf with the acl and imap_acl plugins.
func dovecotACLConf(t *testing.T, dir string) string {
	conf := dovecotIMAPConf(t, dir)
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "mail_plugins = acl\nprotocol imap {\n  mail_plugins = $mail_plugins imap_acl\n}\nplugin {\n  acl = vfile\n}\n")
	f.Close()
	return conf
}

// testFileACL keeps ACLs in the Maildir++ folders under root/USER/Maildir.
func testFileACL(root string) *FileACL {
	return &FileACL{Dir: func(_ context.Context, user, mailbox string) (string, error) {
		dir := filepath.Join(root, user, "Maildir")
		if mailbox == "INBOX" {
			return dir, nil
		}
		return filepath.Join(dir, "."+strings.ReplaceAll(EncodeMailboxName(mailbox), "/", ".")), nil
	}}
}
