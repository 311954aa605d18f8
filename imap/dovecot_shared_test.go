package imap

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/dovecotauth"
	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// sharedStep is one command of a two-user script: who sends it. A
// loose step compares the tagged reply, and requires yubin's untagged
// replies to be among Dovecot's (Dovecot reports unchanged flags of a
// shared mailbox again when the owner changes a private one).
type sharedStep struct {
	who, cmd string
	loose    bool
}

// dovecotSharedConf is dovecotACLConf with Dovecot 2.3's shared
// namespace (the wiki's "shared mailboxes in Dovecot" setup): other
// users' mailboxes under shared/OWNER/, \Seen kept per user (INDEXPVT),
// and the users who share with whom in a file dict.
func dovecotSharedConf(t *testing.T, dir string) string {
	conf := dovecotACLConf(t, dir)
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "plugin {\n  acl_shared_dict = file:%s/shared-mailboxes.db\n}\n"+
		"namespace shared {\n  type = shared\n  separator = /\n  prefix = shared/%%%%u/\n"+
		"  location = maildir:%%%%h/Maildir:INDEXPVT=~/Maildir/shared/%%%%u\n  subscriptions = no\n  list = children\n}\n", dir)
	f.Close()
	return conf
}

// startYubinAuthUserDB serves yubin's own auth-master protocol
// (dovecotauth.Server.ServeMaster) on dir/auth-userdb, where Dovecot's
// imap looks other users up for its shared namespace's %h: a
// passwd-file of alice and bob with homes under dir.
func startYubinAuthUserDB(t *testing.T, dir string) {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "passwd")
	lines := ""
	for _, u := range []string{"alice", "bob"} {
		lines += fmt.Sprintf("%s:{PLAIN}x:%d:%d::%s::\n", u, testutil.PlainUID, testutil.PlainGID, filepath.Join(dir, u))
	}
	if err := os.WriteFile(pw, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "auth-userdb")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o666)
	srv := &dovecotauth.Server{UserDB: &auth.PasswdFile{Path: pw}}
	go srv.ServeMaster(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
}

// sharedPair is a Dovecot and a yubin server over copies of the same
// two users' Maildirs. Sessions are named after their user ("bob",
// "bob2": a second session of bob) and start at their first command.
type sharedPair struct {
	t            *testing.T
	dv, yb       map[string]diffSession
	dvDir, yRoot string
	conf         string
	env          *testEnv
}

func startSharedPair(t *testing.T) *sharedPair {
	t.Helper()
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildDiffCorpus(t, filepath.Join(corpus, "alice", "Maildir"))
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(corpus, "bob", "Maildir", sub), 0o755)
	}
	p := &sharedPair{t: t, dv: map[string]diffSession{}, yb: map[string]diffSession{}}
	p.dvDir = testutil.SharedDir(t)
	copyTree(t, corpus, p.dvDir)
	for _, u := range []string{"alice", "bob"} {
		testutil.ChownTree(t, filepath.Join(p.dvDir, u), testutil.PlainUID, testutil.PlainGID)
	}
	startYubinAuthUserDB(t, p.dvDir)
	p.conf = dovecotSharedConf(t, p.dvDir)
	p.yRoot = testutil.SharedDir(t)
	copyTree(t, corpus, p.yRoot)
	p.env = newTestEnvAt(t, p.yRoot, func(s *Server) {
		// One store per user shared by its sessions, as the
		// fullserver has it (and as Dovecot's index is shared): the
		// first session to select a mailbox takes its \Recent.
		s.Backend = maildir.NewBackend(func(_ context.Context, user string) (string, error) {
			return maildirRoot(p.yRoot, user), nil
		}, maildir.Options{AutoMailboxes: store.DefaultAutoMailboxes(), NoSync: true})
		s.ACL = testSharedACL(p.yRoot)
		s.Shared = testSharedNamespace(p.yRoot)
	})
	return p
}

// testSharedACL is testFileACL with the shared dict in root.
func testSharedACL(root string) *FileACL {
	a := testFileACL(root)
	a.SharedDict = filepath.Join(root, "shared-mailboxes.db")
	return a
}

// testSharedNamespace keeps private \Seen flags where Dovecot's
// INDEXPVT=~/Maildir/shared/%%u puts its private index.
func testSharedNamespace(root string) *SharedNamespace {
	return &SharedNamespace{PrivateDir: func(_ context.Context, user, owner string) (string, error) {
		return filepath.Join(root, user, "Maildir", "shared", owner), nil
	}}
}

