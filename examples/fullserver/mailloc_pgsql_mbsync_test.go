package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// mbsyncState is a side of a sync: mailbox, subject: flag letters
// (Maildir's: D F R S T, sorted).
type mbsyncState map[string]map[string]string

var (
	fetchFlags   = regexp.MustCompile(`FLAGS \(([^)]*)\)`)
	fetchSubject = regexp.MustCompile(`ENVELOPE \((?:NIL|"[^"]*") "([^"]*)"`)
	imapToLetter = map[string]string{`\Draft`: "D", `\Flagged`: "F", `\Answered`: "R", `\Seen`: "S", `\Deleted`: "T"}
)

// imapState lists bob's mailboxes over IMAP (through one server).
func imapState(t *testing.T, in *instance, boxes ...string) mbsyncState {
	t.Helper()
	ic := dialIMAP(t, in)
	st := mbsyncState{}
	for _, box := range boxes {
		st[box] = map[string]string{}
		ic.cmd("EXAMINE " + box)
		for _, l := range ic.cmd("UID FETCH 1:* (FLAGS ENVELOPE)") {
			f, s := fetchFlags.FindStringSubmatch(l), fetchSubject.FindStringSubmatch(l)
			if f == nil || s == nil {
				t.Fatalf("FETCH line %q", l)
			}
			var letters []string
			for _, fl := range strings.Fields(f[1]) {
				if x, ok := imapToLetter[fl]; ok {
					letters = append(letters, x)
				}
			}
			sort.Strings(letters)
			st[box][s[1]] = strings.Join(letters, "")
		}
	}
	ic.cmd("LOGOUT")
	return st
}

// maildirState lists the local Maildir folders mbsync keeps.
func maildirState(t *testing.T, root string, boxes ...string) mbsyncState {
	t.Helper()
	st := mbsyncState{}
	for _, box := range boxes {
		st[box] = map[string]string{}
		for _, sub := range []string{"cur", "new"} {
			files, _ := filepath.Glob(filepath.Join(root, box, sub, "*"))
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				subj := regexp.MustCompile(`(?m)^Subject: (.*?)\r?$`).FindSubmatch(b)
				if subj == nil {
					t.Fatalf("%s: no Subject", f)
				}
				_, info, _ := strings.Cut(filepath.Base(f), ":2,")
				letters := strings.Split(info, "")
				sort.Strings(letters)
				st[box][string(subj[1])] = strings.Join(letters, "")
			}
		}
	}
	return st
}

