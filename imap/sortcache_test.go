package imap

import "testing"

// A repeated SORT is served from the kept order only while the same
// messages match: new and expunged messages change the answer.
func TestSortResultFollowsChanges(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	for _, s := range []string{"b", "c", "a"} {
		c.ok("APPEND INBOX {" + itoa(uint32(14+len(s))) + "+}\r\nSubject: " + s + "\r\n\r\nx")
	}
	c.ok("SELECT INBOX")
	for i := 0; i < 2; i++ {
		if l := c.ok("SORT (SUBJECT) UTF-8 ALL"); len(l) != 1 || l[0] != "* SORT 3 1 2" {
			t.Fatalf("round %d: %q", i, l)
		}
	}
	c.ok("APPEND INBOX {15+}\r\nSubject: 0\r\n\r\nx")
	if l := c.ok("SORT (SUBJECT) UTF-8 ALL"); len(l) != 1 || l[0] != "* SORT 4 3 1 2" {
		t.Fatalf("after APPEND: %q", l)
	}
	c.ok("STORE 3 +FLAGS.SILENT (\\Deleted)")
	c.ok("EXPUNGE")
	if l := c.ok("SORT (SUBJECT) UTF-8 ALL"); len(l) != 1 || l[0] != "* SORT 3 1 2" {
		t.Fatalf("after EXPUNGE: %q", l)
	}
	if l := c.ok("SORT (REVERSE SUBJECT) UTF-8 ALL"); len(l) != 1 || l[0] != "* SORT 2 1 3" {
		t.Fatalf("REVERSE: %q", l)
	}
}

// A repeated THREAD over the same messages answers with their current
// sequence numbers after another message was expunged.
func TestThreadResultFollowsSequence(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	for _, m := range []string{"Subject: other\r\n\r\nx", "Subject: x\r\nMessage-ID: <a@x>\r\n\r\nx", "Subject: Re: x\r\nReferences: <a@x>\r\n\r\nx"} {
		c.ok("APPEND INBOX {" + itoa(uint32(len(m))) + "+}\r\n" + m)
	}
	c.ok("SELECT INBOX")
	for _, alg := range []string{"REFERENCES", "ORDEREDSUBJECT", "REFS"} {
		if l := c.ok("THREAD " + alg + " UTF-8 SUBJECT x"); len(l) != 1 || l[0] != "* THREAD (2 3)" {
			t.Fatalf("%s: %q", alg, l)
		}
	}
	c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
	c.ok("EXPUNGE")
	for i := 0; i < 2; i++ {
		if l := c.ok("THREAD REFS UTF-8 SUBJECT x"); len(l) != 1 || l[0] != "* THREAD (1 2)" {
			t.Fatalf("after EXPUNGE: %q", l)
		}
		if l := c.ok("UID THREAD REFS UTF-8 SUBJECT x"); len(l) != 1 || l[0] != "* THREAD (2 3)" {
			t.Fatalf("UID THREAD: %q", l)
		}
	}
}