// session returns the named session of each server.
func (p *sharedPair) session(name string) (dv, yb diffSession) {
	if _, ok := p.dv[name]; !ok {
		user := strings.TrimRight(name, "0123456789")
		pw := map[string]string{"alice": "secret", "bob": "pw"}[user]
		p.dv[name] = startDovecotSession(p.t, p.conf, user, filepath.Join(p.dvDir, user))
		p.yb[name] = yubinDiffSession{p.env.login(p.t, user, pw)}
	}
	return p.dv[name], p.yb[name]
}

// run runs the steps on both servers and compares each reply.
func (p *sharedPair) run(t *testing.T, steps []sharedStep) {
	t.Helper()
	for i, s := range steps {
		dv, yb := p.session(s.who)
		dl, dt := dv.do(s.cmd)
		yl, yt := yb.do(s.cmd)
		want := normalize(s.cmd, dl, dt)
		got := normalize(s.cmd, yl, yt)
		if s.loose {
			want, got = looseCompare(s.cmd, dl, dt, yl, yt)
		}
		if got != want {
			t.Errorf("step %d: %s: %s\n--- dovecot\n%s\n--- yubin\n%s", i, s.who, s.cmd, want, got)
		}
		if os.Getenv("YUBIN_DIFF_VERBOSE") != "" {
			t.Logf("step %d: %s: %s\n%s", i, s.who, s.cmd, want)
		}
	}
}

// looseCompare is the comparison of a loose step: the tagged replies,
// and yubin's untagged replies not among Dovecot's.
func looseCompare(cmd string, dl []string, dt string, yl []string, yt string) (want, got string) {
	have := map[string]bool{}
	for _, l := range dl {
		have[normalizeLine(cmd, l)] = true
	}
	var extra []string
	for _, l := range yl {
		if n := normalizeLine(cmd, l); !have[n] {
			extra = append(extra, n)
		}
	}
	return normalizeLine(cmd, dt), strings.Join(append(extra, normalizeLine(cmd, yt)), "\n")
}

// TestDovecotSharedNamespace compares a shared namespace with Dovecot
// 2.3's (acl plugin, acl = vfile, acl_shared_dict, a shared namespace
// with INDEXPVT) on copies of the same two users' Maildirs: alice gives
// bob rights with SETACL; bob's NAMESPACE, LIST (shared/ and
// shared/alice as \Noselect parents, only what bob may look up),
// MYRIGHTS, GETACL, STATUS, SELECT (read-write with "s", read-only
// with "lr", refused without "r"), FETCH FLAGS (bob's \Seen is his
// own), STORE (\Seen kept privately, other flags dropped without "w"),
// APPEND without and with "i", COPY out of and into the shared
// mailbox, EXPUNGE without "e", CREATE and DELETE without "k" and "x",
// and alice's changes reaching bob's NOOP. Dovecot's imap looks alice
// up for the namespace's %h through yubin's own auth-master server.
// (A Dovecot session lists and caches rights as they were when it
// started: commands after an ACL change run in a new session, "bob2".)
func TestDovecotSharedNamespace(t *testing.T) {
	p := startSharedPair(t)
	p.run(t, sharedSteps)
	// Both keep the same shared dict.
	want, _ := os.ReadFile(filepath.Join(p.dvDir, "shared-mailboxes.db"))
	got, _ := os.ReadFile(filepath.Join(p.yRoot, "shared-mailboxes.db"))
	if string(got) != string(want) {
		t.Errorf("shared-mailboxes.db:\n--- dovecot\n%s--- yubin\n%s", want, got)
	}
}

// sharedAppend is an APPEND of a small message into mailbox.
func sharedAppend(mailbox, subject string) string {
	msg := "From: bob@example.org\r\nSubject: " + subject + "\r\n\r\nfrom bob\r\n"
	return "APPEND " + mailbox + " {" + fmt.Sprint(len(msg)) + "+}\r\n" + msg
}

