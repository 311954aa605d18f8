package imap

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The kept SORT and THREAD results over ALL, updated as a second
// session appends and expunges, answer what a fresh sort of the same
// messages answers (the search key "UID 1:*" takes the uncached path).
// Dates, subjects and senders repeat, so ties go by sequence number.
func TestSortOrderUpdatedIncrementally(t *testing.T) {
	env := newTestEnv(t, nil)
	a := env.login(t, "alice", "secret")
	b := env.login(t, "alice", "secret")
	rnd := rand.New(rand.NewPCG(1, 2))
	next := 0
	appendN := randomAppender(b, rnd, &next)
	appendN(60)
	a.ok("SELECT INBOX")
	b.ok("SELECT INBOX")
	progs := []string{"(DATE)", "(REVERSE ARRIVAL)", "(SUBJECT)", "(FROM DATE)", "(REVERSE SIZE SUBJECT)", "(REVERSE DATE)"}
	check := func(round int) {
		for _, p := range progs {
			for _, pre := range []string{"", "UID "} {
				got := a.ok(pre + "SORT " + p + " UTF-8 ALL")
				want := a.ok(pre + "SORT " + p + " UTF-8 UID 1:*")
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("round %d: %sSORT %s: kept %q, fresh %q", round, pre, p, got, want)
				}
			}
		}
		checkThreadsKept(t, a, round)
	}
	check(0)
	for round := 1; round <= 12; round++ {
		appendN(rnd.IntN(8))
		if rnd.IntN(2) == 0 {
			for i := 0; i < 1+rnd.IntN(4); i++ {
				b.ok(fmt.Sprintf("UID STORE %d +FLAGS.SILENT (\\Deleted)", 1+rnd.IntN(next)))
			}
			b.ok("EXPUNGE")
		}
		a.ok("NOOP")
		check(round)
	}
}

// randomAppender returns a function that appends n messages through c
// with senders, subjects, dates and sizes drawn from rnd (repeating, so
// sorts meet ties) and references to earlier ones; *next counts them.
func randomAppender(c *client, rnd *rand.Rand, next *int) func(n int) {
	return func(n int) {
		for i := 0; i < n; i++ {
			*next++
			m := fmt.Sprintf("From: u%d@example.org\r\nSubject: %stopic %d\r\nDate: Mon, %d Jan 2024 10:00:00 +0000\r\nMessage-ID: <m%d@x>\r\nReferences: <m%d@x>\r\n\r\n%s",
				rnd.IntN(5), []string{"", "Re: "}[rnd.IntN(2)], rnd.IntN(6), 1+rnd.IntN(9), *next, rnd.IntN(*next+1), strings.Repeat("x", rnd.IntN(50)))
			c.ok(fmt.Sprintf("APPEND INBOX {%d+}\r\n%s", len(m), m))
		}
	}
}

// checkThreadsKept compares every kept THREAD ALL through c (sequence
// numbers and UIDs) with one threaded from nothing (UID 1:*).
func checkThreadsKept(t *testing.T, c *client, round int) {
	t.Helper()
	for _, alg := range []string{"REFERENCES", "ORDEREDSUBJECT", "REFS"} {
		for _, pre := range []string{"", "UID "} {
			got := c.ok(pre + "THREAD " + alg + " UTF-8 ALL")
			want := c.ok(pre + "THREAD " + alg + " UTF-8 UID 1:*")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("round %d: %sTHREAD %s: kept %q, fresh %q", round, pre, alg, got, want)
			}
		}
	}
}
