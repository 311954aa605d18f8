package imap

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// aclAppend is an APPEND of a small message with flags, as a LITERAL+.
func aclAppend(mailbox, flags, subject string) string {
	msg := "Subject: " + subject + "\r\n\r\nbody of " + subject + "\r\n"
	return fmt.Sprintf("APPEND %s (%s) {%d+}\r\n%s", mailbox, flags, len(msg), msg)
}

// aclRightsRound is one round of message commands on R with the
// owner's rights set to rights first.
func aclRightsRound(rights string) []string {
	return []string{
		`CREATE R`,
		aclAppend("R", `\Seen $K1`, "one"),
		aclAppend("R", `\Seen \Flagged $K1`, "two"),
		aclAppend("R", `\Deleted`, "three"),
		aclAppend("R", `\Answered $K4`, "four"),
		aclAppend("R", ``, "five"),
		aclAppend("R", `\Flagged`, "six"),
		// Every keyword the round uses stays on one message, since
		// Dovecot lists in FLAGS the keywords a mailbox ever had.
		aclAppend("R", `$K1 $K2 $K3 $K4 $K9`, "keeper"),
		`SETACL R owner ` + rights,
		`MYRIGHTS R`,
		`SELECT R`,
		`STORE 1 +FLAGS (\Seen \Deleted \Flagged $K2)`,
		`STORE 2 -FLAGS (\Seen \Deleted \Flagged $K1)`,
		`STORE 3 FLAGS (\Answered $K3)`,
		`STORE 4 FLAGS ()`,
		`STORE 1:3 +FLAGS.SILENT (\Draft)`,
		`FETCH 1:* (FLAGS)`,
		`FETCH 5 (BODY[TEXT])`,
		`FETCH 5 (FLAGS)`,
		`UID STORE 6 +FLAGS (\Seen)`,
		`EXPUNGE`,
		`FETCH 1:* (UID FLAGS)`,
		`UID EXPUNGE 1:*`,
		aclAppend("R", `\Seen \Deleted \Flagged $K9`, "appended "+rights),
		`COPY 1 R`,
		`COPY 2 INBOX`,
		`MOVE 1 Archive`,
		`FETCH 1:* (UID FLAGS)`,
		`CLOSE`,
		`EXAMINE R`,
		`FETCH 1:* (UID FLAGS)`,
		`UNSELECT`,
		`STATUS R (MESSAGES)`,
		// Put back what a round may have taken away.
		`SETACL R owner lrwstipekxa`,
		`DELETE R`,
	}
}

// aclRightsSteps exercise the message rights (RFC 4314 4): each round
// gives the owner a different set of rights on R.
func aclRightsSteps() []string {
	// (INBOX is selected first: Dovecot takes the \Recent of the
	// corpus' new messages at the first COPY into INBOX, yubin does
	// not; that is not about rights.)
	steps := []string{`SELECT INBOX`, `UNSELECT`, `CREATE Dest`}
	for _, r := range []string{"lr", "lrs", "lrt", "lrw", "lrws", "lrwt", "lrst", "lri", "lre", "lrte", "lrwsi", "lrwstie", "l", "li", "lw"} {
		steps = append(steps, aclRightsRound(r)...)
	}
	// Rights on the destination of APPEND, COPY and MOVE.
	steps = append(steps,
		`SELECT INBOX`,
		`FETCH 1:* (UID FLAGS)`,
		`SETACL Dest owner lr`,
		`COPY 1 Dest`,
		`MOVE 1 Dest`,
		aclAppend("Dest", `\Seen`, "no insert"),
		`SETACL Dest owner li`,
		`COPY 1 Dest`,
		aclAppend("Dest", `\Seen \Deleted \Flagged $Important`, "insert only"),
		`SETACL Dest owner lis`,
		`COPY 1:2 Dest`,
		`MOVE 1 Dest`,
		`FETCH 1:* (UID FLAGS)`,
		`SETACL Dest owner liw`,
		`COPY 2 Dest`,
		`COPY 1 Dest`,
		`SETACL Dest owner ""`,
		`COPY 1 Dest`,
		aclAppend("Dest", ``, "unseen"),
		`SETACL Dest owner i`,
		`COPY 1 Dest`,
		aclAppend("Dest", ``, "blind"),
		`SETACL Dest owner lrwstipekxa`,
		`EXAMINE Dest`,
		`FETCH 1:* (FLAGS)`,
		`UNSELECT`,
	)
	return steps
}

// TestDovecotACLMessageRights compares the message rights with Dovecot
// 2.3's acl plugin: flags kept only with "s", "t" and "w", APPEND, COPY
// and MOVE into only with "i", EXPUNGE and MOVE out only with "e",
// READ-ONLY SELECT without a right to change anything, and
// PERMANENTFLAGS after the rights.
func TestDovecotACLMessageRights(t *testing.T) {
	p := startDiffPair(t, true)
	runDiffSteps(t, &dovecotSeenBug{dovecotDiffSession: p.dv}, p.yb, aclRightsSteps())
}

// dovecotSeenBug hides a fault of Dovecot 2.3: FETCH of a body in a
// mailbox where the user may change something but not \Seen reports
// \Seen set in the FETCH response although the acl plugin left it
// unset (the next FETCH FLAGS shows it unset). yubin neither sets nor
// reports it.
var seenFlagsRE = regexp.MustCompile(`FLAGS \([^)]*\) `)

type dovecotSeenBug struct {
	*dovecotDiffSession
	noSeen bool // the owner's rights on R lack "s"
}

func (s *dovecotSeenBug) do(cmd string) ([]string, string) {
	if r, ok := strings.CutPrefix(cmd, "SETACL R owner "); ok {
		s.noSeen = !strings.Contains(r, "s")
	}
	lines, tagged := s.dovecotDiffSession.do(cmd)
	if s.noSeen && strings.Contains(cmd, "BODY[TEXT]") {
		for i, l := range lines {
			lines[i] = seenFlagsRE.ReplaceAllString(l, "")
		}
	}
	return lines, tagged
}
