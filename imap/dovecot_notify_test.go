package imap

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// notifySteps drive two sessions of the same user, "A" (which asks with
// NOTIFY) and "B" (which makes the changes); "sleep" gives Dovecot's
// mailbox list notification time to see B's change, and marks the next
// A step as one Dovecot may answer late (awaitDovecot).
var notifySteps = []string{
	`A SELECT INBOX`,
	`A NOTIFY SET (selected (MessageNew))`,
	`A NOTIFY SET (selected (FlagChange))`,
	`A NOTIFY SET (personal (MessageNew (UID) MessageExpunge))`,
	`A NOTIFY SET (selected (none))`,
	`A NOTIFY SET (personal (AnnotationChange))`,
	`A NOTIFY SET (personal (MailboxMetadataChange))`,
	`A NOTIFY SET (selected (Foo))`,
	`A NOTIFY FOO`,
	`A NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))`,
	`A NOTIFY SET (inboxes (MessageNew MessageExpunge))`,
	`A NOTIFY SET (mailboxes (INBOX Sent) (MessageNew MessageExpunge))`,
	`A NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))`,
	`B SELECT INBOX`,
	`B STORE 1 +FLAGS (\Flagged)`,
	// Appended with INBOX not selected in B, A takes the \Recent flag.
	`B UNSELECT`,
	"B APPEND INBOX {5+}\r\nhello",
	`A NOOP`,
	"B APPEND Sent {5+}\r\nhello",
	`A NOOP`,
	`B CREATE newbox`,
	`sleep`,
	`A NOOP`,
	`B SUBSCRIBE Archive/2024`,
	`sleep`,
	`A NOOP`,
	`B UNSUBSCRIBE Archive/2024`,
	`sleep`,
	`A NOOP`,
	`B RENAME work work2`,
	`sleep`,
	`A NOOP`,
	`B CREATE tree/child`,
	`sleep`,
	`A NOOP`,
	`B RENAME tree tree2`,
	`sleep`,
	`A NOOP`,
	`B DELETE newbox`,
	`sleep`,
	`A NOOP`,
	`A CREATE mine`,
	`A NOOP`,
	"A APPEND Sent {5+}\r\nhello",
	`A NOOP`,
	// Without FlagChange for the selected mailbox, others' flag changes
	// are not sent; after NOTIFY NONE nothing is.
	`A NOTIFY SET (selected (MessageNew MessageExpunge)) (subtree Archive (MessageNew MessageExpunge))`,
	`B SELECT INBOX`,
	`B STORE 2 +FLAGS (\Flagged)`,
	`A NOOP`,
	`B SELECT Archive/2024`,
	`B STORE 1 +FLAGS (\Deleted)`,
	`B EXPUNGE`,
	`A NOOP`,
	`A NOTIFY NONE`,
	`B SELECT INBOX`,
	`B STORE 3 +FLAGS (\Flagged)`,
	"B APPEND INBOX {5+}\r\nhello",
	`A NOOP`,
	`A NOTIFY SET STATUS (subtree Archive (MessageNew MessageExpunge)) (mailboxes (Sent) (MessageNew MessageExpunge))`,
}

// TestDovecotNotify compares NOTIFY (RFC 5465) with Dovecot 2.3: the
// command's syntax and errors, the STATUS indicator, the selected
// mailbox's events with MessageNew fetch attributes, STATUS for other
// mailboxes, LIST for mailbox and subscription changes, and NOTIFY NONE.
//
// Dovecot's side is not deterministic under load: its mailbox list
// notification sometimes never reports a change another session made
// (an inotify event handled after a command refreshed its list), and
// under a loaded machine it sometimes reports its own "Corrupted mailbox
// list index" after a RENAME. A run where yubin and Dovecot differ is
// therefore tried again, on fresh copies, up to five times; the test passes only on a run where every
// reply is equal, and a difference of yubin's own shows in every run.
func TestDovecotNotify(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	var diffs []string
	for attempt := 1; attempt <= 5; attempt++ {
		if diffs = notifyDifferences(t); len(diffs) == 0 {
			return
		}
		t.Logf("run %d: %d replies differ from Dovecot's; trying again", attempt, len(diffs))
	}
	for _, d := range diffs {
		t.Error(d)
	}
}

