package imap

import (
	"bufio"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestDovecotListExtendedChildren compares LIST-EXTENDED answers with
// Dovecot 2.3: \HasChildren and \HasNoChildren only when CHILDREN is
// asked for (RFC 5258 4), also with STATUS (RFC 5819), and names that
// exist only as parents \NonExistent.
func TestDovecotListExtendedChildren(t *testing.T) {
	dv, yb := diffPair(t)
	runDiffSteps(t, noMarked{dv}, noMarked{yb}, []string{
		`LIST "" % RETURN (STATUS (MESSAGES))`,
		`LIST "" * RETURN (STATUS (MESSAGES UNSEEN))`,
		`LIST "" % RETURN (CHILDREN STATUS (MESSAGES))`,
		`LIST "" % RETURN (STATUS (MESSAGES) SUBSCRIBED)`,
		`LIST "" % RETURN (STATUS (MESSAGES) SPECIAL-USE)`,
		`LIST "" % RETURN ()`,
		`LIST "" % RETURN (SUBSCRIBED)`,
		`LIST "" (% Lists/%)`,
		`LIST "" (% Lists/%) RETURN (CHILDREN)`,
		`LIST "" %`,
		`LIST "" *`,
	})
}

// noMarked drops \Marked and \UnMarked from LIST responses: they are
// optional (RFC 3501 7.2.2), and Dovecot sends \UnMarked once its list
// index has learnt, from a STATUS, that a mailbox has no new mail,
// sooner or later.
type noMarked struct{ diffSession }

var markedRE = regexp.MustCompile(`\\(Un)?Marked ?`)

func (s noMarked) do(cmd string) ([]string, string) {
	lines, tagged := s.diffSession.do(cmd)
	for i, l := range lines {
		if strings.HasPrefix(l, "* LIST ") {
			lines[i] = strings.Replace(markedRE.ReplaceAllString(l, ""), " )", ")", 1)
		}
	}
	return lines, tagged
}

// diffPair starts Dovecot and yubin on copies of the differential
// corpus and returns a session with each, as alice.
func diffPair(t *testing.T) (*dovecotDiffSession, yubinDiffSession) {
	p := startDiffPair(t, false)
	return p.dv, p.yb
}

// diffPairRun is a Dovecot and a yubin session on copies of the same
// corpus, with where each keeps alice's Maildir.
type diffPairRun struct {
	dv                  *dovecotDiffSession
	yb                  yubinDiffSession
	env                 *testEnv
	dvMaildir, yMaildir string
}

// startDiffPair starts the pair; with acl, Dovecot runs its acl and
// imap_acl plugins and yubin a FileACL.
func startDiffPair(t *testing.T, acl bool) diffPairRun {
	t.Helper()
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildDiffCorpus(t, filepath.Join(corpus, "Maildir"))
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	conf := dovecotIMAPConf(t, dvRoot)
	if acl {
		conf = dovecotACLConf(t, dvRoot)
	}
	dv := startDovecotSession(t, conf, "alice", dvHome)
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	var configure func(*Server)
	if acl {
		configure = func(s *Server) { s.ACL = testFileACL(yRoot) }
	}
	env := newTestEnvAt(t, yRoot, configure)
	return diffPairRun{dv, yubinDiffSession{env.login(t, "alice", "secret")}, env,
		filepath.Join(dvHome, "Maildir"), filepath.Join(yRoot, "alice", "Maildir")}
}

// readToEnd reads response lines until the peer closes, at most for
// ten seconds.
func readToEnd(t *testing.T, r io.Reader) []string {
	t.Helper()
	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReader(r)
		for {
			l, err := br.ReadString('\n')
			if l != "" {
				lines = append(lines, strings.TrimRight(l, "\r\n"))
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end in 10s")
	}
	return lines
}

// TestDovecotDeleteSelected: DELETE of the selected mailbox deletes it,
// answers OK and ends the session with a BYE, as Dovecot 2.3 does;
// another session sees it gone.
func TestDovecotDeleteSelected(t *testing.T) {
	p := startDiffPair(t, false)
	dv, yb := p.dv, p.yb
	runDiffSteps(t, dv, yb, []string{`CREATE X`, `SELECT X`})
	io.WriteString(dv.in, "d1 DELETE X\r\n")
	want := readToEnd(t, dv.br)
	yb.c.send("d1 DELETE X")
	got := readToEnd(t, yb.c.br)
	norm := func(ls []string) string {
		var out []string
		for _, l := range ls {
			out = append(out, normalizeLine("DELETE", strings.TrimPrefix(l, "d1 ")))
		}
		return strings.Join(out, "\n")
	}
	if norm(got) != norm(want) || len(want) != 2 {
		t.Errorf("DELETE of the selected mailbox:\n--- dovecot\n%s\n--- yubin\n%s", norm(want), norm(got))
	}
	if !strings.HasPrefix(got[len(got)-1], "* BYE ") {
		t.Errorf("no BYE: %q", got)
	}
	if _, tagged := p.env.login(t, "alice", "secret").cmd("STATUS X (MESSAGES)"); !strings.HasPrefix(tagged, "NO") {
		t.Errorf("STATUS of the deleted mailbox: %s", tagged)
	}
}