var sharedSteps = []sharedStep{
	{who: "alice", cmd: `SELECT INBOX`},
	{who: "bob", cmd: `NAMESPACE`},
	{who: "bob", cmd: `LIST "" "*"`},
	{who: "bob", cmd: `MYRIGHTS shared/alice/INBOX`},
	{who: "bob", cmd: `SELECT shared/alice/INBOX`},
	{who: "alice", cmd: `SETACL INBOX bob lrs`},
	{who: "alice", cmd: `SETACL work bob lr`},
	{who: "alice", cmd: `SETACL Lists/go bob l`},
	{who: "alice", cmd: `SETACL Archive bob r`},
	{who: "alice", cmd: `GETACL INBOX`},
	{who: "bob2", cmd: `NAMESPACE`},
	{who: "bob2", cmd: `LIST "" "*"`},
	{who: "bob2", cmd: `LIST "" "%"`},
	{who: "bob2", cmd: `LIST "" "shared/%"`},
	{who: "bob2", cmd: `LIST "" "shared/alice/%"`},
	{who: "bob2", cmd: `LIST "" "shared/%" RETURN (CHILDREN)`},
	{who: "bob2", cmd: `LIST "shared/" "*"`},
	{who: "bob2", cmd: `LSUB "" "*"`},
	{who: "bob2", cmd: `MYRIGHTS shared/alice/INBOX`},
	{who: "bob2", cmd: `MYRIGHTS shared/alice/work`},
	{who: "bob2", cmd: `MYRIGHTS shared/alice/Lists/go`},
	{who: "bob2", cmd: `MYRIGHTS shared/alice/Archive`},
	{who: "bob2", cmd: `MYRIGHTS shared/alice/Trash`},
	{who: "bob2", cmd: `GETACL shared/alice/INBOX`},
	{who: "bob2", cmd: `GETACL shared/alice/Trash`},
	{who: "bob2", cmd: `SETACL shared/alice/INBOX bob lrswi`},
	{who: "bob2", cmd: `STATUS shared/alice/INBOX (MESSAGES UNSEEN)`},
	{who: "bob2", cmd: `STATUS shared/alice/Lists/go (MESSAGES)`},
	{who: "bob2", cmd: `SELECT shared/alice/Lists/go`},
	{who: "bob2", cmd: `SELECT shared/alice/Archive`},
	{who: "bob2", cmd: `SELECT shared/alice/Trash`},
	{who: "bob2", cmd: `SELECT shared/carol/INBOX`},
	{who: "bob2", cmd: `SELECT shared/alice/work`},
	{who: "bob2", cmd: `UNSELECT`},
	{who: "bob2", cmd: `SELECT shared/alice/INBOX`},
	{who: "bob2", cmd: `FETCH 1:* FLAGS`},
	{who: "bob2", cmd: `STORE 1 +FLAGS (\Seen)`},
	{who: "bob2", cmd: `STORE 2 +FLAGS (\Flagged)`},
	{who: "bob2", cmd: `STORE 3 FLAGS (\Seen \Answered)`},
	{who: "bob2", cmd: `FETCH 1:* FLAGS`},
	{who: "bob2", cmd: `FETCH 5 (BODY[TEXT])`},
	{who: "bob2", cmd: `FETCH 1:* FLAGS`},
	{who: "bob2", cmd: `STORE 1 -FLAGS (\Seen)`},
	{who: "bob2", cmd: `SEARCH UNSEEN`},
	{who: "bob2", cmd: `SEARCH SEEN`},
	// The owner does not see bob's \Seen; bob sees the owner's other
	// flags, but not its \Seen.
	{who: "alice", cmd: `FETCH 1:* FLAGS`},
	{who: "alice", cmd: `STORE 3 +FLAGS (\Answered)`},
	{who: "bob2", cmd: `NOOP`},
	{who: "alice", cmd: `STORE 4 -FLAGS (\Seen)`},
	{who: "alice", cmd: `STORE 5 +FLAGS (\Seen)`},
	{who: "bob2", cmd: `NOOP`, loose: true},
	{who: "bob2", cmd: `FETCH 1:* FLAGS`},
	{who: "bob2", cmd: sharedAppend("shared/alice/INBOX", "denied")},
	{who: "bob2", cmd: `EXPUNGE`},
	{who: "bob2", cmd: `CREATE shared/alice/new`},
	{who: "bob2", cmd: `CREATE shared/alice/work/sub`},
	{who: "bob2", cmd: `DELETE shared/alice/work`},
	{who: "bob2", cmd: `RENAME shared/alice/work shared/alice/play`},
	{who: "bob2", cmd: `COPY 1:2 INBOX`},
	{who: "bob2", cmd: `STATUS INBOX (MESSAGES UNSEEN)`},
	{who: "alice", cmd: `SETACL INBOX bob +i`},
	{who: "bob3", cmd: `MYRIGHTS shared/alice/INBOX`},
	{who: "bob3", cmd: sharedAppend("shared/alice/INBOX", "allowed")},
	{who: "bob3", cmd: `SELECT INBOX`},
	{who: "bob3", cmd: `FETCH 1:* FLAGS`},
	{who: "bob3", cmd: `COPY 1 shared/alice/INBOX`},
	{who: "bob3", cmd: `COPY 1 shared/alice/work`},
	{who: "bob3", cmd: `STATUS shared/alice/INBOX (MESSAGES UNSEEN)`},
	{who: "alice", cmd: `NOOP`},
	{who: "alice", cmd: `FETCH 10:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])`},
	{who: "alice", cmd: `STATUS work (MESSAGES)`},
}
