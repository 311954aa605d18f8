package imap

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestDovecotACLListFile: after each ACL change, yubin's
// dovecot-acl-list names the same mailboxes as Dovecot's (the order is
// Dovecot's directory order, so the names are compared as sets), each
// with its dovecot-acl file's mtime.
func TestDovecotACLListFile(t *testing.T) {
	p := startDiffPair(t, true)

	// (Dovecot reads a list it has just changed by adding rights or
	// by denying only from a stale cache when it rebuilds the file at
	// once; the steps let it see each change by a replacing one.)
	steps := []string{
		`SETACL INBOX bob lr`,
		`SETACL Lists/go bob r`,
		`SETACL Archive/2024 carol lrs`,
		`SETACL work $grp l`,
		`SETACL Sent owner lr`,
		`SETACL Drafts bob r`,
		`SETACL Drafts -bob l`,
		`SETACL Junk bob lr`,
		`SETACL INBOX bob r`,
		`DELETEACL INBOX bob`,
		`DELETEACL Drafts bob`,
		`SETACL Junk bob ""`,
		`DELETEACL Lists/go bob`,
		`SETACL Trash owner lrwstipekxa`,
	}
	for _, cmd := range steps {
		runDiffSteps(t, p.dv, p.yb, []string{cmd})
		want := aclListNames(t, p.dvMaildir, false)
		got := aclListNames(t, p.yMaildir, true)
		if got != want {
			t.Errorf("after %s: dovecot-acl-list names\n--- dovecot\n%s\n--- yubin\n%s", cmd, want, got)
		}
	}
}

// aclListNames reads a dovecot-acl-list: its names, sorted, one a line;
// with checkMtime, each line's mtime must be its dovecot-acl file's.
func aclListNames(t *testing.T, root string, checkMtime bool) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ACLListFileName))
	if err != nil {
		t.Fatalf("%s: %v", ACLListFileName, err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if l == "" {
			continue
		}
		mtime, name, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("%s line %q", ACLListFileName, l)
		}
		names = append(names, name)
		if checkMtime {
			dir := root
			if name != "INBOX" {
				dir = filepath.Join(root, "."+name)
			}
			st, err := os.Stat(filepath.Join(dir, ACLFileName))
			if err != nil || strconv.FormatInt(st.ModTime().Unix(), 10) != mtime {
				t.Errorf("%s: %q, but the file: %v %v", ACLListFileName, l, st, err)
			}
		}
	}
	sort.Strings(names)
	return strings.Join(names, "\n")
}
