package imap

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNotifyCapability(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	lines := a.ok("CAPABILITY")
	if len(lines) != 1 || !slices.Contains(strings.Fields(lines[0]), "NOTIFY") {
		t.Fatalf("CAPABILITY: %q", lines)
	}
}

// TestNotifySyntax checks what NOTIFY accepts and how it refuses the
// rest (RFC 5465 8, Dovecot's answers).
func TestNotifySyntax(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	many := strings.Repeat(" (personal (MessageNew MessageExpunge))", maxNotifyGroups+1)
	for _, tc := range []struct{ cmd, want string }{
		{"NOTIFY NONE", "OK"},
		{"NOTIFY SET", "OK"},
		{"NOTIFY SET STATUS (personal NONE)", "OK"},
		{"notify set (Selected-Delayed (messagenew messageexpunge flagchange)) (subtree (INBOX Sent) (MailboxName))", "OK"},
		{"NOTIFY SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge))", "OK"},
		{"NOTIFY SET (mailboxes Sent (SubscriptionChange MailboxName))", "OK"},
		{"NOTIFY SET (subscribed (MessageNew MessageExpunge))", "OK"},
		{"NOTIFY SET (selected (MessageNew))", "BAD"},
		{"NOTIFY SET (selected (FlagChange))", "BAD"},
		{"NOTIFY SET (selected (MailboxName))", "BAD"},
		{"NOTIFY SET (personal (MessageNew (UID) MessageExpunge))", "BAD"},
		{"NOTIFY SET (selected NONE) (selected-delayed NONE)", "BAD"},
		{"NOTIFY SET (selected (none))", "BAD"},
		{"NOTIFY SET (selected (Foo))", "BAD"},
		{"NOTIFY SET (subtree (MessageNew MessageExpunge))", "BAD"},
		{"NOTIFY SET (subtree () (MessageNew MessageExpunge))", "BAD"},
		{"NOTIFY SET (nowhere (MessageNew MessageExpunge))", "BAD"},
		{"NOTIFY SET (personal (MessageNew MessageExpunge)", "BAD"},
		{"NOTIFY SET (personal (MessageNew MessageExpunge)) STATUS", "BAD"},
		{"NOTIFY SET" + many, "BAD"},
		{"NOTIFY FOO", "BAD"},
		{"NOTIFY", "BAD"},
		{"NOTIFY SET (personal (AnnotationChange))", "NO [BADEVENT AnnotationChange]"},
		{"NOTIFY SET (personal (MessageNew MessageExpunge ServerMetadataChange))", "NO [BADEVENT ServerMetadataChange]"},
	} {
		_, got := a.cmd(tc.cmd)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want %s", tc.cmd, got, tc.want)
		}
	}
	// The session goes on after every refusal.
	a.ok("NOOP")
}

// TestNotifyIdleOtherMailbox: in IDLE, a message delivered to another
// mailbox is told with STATUS within NotifyPollInterval; mailbox events
// not asked for are not.
func TestNotifyIdleOtherMailbox(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.NotifyPollInterval = 50 * time.Millisecond })
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	a.ok("SELECT INBOX")
	a.ok("NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge))")
	a.send("i IDLE")
	if l := a.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("idle: %q", l)
	}
	b.ok("CREATE Elsewhere")
	b.appendRaw("Sent", "Subject: x\r\n\r\ny\r\n")
	if l := a.line(); l != `* STATUS "Sent" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)` {
		t.Fatalf("idle update: %q", l)
	}
	b.appendRaw("INBOX", "Subject: x\r\n\r\ny\r\n")
	if l := a.line(); l != "* 1 EXISTS" {
		t.Fatalf("idle update: %q", l)
	}
	a.send("DONE")
	for {
		l := a.line()
		if l == "i OK Idle completed." {
			break
		}
		if l != "* 1 RECENT" {
			t.Fatalf("idle end: %q", l)
		}
	}
}

