package sieve

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// dateTest runs date and currentdate (RFC 5260).
func (r *run) dateTest(c *call) (bool, error) {
	var t time.Time
	partArg := c.args[0]
	if c.name == "date" {
		partArg = c.args[1]
		vals := r.indexed(c, headerValues(r.headers, r.str(c.args[0])))
		if len(vals) == 0 {
			return r.match(c, nil)
		}
		v := unfold(vals[0])
		// A date may be preceded by other text (Received: ...; date).
		if i := strings.LastIndexByte(v, ';'); i >= 0 {
			v = strings.TrimSpace(v[i+1:])
		}
		pt, err := mail.ParseDate(v)
		if err != nil {
			return r.match(c, nil)
		}
		t = pt
	} else {
		t = r.now
	}
	switch {
	case c.has("originalzone"):
	case c.has("zone"):
		z := r.str(c.tags["zone"])
		loc, ok := parseZone(z)
		if !ok {
			return false, nil
		}
		t = t.In(loc)
	default:
		loc := r.env.Location
		if loc == nil {
			loc = time.Local
		}
		t = t.In(loc)
	}
	part := strings.ToLower(r.str(partArg))
	v, ok := datePart(t, part)
	if !ok {
		return false, nil
	}
	return r.match(c, []string{v})
}

// parseZone parses a :zone argument ("+hhmm" / "-hhmm").
func parseZone(z string) (*time.Location, bool) {
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return nil, false
	}
	for i := 1; i < 5; i++ {
		if !isDigit(z[i]) {
			return nil, false
		}
	}
	h := int(z[1]-'0')*10 + int(z[2]-'0')
	m := int(z[3]-'0')*10 + int(z[4]-'0')
	if m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off), true
}

// datePart formats one date part (RFC 5260 section 4.2).
func datePart(t time.Time, part string) (string, bool) {
	switch part {
	case "year":
		return fmt.Sprintf("%04d", t.Year()), true
	case "month":
		return fmt.Sprintf("%02d", int(t.Month())), true
	case "day":
		return fmt.Sprintf("%02d", t.Day()), true
	case "date":
		return t.Format("2006-01-02"), true
	case "julian":
		mjd := time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return fmt.Sprintf("%d", int(d.Sub(mjd).Hours()/24)), true
	case "hour":
		return fmt.Sprintf("%02d", t.Hour()), true
	case "minute":
		return fmt.Sprintf("%02d", t.Minute()), true
	case "second":
		return fmt.Sprintf("%02d", t.Second()), true
	case "time":
		return t.Format("15:04:05"), true
	case "iso8601":
		return t.Format("2006-01-02T15:04:05Z07:00"), true
	case "std11":
		return t.Format("Mon, 02 Jan 2006 15:04:05 -0700"), true
	case "zone":
		return t.Format("-0700"), true
	case "weekday":
		return fmt.Sprintf("%d", int(t.Weekday())), true
	}
	return "", false
}
