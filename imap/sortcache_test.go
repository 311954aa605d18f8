package imap

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

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

// Kept SORT and THREAD results count against SortCacheMessages with the
// keys: a second mailbox's results push the first out, where its keys
// alone would have fitted.
func TestSortCacheLimitCountsResults(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.SortCacheMessages = 30 })
	c := env.login(t, "alice", "secret")
	c.ok("CREATE Other")
	for i := 0; i < 10; i++ {
		m := fmt.Sprintf("Subject: s%d\r\nMessage-ID: <a%d@x>\r\n\r\nx", i, i)
		c.ok(fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(m), m))
		if i < 5 {
			c.ok(fmt.Sprintf("APPEND Other {%d+}\r\n%s", len(m), m))
		}
	}
	sc := env.srv.sortCache()
	held := func() (n int, boxes []string) {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		for k := range sc.boxes {
			boxes = append(boxes, strings.Split(k, "\x00")[1])
		}
		slices.Sort(boxes)
		return sc.n, boxes
	}
	c.ok("SELECT INBOX")
	c.ok("SORT (SUBJECT) UTF-8 ALL")
	if n, boxes := held(); n != 20 || !slices.Equal(boxes, []string{"INBOX"}) {
		t.Fatalf("after INBOX's SORT: %d held in %q, want 10 keys + 10 in the result", n, boxes)
	}
	c.ok("SELECT Other")
	c.ok("SORT (SUBJECT) UTF-8 ALL")
	if n, boxes := held(); n != 30 || !slices.Equal(boxes, []string{"INBOX", "Other"}) {
		t.Fatalf("after Other's SORT: %d held in %q, want 30 in both", n, boxes)
	}
	c.ok("THREAD REFERENCES UTF-8 ALL")
	if n, boxes := held(); n != 15 || !slices.Equal(boxes, []string{"Other"}) {
		t.Fatalf("after Other's THREAD: %d held in %q, want INBOX evicted and 5 keys + 2×5 in results", n, boxes)
	}
	// The evicted mailbox sorts again from nothing, and right.
	c.ok("SELECT INBOX")
	if l := c.ok("SORT (SUBJECT) UTF-8 ALL"); len(l) != 1 || l[0] != "* SORT 1 2 3 4 5 6 7 8 9 10" {
		t.Fatalf("INBOX after eviction: %q", l)
	}
	if n, boxes := held(); n != 20 || !slices.Equal(boxes, []string{"INBOX"}) {
		t.Fatalf("after INBOX's SORT again: %d held in %q, want Other evicted", n, boxes)
	}
}
