package sdbox

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// goldenDir is the shared testdata of Dovecot-written mailboxes.
const goldenDir = "../../shared/testdata/sdbox"

func goldenPath(t *testing.T, parts ...string) string {
	t.Helper()
	for _, base := range []string{goldenDir, "/work/shared/testdata/sdbox"} {
		p := filepath.Join(append([]string{base}, parts...)...)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("golden files %v not found", parts)
	return ""
}

// flagWords is a message's flags and sorted keywords as
// expected-flags.txt and doveadm write them.
func flagWords(st *state, m *message) string {
	var w []string
	for _, f := range []struct {
		bit  uint8
		name string
	}{{flagAnswered, `\Answered`}, {flagFlagged, `\Flagged`}, {flagDeleted, `\Deleted`}, {flagSeen, `\Seen`}, {flagDraft, `\Draft`}} {
		if m.flags&f.bit != 0 {
			w = append(w, f.name)
		}
	}
	kws := st.keywordNames(m)
	sort.Strings(kws)
	return strings.Join(append(w, kws...), " ")
}

func describe(st *state) string {
	var b strings.Builder
	fmt.Fprintf(&b, "uidvalidity=%d next_uid=%d\n", st.uidValidity(), st.nextUID())
	if g := st.mailboxGUID(); g != [16]byte{} {
		fmt.Fprintf(&b, "mailbox_guid=%s\n", hex.EncodeToString(g[:]))
	}
	for i := range st.msgs {
		m := &st.msgs[i]
		fmt.Fprintf(&b, "%s\n", strings.TrimSpace(fmt.Sprintf("%d %s", m.uid, flagWords(st, m))))
	}
	return b.String()
}

// TestGoldenMailboxes reads every Dovecot-written golden mailbox and
// compares the result with what Dovecot reported for it.
func TestGoldenMailboxes(t *testing.T) {
	for _, name := range []string{"INBOX", "Big", "synthesized"} {
		t.Run(name, func(t *testing.T) {
			dir := goldenPath(t, name)
			want, err := os.ReadFile(filepath.Join(dir, "expected-flags.txt"))
			if err != nil {
				t.Fatal(err)
			}
			l, err := loadState(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.damage) > 0 {
				t.Errorf("damage reported on a good mailbox: %v", l.damage)
			}
			got := describe(l.st)
			if !strings.HasPrefix(string(want), "uidvalidity=") {
				// Big's file lists only the messages.
				got = got[strings.Index(got, "\n1 ")+1:]
			}
			if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
