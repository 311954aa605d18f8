package imap

import (
	"strings"
	"testing"
)

// A FETCH ENVELOPE answered once is kept in the store: after a restart,
// with the message files edited behind the server, FETCH ENVELOPE still
// answers what was kept (it read no file), while a message never
// fetched and other items come from the files.
func TestEnvelopeKeptAcrossRestart(t *testing.T) {
	root := t.TempDir()
	env := newTestEnvAt(t, root, nil)
	c := env.login(t, "alice", "secret")
	for _, s := range []string{"one", "two", "three"} {
		m := "From: Ann <ann@example.org>\r\nSubject: old " + s + "\r\nMessage-ID: <" + s + "@x>\r\n\r\nbody\r\n"
		c.ok("APPEND INBOX {" + itoa(uint32(len(m))) + "+}\r\n" + m)
	}
	c.ok("SELECT INBOX")
	first := c.ok("FETCH 1:2 ENVELOPE")
	if len(first) != 2 || !strings.Contains(first[0], `"old one"`) || !strings.Contains(first[1], `"old two"`) {
		t.Fatalf("first FETCH: %q", first)
	}
	if changed := editBehindRestart(t, env, c, root, func(m string) string { return strings.Replace(m, "Subject: old", "Subject: new", 1) }); changed != 3 {
		t.Fatalf("changed %d files", changed)
	}

	env2 := newTestEnvAt(t, root, nil)
	c2 := env2.login(t, "alice", "secret")
	c2.ok("SELECT INBOX")
	if l := c2.ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]"); !strings.Contains(strings.Join(l, ""), "new one") {
		t.Fatalf("the file was not changed: %q", l)
	}
	got := c2.ok("FETCH 1:3 (UID ENVELOPE)")
	if len(got) != 3 || !strings.Contains(got[0], `"old one"`) || !strings.Contains(got[1], `"old two"`) || !strings.Contains(got[2], `"new three"`) {
		t.Fatalf("FETCH ENVELOPE after restart: %q, want the kept envelopes of 1 and 2 and the file's of 3", got)
	}
	if got[0] != strings.Replace(first[0], "FETCH (", "FETCH (UID 1 ", 1) {
		t.Fatalf("kept envelope %q differs from the one sent first %q", got[0], first[0])
	}
	// Message 3's envelope is kept now too.
	if l := c2.ok("FETCH 3 ENVELOPE"); len(l) != 1 || !strings.Contains(l[0], `"new three"`) {
		t.Fatalf("FETCH 3 again: %q", l)
	}
}
