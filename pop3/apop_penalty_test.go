package pop3

import (
	"testing"
	"time"
)

// TestAPOPFeedsPenalty: with auth.Service, failed APOP attempts count
// toward the client address's penalty like failed USER/PASS: the next
// APOP or USER/PASS from the address waits for it, and a successful APOP
// clears it.
func TestAPOPFeedsPenalty(t *testing.T) {
	const base = 400 * time.Millisecond
	svc, pf := realAuth(t)
	svc.PenaltyBase, svc.PenaltyMax = base, 10*time.Second
	e := startServer(t, &Server{Authenticator: svc, Credentials: pf})
	timed := func(c *client, line, prefix string) time.Duration {
		t.Helper()
		start := time.Now()
		c.cmd(line, prefix)
		return time.Since(start)
	}

	// Two failed APOPs (the second waits for the first's penalty).
	c := e.dial0()
	digest := apopDigest(t, c)
	c.cmd("APOP alice "+digest("wrong"), "-ERR [AUTH] Authentication failed.")
	c.cmd("APOP alice "+digest("wrong"), "-ERR [AUTH] Authentication failed.")

	// A correct APOP now waits for the penalty of two failures.
	c = e.dial0()
	digest = apopDigest(t, c)
	if d := timed(c, "APOP alice "+digest("secret"), "+OK Logged in."); d < 2*base-50*time.Millisecond {
		t.Errorf("APOP after two failed APOPs answered after %v, want the %v penalty", d, 2*base)
	}
	c.cmd("QUIT", "+OK")

	// That success cleared the penalty: after one more failed APOP,
	// USER/PASS waits for one failure's penalty, not three.
	c = e.dial0()
	digest = apopDigest(t, c)
	c.cmd("APOP alice "+digest("wrong"), "-ERR [AUTH] Authentication failed.")
	c = e.dial()
	c.cmd("USER alice", "+OK")
	d := timed(c, "PASS secret", "+OK Logged in.")
	if d < base-50*time.Millisecond {
		t.Errorf("USER/PASS after a failed APOP answered after %v, want the %v penalty", d, base)
	}
	if d > 3*base {
		t.Errorf("USER/PASS answered after %v: the successful APOP did not clear the penalty (%v with it)", d, base)
	}
}
