package imap

import (
	"context"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// sortMessages is the SORT/THREAD corpus: threads through References
// and In-Reply-To, missing parents, duplicate and missing Message-IDs,
// reference loops, reply and forward subjects in RFC 5256's forms,
// encoded words, missing and broken dates, time zones that change the
// order, groups and case differences in addresses.
var sortCorpus = []struct {
	hdr  string
	body string
}{
	{"From: Zed Last <zed@example.org>\r\nTo: bob@example.org\r\nCc: carol@example.org\r\nSubject: Project plan\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <a@x>\r\n", "plan\r\n"},
	{"From: bob@example.org\r\nTo: Zed Last <zed@example.org>\r\nSubject: Re: Project plan\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\nMessage-ID: <b@x>\r\nReferences: <a@x>\r\n", "ok\r\n"},
	{"From: carol@example.org\r\nTo: bob@example.org\r\nSubject: RE: [list] Re: project PLAN\r\nDate: Wed, 3 Jan 2024 10:00:00 +0000\r\nMessage-ID: <c@x>\r\nReferences: <a@x> <b@x>\r\n", "me too\r\n"},
	{"From: \"Dan\" <Dan@Example.org>\r\nTo: alice@example.org\r\nSubject: Fwd: Lunch\r\nDate: Thu, 4 Jan 2024 09:00:00 +0900\r\nMessage-ID: <d@x>\r\n", "lunch?\r\n" + strings.Repeat("padding line\r\n", 50)},
	{"From: erin@example.org\r\nTo: dan@example.org\r\nSubject: Lunch (fwd)\r\nDate: Thu, 4 Jan 2024 01:00:00 +0100\r\nMessage-ID: <e@x>\r\nIn-Reply-To: <d@x>\r\n", "sure\r\n"},
	{"From: frank@example.org\r\nTo: alice@example.org\r\nSubject: [FWD: Lunch]\r\nDate: Fri, 5 Jan 2024 10:00:00 +0000\r\n", "no id\r\n"},
	{"From: grace@example.org\r\nTo: alice@example.org\r\n", "no subject, no date\r\n"},
	{"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\r\nTo: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>\r\nSubject: =?UTF-8?B?5pel5pys6Kqe?=\r\nDate: Sat, 6 Jan 2024 10:00:00 +0000\r\nMessage-ID: <h@x>\r\n", "utf-8\r\n"},
	{"From: heidi@example.org\r\nTo: bob@example.org\r\nSubject: Re: Project plan\r\nDate: Sun, 7 Jan 2024 10:00:00 +0000\r\nMessage-ID: <i@x>\r\nReferences: <missing@x> <c@x>\r\n", "deep\r\n"},
	{"From: ivan@example.org\r\nTo: alice@example.org\r\nSubject: ghost child one\r\nDate: Mon, 8 Jan 2024 10:00:00 +0000\r\nMessage-ID: <j@x>\r\nReferences: <ghost@x>\r\n", "1\r\n"},
	{"From: judy@example.org\r\nTo: alice@example.org\r\nSubject: ghost child two\r\nDate: Mon, 8 Jan 2024 09:00:00 +0000\r\nMessage-ID: <k@x>\r\nIn-Reply-To: <ghost@x>\r\n", "2\r\n"},
	{"From: mallory@example.org\r\nTo: alice@example.org\r\nSubject: duplicate id\r\nDate: Tue, 9 Jan 2024 10:00:00 +0000\r\nMessage-ID: <a@x>\r\n", "dup\r\n"},
	{"From: niaj@example.org\r\nTo: alice@example.org\r\nSubject: broken date\r\nDate: yesterday at noon\r\nMessage-ID: <m@x>\r\n", "date?\r\n"},
	{"From: olivia@example.org\r\nTo: alice@example.org\r\nSubject: Re: Re: Fw: hello\r\nDate: Wed, 10 Jan 2024 10:00:00 +0000\r\nMessage-ID: <n@x>\r\n", "h1\r\n"},
	{"From: peggy@example.org\r\nTo: alice@example.org\r\nSubject: hello\r\nDate: Wed, 10 Jan 2024 10:00:00 +0000\r\nMessage-ID: <o@x>\r\n", "h2\r\n"},
	{"From: rupert@example.org\r\nTo: alice@example.org\r\nSubject: [tag] hello\r\nDate: Thu, 11 Jan 2024 10:00:00 +0000\r\nMessage-ID: <p@x>\r\n", "h3\r\n"},
	{"From: sybil@example.org\r\nTo: alice@example.org\r\nSubject: [tag]\r\nDate: Thu, 11 Jan 2024 11:00:00 +0000\r\nMessage-ID: <q@x>\r\n", "blob only\r\n"},
	{"From: trent@example.org\r\nTo: alice@example.org\r\nSubject: loop one\r\nDate: Fri, 12 Jan 2024 10:00:00 +0000\r\nMessage-ID: <r@x>\r\nReferences: <s@x>\r\n", "l1\r\n"},
	{"From: victor@example.org\r\nTo: alice@example.org\r\nSubject: loop two\r\nDate: Fri, 12 Jan 2024 11:00:00 +0000\r\nMessage-ID: <s@x>\r\nReferences: <r@x>\r\n", "l2\r\n"},
	{"From: walter@example.org\r\nTo: undisclosed-recipients:;\r\nSubject:   Re:    spaced\t out  \r\nDate: Sat, 13 Jan 2024 10:00:00 -1100\r\nMessage-ID: <t@x>\r\n", "group\r\n"},
	{"From: ALICE@example.org\r\nTo: Alice <alice@example.org>\r\nSubject: re: spaced out\r\nDate: Sun, 14 Jan 2024 10:00:00 +1400\r\nMessage-ID: <u@x>\r\n", "case\r\n"},
	{"From: (comment only)\r\nTo: bob@example.org\r\nCc: Zed <zed@example.org>, carol@example.org\r\nSubject: Re: Lunch\r\nDate: Mon, 15 Jan 2024 10:00:00 +0000\r\nMessage-ID: <v@x>\r\n", "lunch reply\r\n"},
	{"From: zoe@example.org\r\nTo: alice@example.org\r\nSubject: fw: [list] Project plan\r\nDate: Tue, 16 Jan 2024 10:00:00 +0000\r\nMessage-ID: <w@x>\r\nReferences: <unknown1@x> <unknown2@x>\r\n", "fwd\r\n"},
}

// buildSortCorpus writes sortCorpus into the Maildir at dir's INBOX,
// internal dates out of step with the Date: fields.
func buildSortCorpus(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	s, err := maildir.Open(dir, maildir.Options{NoSync: true, AutoMailboxes: store.DefaultAutoMailboxes()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, m := range sortCorpus {
		// Arrival order differs from Date order; two share a second.
		when := time.Date(2024, 2, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration((i*7)%len(sortCorpus)) * time.Hour)
		if i == 5 {
			when = time.Date(2024, 2, 1, 12, 0, 0, 0, time.UTC)
		}
		if _, err := s.Deliver(ctx, "INBOX", strings.NewReader(m.hdr+"\r\n"+m.body), store.AppendOptions{InternalDate: when}); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := filepath.Glob(filepath.Join(dir, "*yubin-index*"))
	for _, p := range idx {
		os.Remove(p)
	}
}

// sortSteps are the SORT/THREAD commands compared with Dovecot.
func sortSteps() []string {
	steps := []string{"SELECT INBOX"}
	for _, k := range []string{"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"} {
		steps = append(steps,
			"SORT ("+k+") UTF-8 ALL",
			"SORT (REVERSE "+k+") UTF-8 ALL",
			"UID SORT ("+k+") US-ASCII ALL",
		)
	}
	steps = append(steps,
		"SORT (SUBJECT DATE) UTF-8 ALL",
		"SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
		"SORT (REVERSE SUBJECT REVERSE ARRIVAL) UTF-8 ALL",
		"SORT (FROM SIZE) UTF-8 ALL",
		"SORT (DATE) UTF-8 SINCE 1-Feb-2024 NOT FROM zed",
		"SORT (DATE) UTF-8 2:10",
		"UID SORT (SUBJECT) UTF-8 UID 3:15",
		"SORT (DATE) UTF-8 SUBJECT nosuchthing",
		"SORT (DATE) utf-8 OR FROM bob FROM carol",
		"SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL",
		"SORT RETURN (ALL) (SUBJECT) UTF-8 ALL",
		"SORT RETURN () (REVERSE DATE) UTF-8 ALL",
		"UID SORT RETURN (COUNT ALL) (ARRIVAL) UTF-8 ALL",
		"SORT RETURN (MIN) (FROM) UTF-8 SUBJECT nosuchthing",
		"SORT RETURN (SAVE) (DATE) UTF-8 FROM example.org",
		"FETCH $ (UID)",
		"SORT (DATE) UTF-8 $",
		"SORT (FOO) UTF-8 ALL",
		"SORT (DATE) KOI8-R ALL",
		"SORT (DATE) X-NOSUCH ALL",
		"SEARCH CHARSET X-NOSUCH ALL",
		"SORT (DATE) ISO-8859-1 FROM Andr\xe9",
		"SEARCH CHARSET ISO-8859-1 FROM Andr\xe9",
		"SORT () UTF-8 ALL",
		"SORT (REVERSE) UTF-8 ALL",
		"SORT DATE UTF-8 ALL",
		"SORT (DATE)",
		"SORT (DATE) UTF-8",
		"SORT (DATE) UTF-8 FROB",
		"THREAD REFERENCES UTF-8 ALL",
		"UID THREAD REFERENCES UTF-8 ALL",
		"THREAD ORDEREDSUBJECT UTF-8 ALL",
		"UID THREAD ORDEREDSUBJECT US-ASCII ALL",
		"THREAD REFS UTF-8 ALL",
		"UID THREAD REFS UTF-8 SUBJECT lunch",
		"THREAD REFS UTF-8 2:*",
		"THREAD REFERENCES UTF-8 SUBJECT lunch",
		"THREAD REFERENCES UTF-8 2:*",
		"THREAD REFERENCES UTF-8 NOT 1",
		"THREAD ORDEREDSUBJECT UTF-8 SINCE 1-Feb-2024",
		"THREAD REFERENCES UTF-8 SUBJECT nosuchthing",
		"THREAD FOO UTF-8 ALL",
		"THREAD REFERENCES KOI8-R ALL",
		"THREAD REFERENCES UTF-8",
		"THREAD",
		"STORE 3 +FLAGS.SILENT (\\Deleted)",
		"EXPUNGE",
		"THREAD REFERENCES UTF-8 ALL",
		"UID THREAD REFERENCES UTF-8 ALL",
		"UID THREAD ORDEREDSUBJECT UTF-8 ALL",
		"SORT (SUBJECT) UTF-8 ALL",
		"UID SORT (REVERSE DATE) UTF-8 ALL",
		"MOVE 1 Trash",
		"UID MOVE 5 INBOX",
		// PARTIAL (RFC 5267 / RFC 9394) in SEARCH and SORT.
		"SEARCH RETURN (PARTIAL 1:5) ALL",
		"SEARCH RETURN (PARTIAL 3:1) FROM example",
		"UID SEARCH RETURN (COUNT PARTIAL 20:30) ALL",
		"SEARCH RETURN (PARTIAL 100:200) ALL",
		"SEARCH RETURN (MIN PARTIAL 2:2) SUBJECT nosuchthing",
		"SORT RETURN (PARTIAL 1:4) (DATE) UTF-8 ALL",
		"UID SORT RETURN (PARTIAL 5:9 COUNT) (SUBJECT) UTF-8 ALL",
		"SEARCH RETURN (ALL PARTIAL 1:2) ALL",
		"SEARCH RETURN (PARTIAL 0:2) ALL",
		"SEARCH RETURN (PARTIAL 1) ALL",
		// Dovecot 2.3 predates RFC 9394's ranges from the end (BAD);
		// TestPartialRange covers them.
		// WITHIN (RFC 5032): one message appended now.
		"APPEND INBOX {32}\r\nSubject: now\r\nFrom: a@b\r\n\r\nnew\r\n",
		"NOOP",
		"SEARCH YOUNGER 3600",
		"SEARCH OLDER 3600",
		"UID SEARCH NOT YOUNGER 3600",
		"SEARCH YOUNGER 1000000000",
		"SEARCH OLDER 1000000000",
		"SEARCH YOUNGER 0",
		"SEARCH YOUNGER x",
		"SORT (ARRIVAL) UTF-8 YOUNGER 3600",
	)
	return steps
}

// TestDovecotSortThread compares SORT (every key, REVERSE, several
// criteria, ESORT's RETURN) and THREAD (REFERENCES and ORDEREDSUBJECT)
// with Dovecot 2.3's answers on copies of the same Maildir.
func TestDovecotSortThread(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildSortCorpus(t, filepath.Join(corpus, "Maildir"))
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	dv := startDovecotSession(t, dovecotIMAPConf(t, dvRoot), "alice", dvHome)
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	env := newTestEnvAt(t, yRoot, nil)
	yb := yubinDiffSession{env.login(t, "alice", "secret")}
	runDiffSteps(t, dv, yb, sortSteps())
}

// runDiffSteps sends each command to both sessions and compares the
// normalised answers.
func runDiffSteps(t *testing.T, dv, yb diffSession, steps []string) {
	t.Helper()
	for i, cmd := range steps {
		dl, dt := dv.do(cmd)
		yl, yt := yb.do(cmd)
		want := normalize(cmd, dl, dt)
		got := normalize(cmd, yl, yt)
		if got != want {
			t.Errorf("step %d: %s\n--- dovecot\n%s\n--- yubin\n%s", i, cmd, want, got)
		}
		if os.Getenv("YUBIN_DIFF_VERBOSE") != "" {
			t.Logf("step %d: %s\n%s", i, cmd, want)
		}
	}
}