// TestNotifySelectedFilter: without FlagChange others' flag changes are
// not sent, after NOTIFY NONE nothing is, and what was held back comes
// when the selected mailbox's events are asked for again.
func TestNotifySelectedFilter(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	b.appendRaw("INBOX", "Subject: 1\r\n\r\n1\r\n")
	a.ok("ENABLE IMAP4rev2")
	a.ok("SELECT INBOX")
	a.ok("NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge))")
	b.ok("SELECT INBOX")
	b.ok(`STORE 1 +FLAGS (\Flagged)`)
	b.appendRaw("INBOX", "Subject: 2\r\n\r\n2\r\n")
	got := noopUntil(a)
	if want := []string{"* 2 EXISTS", `* 2 FETCH (UID 2 FLAGS ())`}; !slices.Equal(got, want) {
		t.Fatalf("NOOP: %q, want %q", got, want)
	}
	a.ok("NOTIFY NONE")
	b.appendRaw("INBOX", "Subject: 3\r\n\r\n3\r\n")
	time.Sleep(200 * time.Millisecond)
	if got := a.ok("NOOP"); len(got) != 0 {
		t.Fatalf("NOOP after NOTIFY NONE: %q", got)
	}
	a.ok("NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))")
	got = noopUntil(a)
	if want := []string{"* 3 EXISTS"}; !slices.Equal(got, want) {
		t.Fatalf("NOOP: %q, want %q", got, want)
	}
	b.ok(`STORE 2 +FLAGS (\Seen)`)
	got = noopUntil(a)
	if len(got) != 1 || !strings.HasPrefix(got[0], `* 2 FETCH (UID 2 FLAGS (\Seen) MODSEQ (`) {
		t.Fatalf("NOOP: %q", got)
	}
}

// TestNotifyMailboxEvents: creations, renames (with OLDNAME), deletions
// and subscription changes by another session are told with LIST; the
// STATUS indicator lists the watched mailboxes at once.
func TestNotifyMailboxEvents(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	got := a.ok("NOTIFY SET STATUS (subtree Sent (MessageNew MessageExpunge)) (personal (MailboxName SubscriptionChange))")
	if len(got) != 1 || !strings.HasPrefix(got[0], "* STATUS \"Sent\" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ") || !strings.HasSuffix(got[0], " UNSEEN 0)") {
		t.Fatalf("NOTIFY SET STATUS: %q", got)
	}
	for _, step := range []struct {
		cmd  string
		want []string
	}{
		{"CREATE one", []string{`* LIST () "/" "one"`}},
		{"RENAME one two", []string{`* LIST () "/" "two" ("OLDNAME" ("one"))`}},
		{"SUBSCRIBE two", []string{`* LIST (\Subscribed) "/" "two"`}},
		{"UNSUBSCRIBE two", []string{`* LIST () "/" "two"`}},
		{"DELETE two", []string{`* LIST (\NonExistent) "/" "two"`}},
		{"CREATE p/q", []string{`* LIST () "/" "p"`, `* LIST () "/" "p/q"`}},
	} {
		b.ok(step.cmd)
		if got := a.ok("NOOP"); !slices.Equal(got, step.want) {
			t.Errorf("after %s: %q, want %q", step.cmd, got, step.want)
		}
	}
	// A's own changes are told too, at its next command.
	if got := a.ok("CREATE mine"); len(got) != 0 {
		t.Errorf("CREATE: %q", got)
	}
	if got := a.ok("NOOP"); !slices.Equal(got, []string{`* LIST () "/" "mine"`}) {
		t.Errorf("after own CREATE: %q", got)
	}
}

// FuzzNotify feeds NOTIFY's parser: no panic, and what it accepts keeps
// RFC 5465's rules.
func FuzzNotify(f *testing.F) {
	for _, s := range []string{
		"NONE", "SET", "SET STATUS (personal NONE)",
		"SET (selected (MessageNew (UID FLAGS BODY.PEEK[HEADER]) MessageExpunge FlagChange)) (personal (MailboxName SubscriptionChange))",
		"SET (subtree (INBOX {3}\r\nabc) (MessageNew MessageExpunge))",
		"SET (mailboxes \"a b\" (MessageNew MessageExpunge)) (inboxes (AnnotationChange))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := &conn{w: newWriter(nil)}
		c.r = newReader(strings.NewReader(" "+s+"\r\n"), 4096)
		c.r.literalPlus = true
		c.r.cont = func() error { return nil }
		spec, err := c.parseNotify()
		if err != nil {
			return
		}
		if len(spec.groups) > maxNotifyGroups {
			t.Fatalf("%q: %d groups", s, len(spec.groups))
		}
		selected := 0
		for _, g := range spec.groups {
			ev := g.events
			if ev.messageNew != ev.messageExpunge || ev.flagChange && !ev.messageNew {
				t.Fatalf("%q: accepted %+v", s, ev)
			}
			isSel := g.filter == filterSelected || g.filter == filterSelectedDelayed
			if isSel {
				selected++
			}
			if len(ev.fetch) > 0 && !isSel {
				t.Fatalf("%q: fetch attributes for %v", s, g.filter)
			}
			if (g.filter == filterSubtree || g.filter == filterMailboxes) != (len(g.names) > 0) {
				t.Fatalf("%q: names %q for %v", s, g.names, g.filter)
			}
		}
		if selected > 1 {
			t.Fatalf("%q: %d selected groups", s, selected)
		}
	})
}
