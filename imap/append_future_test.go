package imap

import (
	"strings"
	"testing"
	"time"
)

// TestAppendFutureDateBecomesNow: as in Dovecot 2.3 (checked with its
// imap: +2 hours kept, +30 hours replaced), an APPEND date-time more
// than two hours ahead is replaced by the time of the append; one
// within two hours is kept.
func TestAppendFutureDateBecomesNow(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	const layout = "02-Jan-2006 15:04:05 -0700"
	soon := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	later := time.Now().Add(30 * time.Hour).UTC()
	for _, d := range []time.Time{soon, later} {
		c.ok(`APPEND INBOX "` + d.Format(layout) + `" {11+}` + "\r\nSubject: x")
	}
	c.ok("SELECT INBOX")
	lines := c.ok("FETCH 1:2 INTERNALDATE")
	if len(lines) != 2 {
		t.Fatalf("FETCH: %q", lines)
	}
	date := func(l string) time.Time {
		_, v, _ := strings.Cut(l, `INTERNALDATE "`)
		v, _, _ = strings.Cut(v, `"`)
		d, err := time.Parse(layout, strings.TrimLeft(v, " "))
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		return d
	}
	if got := date(lines[0]); !got.Equal(soon) {
		t.Errorf("a date one hour ahead became %v, want %v kept", got, soon)
	}
	if got := date(lines[1]); time.Until(got).Abs() > time.Minute {
		t.Errorf("a date 30 hours ahead became %v, want about now", got)
	}
}
