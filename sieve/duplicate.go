package sieve

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// duplicate runs the duplicate test (RFC 7352): true when the id was
// tracked within the period; the id is queued for tracking either way
// (:last refreshes the period even for duplicates).
func (r *run) duplicate(c *call) (bool, error) {
	var id string
	switch {
	case c.has("uniqueid"):
		id = r.str(c.tags["uniqueid"])
	case c.has("header"):
		v := headerValues(r.headers, r.str(c.tags["header"]))
		if len(v) == 0 {
			return false, nil
		}
		id = unfold(v[0])
	default:
		v := headerValues(r.headers, "message-id")
		if len(v) == 0 {
			return false, nil
		}
		id = unfold(v[0])
	}
	handle := ""
	if a, ok := c.tags["handle"]; ok {
		handle = r.str(a)
	}
	period := 12 * time.Hour // sieve_duplicate_default_period
	if a, ok := c.tags["seconds"]; ok {
		period = time.Duration(a.num) * time.Second
		if period > 7*24*time.Hour { // sieve_duplicate_max_period
			period = 7 * 24 * time.Hour
		}
	}
	sum := sha256.Sum256([]byte(handle + "\x00" + strings.TrimSpace(id)))
	key := "duplicate\x00" + hex.EncodeToString(sum[:])
	seen := false
	if r.env.Tracker != nil {
		s, err := r.env.Tracker.Seen(r.ctx, key)
		seen = err == nil && s
	}
	if !seen || c.has("last") {
		r.res.Track = append(r.res.Track, TrackEntry{Key: key, Period: period})
	}
	return seen, nil
}
