package sieve

import (
	"errors"
	"net/url"
	"strings"
)

// parseMailtoURI validates a mailto: URI (RFC 6068) and returns its
// recipients.
func parseMailtoURI(s string) ([]string, error) {
	if len(s) < 7 || !strings.EqualFold(s[:7], "mailto:") {
		return nil, errors.New("not a mailto URI")
	}
	rest := s[7:]
	q := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, q = rest[:i], rest[i+1:]
	}
	var to []string
	if strings.Contains(rest, ",") {
		// Pigeonhole 2.3 refuses a list in the 'to' part.
		return nil, errors.New("invalid character ',' in 'to' part")
	}
	if rest != "" {
		for _, p := range strings.Split(rest, ",") {
			a, err := url.PathUnescape(p)
			if err != nil {
				return nil, err
			}
			if _, err := parseAddrSpec(a); err != nil {
				return nil, err
			}
			to = append(to, a)
		}
	}
	if q != "" {
		vals, err := url.ParseQuery(strings.ReplaceAll(q, "+", "%2B"))
		if err != nil {
			return nil, err
		}
		for k, vs := range vals {
			if strings.EqualFold(k, "to") {
				for _, v := range vs {
					for _, p := range strings.Split(v, ",") {
						if _, err := parseAddrSpec(p); err != nil {
							return nil, err
						}
						to = append(to, p)
					}
				}
			}
		}
	}
	if len(to) == 0 {
		return nil, errors.New("no recipients")
	}
	return to, nil
}

// notify runs the enotify notify action (RFC 5435).
func (r *run) notify(c *call) error {
	n := &Notification{Method: r.str(c.args[0]), Importance: "2"}
	if _, err := parseMailtoURI(n.Method); err != nil {
		return r.fail(c.pos, "notify action: invalid method '%s'", n.Method)
	}
	if a, ok := c.tags["from"]; ok {
		n.From = r.str(a)
	}
	if a, ok := c.tags["importance"]; ok {
		n.Importance = r.str(a)
		if n.Importance != "1" && n.Importance != "2" && n.Importance != "3" {
			return r.fail(c.pos, "notify action: invalid importance '%s'", n.Importance)
		}
	}
	if a, ok := c.tags["options"]; ok {
		n.Options = r.strs(a)
	}
	if a, ok := c.tags["message"]; ok {
		n.Message = r.str(a)
	} else {
		subj := ""
		if v := headerValues(r.headers, "subject"); len(v) > 0 {
			subj = decodeHeader(v[0])
		}
		from := ""
		if v := headerValues(r.headers, "from"); len(v) > 0 {
			from = decodeHeader(v[0])
		}
		n.Message = "[SIEVE] " + from + ": " + subj
	}
	for _, a := range r.res.Actions {
		if a.Kind == ActNotify && a.Notify.Method == n.Method {
			return nil
		}
	}
	return r.add(c, Action{Kind: ActNotify, Notify: n})
}