// notifyDifferences runs notifySteps against Dovecot and yubin on fresh
// copies of the corpus and returns the differences.
func notifyDifferences(t *testing.T) []string {
	var diffs []string
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
	ybB := yubinDiffSession{env.login(t, "alice", "secret")}
	late := false
	for i, step := range notifySteps {
		if step == "sleep" {
			// Not at once: Dovecot loses a change whose inotify event
			// it handles after a command refreshed its mailbox list.
			time.Sleep(300 * time.Millisecond)
			late = true
			continue
		}
		who, cmd, _ := strings.Cut(step, " ")
		dv, yb := diffSession(dvA), diffSession(ybA)
		if who == "B" {
			dv, yb = dvB, ybB
		}
		yl, yt := yb.do(cmd)
		dl, dt := dv.do(cmd)
		if late {
			dl, dt = awaitDovecot(dv, cmd, dl, dt, normalizeNotify(cmd, yl, yt))
			late = false
		}
		if who == "B" {
			// B only makes the changes A is told about.
			if d, y := strings.Fields(dt)[0], strings.Fields(yt)[0]; d != y || d != "OK" {
				diffs = append(diffs, fmt.Sprintf("step %d: %s: dovecot %s, yubin %s", i, step, dt, yt))
			}
			continue
		}
		want := normalizeNotify(cmd, dl, dt)
		got := normalizeNotify(cmd, yl, yt)
		if got != want {
			diffs = append(diffs, fmt.Sprintf("step %d: %s\n--- dovecot\n%s\n--- yubin\n%s", i, step, want, got))
		}
		if os.Getenv("YUBIN_DIFF_VERBOSE") != "" {
			t.Logf("step %d: %s\n%s", i, step, want)
		}
	}
	return diffs
}

// awaitDovecot repeats cmd (a NOOP) on Dovecot for up to ten seconds,
// gathering its untagged responses, until together they equal yubin's
// answer want: Dovecot reports another session's change when its
// inotify watch fires, which under load can be after the first NOOP.
// What Dovecot sends is still compared in full, and yubin's must come
// in its one answer.
func awaitDovecot(dv diffSession, cmd string, lines []string, tagged, want string) ([]string, string) {
	deadline := time.Now().Add(10 * time.Second)
	for normalizeNotify(cmd, lines, tagged) != want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		more, t := dv.do(cmd)
		lines, tagged = append(lines, more...), t
	}
	return lines, tagged
}

// normalizeNotify is normalize with the order of the STATUS and LIST
// responses of NOTIFY left free (RFC 5465 does not fix it). Dovecot
// sends NOTIFY SET STATUS's whole set again (STATUS with UIDVALIDITY)
// when the selected mailbox changes; RFC 5465 asks for the STATUS of
// mailboxes that changed, which come without UIDVALIDITY, so outside
// NOTIFY SET such repeats are left out.
func normalizeNotify(cmd string, untagged []string, tagged string) string {
	out := strings.Split(normalize(cmd, untagged, tagged), "\n")
	var st, rest []string
	for _, l := range out[:len(out)-1] {
		if !strings.HasPrefix(cmd, "NOTIFY") && strings.HasPrefix(l, "* STATUS ") && strings.Contains(l, " UIDVALIDITY ") {
			continue
		}
		if strings.HasPrefix(l, "* STATUS ") || strings.HasPrefix(l, "* LIST ") {
			st = append(st, l)
		} else {
			rest = append(rest, l)
		}
	}
	sort.Strings(st)
	return strings.Join(append(append(rest, st...), out[len(out)-1]), "\n")
}
