package sdbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// churn appends n messages to mb with keywords and flags, changes flags
// and keywords of some and expunges others.
func churn(t *testing.T, mb store.Mailbox, n, round int) {
	t.Helper()
	c := context.Background()
	var uids []uint32
	for i := 0; i < n; i++ {
		f := store.Flags{Keywords: []string{fmt.Sprintf("kw%d", (i+round)%11)}}
		if i%3 == 0 {
			f.System |= store.Seen
		}
		r, err := mb.Append(c, strings.NewReader(fmt.Sprintf("Subject: r%d m%d\r\n\r\nbody %d\r\n", round, i, i)), store.AppendOptions{Flags: f})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, r.UID)
	}
	for i, uid := range uids {
		var err error
		switch i % 5 {
		case 1:
			_, _, err = mb.SetFlags(c, store.UIDSetOf(uid), store.FlagsAdd, store.Flags{System: store.Flagged | store.Answered, Keywords: []string{"$Label1"}}, 0)
		case 2:
			_, _, err = mb.SetFlags(c, store.UIDSetOf(uid), store.FlagsReplace, store.Flags{System: store.Draft}, 0)
		case 3:
			if _, _, err = mb.SetFlags(c, store.UIDSetOf(uid), store.FlagsAdd, store.Flags{System: store.Deleted}, 0); err == nil {
				var gone []uint32
				gone, err = mb.Expunge(c, store.UIDSetOf(uid))
				if err == nil && len(gone) != 1 {
					err = fmt.Errorf("UID %d not expunged", uid)
				}
			}
		case 4:
			_, _, err = mb.SetFlags(c, store.UIDSetOf(uid), store.FlagsAdd, store.Flags{System: store.Deleted}, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// pythonFetch reads a dbox-Mails directory with the reference reader in
// testdata/tools (index plus logs) and returns "uid flags" per message.
func pythonFetch(t *testing.T, dir string) map[uint32]string {
	t.Helper()
	tool := filepath.Join(goldenPath(t, ".."), "tools", "read_dovecot_index.py")
	py := testutil.RequireBinary(t, "python3")
	out, err := exec.Command(py, tool, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	got := map[uint32]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		if strings.HasPrefix(line, "mailbox_guid=") {
			continue
		}
		var uid uint32
		fmt.Sscan(line, &uid)
		_, flags, _ := strings.Cut(line, " ")
		got[uid] = normFlags(strings.Fields(flags))
	}
	return got
}

func logSizes(t *testing.T, md string) (log, log2 int64) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(md, logName))
	if err != nil {
		t.Fatal(err)
	}
	if fi2, err := os.Stat(filepath.Join(md, log2Name)); err == nil {
		log2 = fi2.Size()
	}
	return fi.Size(), log2
}

// TestDovecotOpensYubinIndex: a mailbox only yubin changed (appends with
// keywords, flag changes, expunges, far past the rotate size) keeps its
// transaction log bounded by rotating it and writing dovecot.index as
// Dovecot does; the reference reader, Dovecot (no force-resync, no
// complaint) and a fresh yubin all see the same UIDs, flags and
// keywords; Dovecot's changes afterwards are read by yubin, and yubin's
// after those by Dovecot.
func TestDovecotOpensYubinIndex(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	const maxLog = 8 << 10
	var logged strings.Builder
	opts := Options{LogRotateMinSize: 2 << 10, LogRotateMaxSize: maxLog, LogRotateMinAge: -1, Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logged}, nil))}
	s, err := Open(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := context.Background()
	mb, err := s.OpenMailbox(c, store.Inbox, store.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	md := filepath.Join(root, "mailboxes", "INBOX", mailDirName)
	var maxSeen int64
	for round := 0; round < 4; round++ {
		churn(t, mb, 60, round)
		l, _ := logSizes(t, md)
		maxSeen = max(maxSeen, l)
	}
	l, l2 := logSizes(t, md)
	if _, err := os.Stat(filepath.Join(md, indexName)); err != nil {
		t.Fatalf("no dovecot.index after %d bytes of changes: %v", l+l2, err)
	}
	if maxSeen > maxLog+4<<10 || l2 > maxLog+4<<10 {
		t.Errorf("log not bounded: largest %d bytes (.log.2 %d), rotate size %d", maxSeen, l2, maxLog)
	}
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)

	mine := handleFetch(t, mb.(*Mailbox))
	if len(mine) != 4*60*4/5 {
		t.Errorf("%d messages, want %d", len(mine), 4*60*4/5)
	}
	fresh := yubinFetch(t, s, store.Inbox, true)
	compareMessages(t, "fresh yubin", mine, fresh)
	py := pythonFetch(t, md)
	if len(py) != len(mine) {
		t.Errorf("reference reader sees %d messages, yubin %d", len(py), len(mine))
	}
	for _, m := range mine {
		if py[m.UID] != m.Flags {
			t.Errorf("UID %d: reference reader %q, yubin %q", m.UID, py[m.UID], m.Flags)
		}
	}
	compareMessages(t, "dovecot on yubin's index", doveadmFetch(t, d, store.Inbox, true), mine)

	// Dovecot changes the mailbox; yubin's handle and a fresh open see it.
	d.Doveadm(t, []byte("Subject: from dovecot\n\nhello\n"), "save", "-u", "alice")
	first := mine[minKey(mine)].UID
	doveadm(t, d, "flags", "add", "-u", "alice", `\Seen $Dove`, "mailbox", "INBOX", "uid", fmt.Sprint(first))
	doveadm(t, d, "expunge", "-u", "alice", "mailbox", "INBOX", "uid", fmt.Sprint(first+1))
	if _, err := mb.Poll(c); err != nil {
		t.Fatal(err)
	}
	want := doveadmFetch(t, d, store.Inbox, true)
	if w := want[fmt.Sprintf("INBOX/%d", first)]; !strings.Contains(w.Flags, "$dove") {
		t.Fatalf("dovecot did not flag UID %d: %+v", first, w)
	}
	compareMessages(t, "handle after dovecot", want, handleFetch(t, mb.(*Mailbox)))
	compareMessages(t, "fresh yubin after dovecot", want, yubinFetch(t, s, store.Inbox, true))

	// yubin goes on (rotating again) over what Dovecot wrote, with
	// Dovecot's modseq extension enabled by a fetch of modseqs.
	doveadm(t, d, "fetch", "-u", "alice", "uid modseq", "mailbox", "INBOX", "all")
	churn(t, mb, 60, 9)
	dm := map[uint32]string{}
	for _, rec := range strings.Split(doveadm(t, d, "-f", "flow", "fetch", "-u", "alice", "uid modseq", "mailbox", "INBOX", "all"), "\n") {
		var uid uint32
		var ms string
		if n, _ := fmt.Sscanf(rec, "uid=%d modseq=%s", &uid, &ms); n == 2 {
			dm[uid] = ms
		}
	}
	if len(dm) < 100 {
		t.Fatalf("doveadm fetched %d modseqs", len(dm))
	}
	if idx, _ := os.ReadFile(filepath.Join(md, indexName)); !strings.Contains(string(idx), "modseq") {
		t.Error("the last index written has no modseq extension")
	}
	mb.(*Mailbox).Messages(c, nil, func(mi *store.MessageInfo) error {
		if dm[mi.UID] != fmt.Sprint(mi.ModSeq) {
			t.Errorf("UID %d: modseq %s in dovecot, %d in yubin", mi.UID, dm[mi.UID], mi.ModSeq)
		}
		return nil
	})
	compareMessages(t, "dovecot after more yubin", doveadmFetch(t, d, store.Inbox, true), handleFetch(t, mb.(*Mailbox)))
	l, _ = logSizes(t, md)
	t.Logf("log %d bytes; yubin warnings: %q", l, logged.String())
	if strings.Contains(logged.String(), "not rotated") {
		t.Errorf("rotation failed: %s", logged.String())
	}
	if dl, _ := os.ReadFile(d.Log); strings.Contains(string(dl), "Error") || strings.Contains(string(dl), "orrupt") {
		t.Errorf("dovecot log:\n%s", dl)
	}
}

func minKey(m map[string]dovecotMsg) string {
	var k string
	var uid uint32
	for key, v := range m {
		if k == "" || v.UID < uid {
			k, uid = key, v.UID
		}
	}
	return k
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