// mbsyncRCFor writes an mbsync configuration for user@localhost on the
// server in (IMAPS, certificate cert) syncing into the Maildir local,
// with the channel settings given (Patterns, Create, Expunge, Sync).
func mbsyncRCFor(t *testing.T, in *instance, user, cert, local, rc, channel string) {
	t.Helper()
	err := os.WriteFile(rc, []byte(`IMAPAccount yubin
Host localhost
Port `+strconv.Itoa(in.ports["imaps"])+`
User `+user+`@localhost
Pass pw-`+user+`
SSLType IMAPS
CertificateFile `+cert+`

IMAPStore remote
Account yubin

MaildirStore local
Path `+local+`
Inbox `+local+`INBOX

Channel sync
Far :remote:
Near :local:
`+channel+`SyncState *
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
}

// TestMbsyncPgstoreTwoWay: isync's mbsync keeps a local Maildir and an
// account on fullservers sharing one PostgreSQL in step both ways, each
// run against a different server: flags, expunges and new mail made on
// either side between runs reach the other, the two sides are then
// equal (subjects and flags, mailbox by mailbox), and a third run
// changes nothing.
func TestMbsyncPgstoreTwoWay(t *testing.T) {
	mbsync := testutil.RequireBinary(t, "mbsync")
	ins := pgInstances(t, 2)
	for i := 1; i <= 3; i++ {
		if r := lmtpDeliver(t, ins[0], "bob@localhost", fmt.Sprintf("From: a@example.org\nSubject: in%d\n\nbody %d\n", i, i)); !strings.HasPrefix(r, "250") {
			t.Fatalf("LMTP: %s", r)
		}
	}
	ic := dialIMAP(t, ins[1])
	ic.cmd("CREATE Work")
	for i := 1; i <= 2; i++ {
		msg := fmt.Sprintf("From: a@example.org\r\nSubject: work%d\r\n\r\nwork %d\r\n", i, i)
		ic.cmd(fmt.Sprintf("APPEND Work (\\Seen) {%d+}\r\n%s", len(msg), msg))
	}
	ic.cmd("LOGOUT")

	dir := t.TempDir()
	local := filepath.Join(dir, "mail") + "/"
	os.MkdirAll(local, 0o700)
	run := func(in *instance) string {
		t.Helper()
		rc := filepath.Join(dir, "mbsyncrc")
		mbsyncRCFor(t, in, "bob", filepath.Join(in.data, "tls", "cert.pem"), local, rc,
			"Patterns INBOX Work\nCreate Both\nExpunge Both\nSync All\n")
		out, err := exec.Command(mbsync, "-c", rc, "-a").CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
		return string(out)
	}
	boxes := []string{"INBOX", "Work"}
	run(ins[0])
	if r, l := imapState(t, ins[1], boxes...), maildirState(t, local, boxes...); fmt.Sprint(r) != fmt.Sprint(l) {
		t.Fatalf("after the first sync:\nserver %v\nlocal  %v", r, l)
	}

	// Server side: flag in1, expunge in2, new mail by LMTP and by APPEND.
	ic = dialIMAP(t, ins[0])
	ic.cmd("SELECT INBOX")
	ic.cmd(`UID STORE 1 +FLAGS (\Flagged \Answered)`)
	ic.cmd(`UID STORE 2 +FLAGS (\Deleted)`)
	ic.cmd("UID EXPUNGE 2")
	ic.cmd("LOGOUT")
	lmtpDeliver(t, ins[1], "bob@localhost", "From: a@example.org\nSubject: in4\n\nbody 4\n")
	// Local side: work1 read and flagged, work2 deleted, a new message.
	var work1, work2 string
	for _, sub := range []string{"cur", "new"} {
		files, _ := filepath.Glob(filepath.Join(local, "Work", sub, "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			switch {
			case strings.Contains(string(b), "Subject: work1"):
				work1 = f
			case strings.Contains(string(b), "Subject: work2"):
				work2 = f
			}
		}
	}
	if work1 == "" || work2 == "" {
		t.Fatalf("local Work lacks work1/work2: %v", maildirState(t, local, "Work"))
	}
	base, _, _ := strings.Cut(filepath.Base(work1), ":2,")
	if err := os.Rename(work1, filepath.Join(local, "Work", "cur", base+":2,FS")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(work2); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(local, "Work", "new", "1700000000.local1.host"),
		[]byte("From: me@example.org\r\nSubject: local-new\r\n\r\nwritten locally\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out := run(ins[1])
	want := mbsyncState{
		"INBOX": {"in1": "FR", "in3": "", "in4": ""},
		"Work":  {"work1": "FS", "local-new": ""},
	}
	r, l := imapState(t, ins[0], boxes...), maildirState(t, local, boxes...)
	if fmt.Sprint(r) != fmt.Sprint(want) || fmt.Sprint(l) != fmt.Sprint(want) {
		t.Fatalf("after the two-way sync:\nserver %v\nlocal  %v\nwant   %v\n%s", r, l, want, out)
	}
	// A third run against the first server finds nothing to do.
	run(ins[0])
	if r2, l2 := imapState(t, ins[1], boxes...), maildirState(t, local, boxes...); fmt.Sprint(r2) != fmt.Sprint(want) || fmt.Sprint(l2) != fmt.Sprint(want) {
		t.Fatalf("third sync changed something:\nserver %v\nlocal  %v", r2, l2)
	}
}
