package sdbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/store"
)

// dovecotMsg is one message as doveadm fetch reports it.
type dovecotMsg struct {
	Mailbox string
	UID     uint32
	Flags   string // sorted, lower-case, \Recent dropped
	GUID    string
	Body    string
}

func normFlags(names []string) string {
	var out []string
	for _, n := range names {
		if n == "" || strings.EqualFold(n, `\Recent`) {
			continue
		}
		out = append(out, strings.ToLower(n))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// startDovecot starts a private Dovecot with alice's mail in
// sdbox:~/sdbox and returns it and the sdbox root (owned by the user
// Dovecot runs as).
func startDovecot(t *testing.T) (*testutil.Dovecot, string) {
	d := testutil.StartDovecot(t, testutil.DovecotConfig{MailLocation: "sdbox:~/sdbox"})
	root := filepath.Join(d.Home("alice"), "sdbox")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	return d, root
}

// doveadmFetch fetches the messages of one mailbox (or all with "")
// with doveadm; fields "mailbox uid flags" plus guid and text with full.
func doveadmFetch(t *testing.T, d *testutil.Dovecot, mailbox string, full bool) map[string]dovecotMsg {
	t.Helper()
	fields := "mailbox uid flags"
	if full {
		fields += " guid text"
	}
	search := []string{"all"}
	if mailbox != "" {
		search = []string{"mailbox", mailbox}
	}
	out := doveadm(t, d, append([]string{"-f", "pager", "fetch", "-u", "alice", fields}, search...)...)
	msgs := map[string]dovecotMsg{}
	for _, rec := range strings.Split(out, "\f\n") {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		var m dovecotMsg
		head, text, _ := strings.Cut(rec, "text:\n")
		for _, line := range strings.Split(head, "\n") {
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "mailbox":
				m.Mailbox = v
			case "uid":
				fmt.Sscan(v, &m.UID)
			case "flags":
				m.Flags = normFlags(strings.Fields(v))
			case "guid":
				m.GUID = v
			}
		}
		if full {
			m.Body = text
		}
		msgs[fmt.Sprintf("%s/%d", m.Mailbox, m.UID)] = m
	}
	return msgs
}

// yubinFetch lists the messages of one mailbox (or all with "").
func yubinFetch(t *testing.T, s *Store, mailbox string, full bool) map[string]dovecotMsg {
	t.Helper()
	c := context.Background()
	var names []string
	if mailbox != "" {
		names = []string{mailbox}
	} else {
		list, err := s.ListMailboxes(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, mi := range list {
			if !mi.NoSelect {
				names = append(names, mi.Name)
			}
		}
	}
	msgs := map[string]dovecotMsg{}
	for _, name := range names {
		mb, err := s.OpenMailbox(c, name, store.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		err = mb.Messages(c, nil, func(info *store.MessageInfo) error {
			m := dovecotMsg{Mailbox: name, UID: info.UID, Flags: normFlags(append(info.Flags.System.Names(), info.Flags.Keywords...))}
			if full {
				r, err := mb.Open(c, info.UID)
				if err != nil {
					return err
				}
				b, err := io.ReadAll(r)
				r.Close()
				if err != nil {
					return err
				}
				m.GUID, m.Body = info.GUID, string(b)
			}
			msgs[fmt.Sprintf("%s/%d", name, info.UID)] = m
			return nil
		})
		mb.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return msgs
}

func compareMessages(t *testing.T, what string, want, got map[string]dovecotMsg) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: dovecot sees %d messages, yubin %d", what, len(want), len(got))
	}
	n := 0
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: %s missing in yubin", what, k)
		case w != g:
			t.Errorf("%s: %s:\n dovecot %+v\n yubin   %+v", what, k, w, g)
		default:
			continue
		}
		if n++; n > 10 {
			t.Fatalf("%s: too many differences", what)
		}
	}
}

// copyGolden copies a golden mailbox directory into root as mailbox
// name.
func copyGolden(t *testing.T, root, golden, name string) {
	t.Helper()
	src := goldenPath(t, golden)
	dst := filepath.Join(root, "mailboxes", name, mailDirName)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "expected-flags.txt" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDovecotGoldenMailboxes: every Dovecot-written golden mailbox reads
// back through yubin exactly as doveadm fetch 'uid flags' reports it on
// the same directory, before and after Dovecot has opened (and perhaps
// rewritten) its index.
func TestDovecotGoldenMailboxes(t *testing.T) {
	t.Parallel()
	d, root := startDovecot(t)
	copyGolden(t, root, "INBOX", "INBOX")
	copyGolden(t, root, "Big", "Big")
	copyGolden(t, root, "synthesized", "Synth")
	testutil.ChownTree(t, d.Home("alice"), testutil.PlainUID, testutil.PlainGID)
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"INBOX", "Big", "Synth"} {
		before := yubinFetch(t, s, name, false)
		want := doveadmFetch(t, d, name, false)
		if len(want) == 0 {
			t.Fatalf("%s: doveadm fetched nothing", name)
		}
		compareMessages(t, name+" (yubin first)", want, before)
		compareMessages(t, name+" (after Dovecot)", want, yubinFetch(t, s, name, false))
	}
	// Bodies and GUIDs where the golden mailbox has its files.
	for _, name := range []string{"INBOX", "Synth"} {
		compareMessages(t, name+" bodies", doveadmFetch(t, d, name, true), yubinFetch(t, s, name, true))
	}
}

func readFileString(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

// doveadm runs doveadm and fails the test when it exits non-zero or
// complains on stderr (an index it had to repair, a file it could not
// parse): yubin's files must open cleanly.
func doveadm(t *testing.T, d *testutil.Dovecot, args ...string) string {
	t.Helper()
	cmd := exec.Command(testutil.LookBinary("doveadm"), append([]string{"-c", d.Conf}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("doveadm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if e := stderr.String(); strings.TrimSpace(e) != "" {
		t.Errorf("doveadm %s complained:\n%s", strings.Join(args, " "), e)
	}
	return stdout.String()
}
