package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestContextSearch: CONTEXT=SEARCH is advertised; a kept search is
// updated for another session's append and this session's own STORE
// and EXPUNGE (REMOVEFROM before EXPUNGE); contexts beyond the limit get
// NOUPDATE; SORT refuses UPDATE; contexts end with the selection.
func TestContextSearch(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	if caps := a.ok("CAPABILITY"); !slices.Contains(strings.Fields(caps[0]), "CONTEXT=SEARCH") {
		t.Fatalf("CAPABILITY: %q", caps)
	}
	for i := 0; i < 3; i++ {
		b.appendRaw("INBOX", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i))
	}
	a.ok("SELECT INBOX")
	a.send("u1 UID SEARCH RETURN (UPDATE) UNSEEN")
	if l := a.line(); l != `* ESEARCH (TAG "u1") UID` {
		t.Fatalf("initial: %q", l)
	}
	a.line()
	a.ok("SEARCH RETURN (COUNT UPDATE) UNSEEN")
	b.appendRaw("INBOX", "Subject: 4\r\n\r\nx\r\n")
	got := noopUntil(a)
	want := []string{"* 4 EXISTS", "* 4 RECENT", `* ESEARCH (TAG "u1") UID ADDTO (0 4)`, `* ESEARCH (TAG "t4") ADDTO (0 4)`}
	if !slices.Equal(got, want) {
		t.Fatalf("after append: %q, want %q", got, want)
	}
	got, st := a.cmd(`STORE 2 +FLAGS.SILENT (\Seen \Deleted)`)
	want = []string{`* ESEARCH (TAG "u1") UID REMOVEFROM (0 2)`, `* ESEARCH (TAG "t4") REMOVEFROM (0 2)`}
	if !slices.Equal(got, want) || !strings.HasPrefix(st, "OK") {
		t.Fatalf("own STORE: %q %q, want %q", got, st, want)
	}
	a.ok(`STORE 3 -FLAGS.SILENT (\Seen)`)
	a.ok(`STORE 3 +FLAGS.SILENT (\Deleted)`)
	got = a.ok("EXPUNGE")
	want = []string{`* ESEARCH (TAG "u1") UID REMOVEFROM (0 3)`, `* ESEARCH (TAG "t4") REMOVEFROM (0 3)`, "* 2 EXPUNGE", "* 2 EXPUNGE", "* 2 RECENT"}
	if !slices.Equal(got, want) {
		t.Fatalf("own EXPUNGE: %q, want %q", got, want)
	}
	// Two contexts are kept; fill up to the limit.
	for i := 2; i < maxSearchContexts; i++ {
		a.ok("UID SEARCH RETURN (UPDATE) ALL")
	}
	if got := a.ok("UID SEARCH RETURN (UPDATE) ALL"); len(got) != 2 || !strings.HasPrefix(got[0], `* NO [NOUPDATE "t`) {
		t.Fatalf("over the limit: %q", got)
	}
	if got := a.ok("SORT RETURN (UPDATE) (DATE) UTF-8 ALL"); len(got) != 2 || !strings.HasPrefix(got[1], `* NO [NOUPDATE "t`) {
		t.Fatalf("SORT UPDATE over the limit: %q", got)
	}
	a.ok(`CANCELUPDATE "u1" "t4"`)
	if _, st := a.cmd(`CANCELUPDATE "u1"`); !strings.HasPrefix(st, "NO") {
		t.Fatalf("CANCELUPDATE twice: %q", st)
	}
	a.ok("SELECT INBOX")
	b.appendRaw("INBOX", "Subject: 5\r\n\r\nx\r\n")
	for _, l := range noopUntil(a) {
		if strings.Contains(l, "ESEARCH") {
			t.Fatalf("context kept across SELECT: %q", l)
		}
	}
}
