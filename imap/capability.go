package imap

import "strconv"

// capabilities lists what the session advertises in its current state
// (RFC 9051 7.2.2): before login only what login needs, as Dovecot does.
func (c *conn) capabilities() []string {
	caps := []string{"IMAP4rev1", "IMAP4rev2"}
	if c.state == stateNotAuth {
		caps = append(caps, "SASL-IR", "ID", "ENABLE", "IDLE", "LITERAL+")
		if c.srv.TLSConfig != nil && c.info.TLS == nil {
			caps = append(caps, "STARTTLS")
		}
		if !c.plaintextAllowed() {
			caps = append(caps, "LOGINDISABLED")
		}
		if a := c.srv.Authenticator; a != nil {
			for _, m := range a.Mechanisms(&c.info) {
				caps = append(caps, "AUTH="+m)
			}
		}
		return caps
	}
	caps = append(caps,
		"SASL-IR", "ID", "ENABLE", "IDLE", "LITERAL+",
		"UIDPLUS", "MOVE", "NAMESPACE", "SPECIAL-USE", "CREATE-SPECIAL-USE",
		"LIST-EXTENDED", "LIST-STATUS", "CHILDREN", "UNSELECT",
		"ESEARCH", "SEARCHRES", "CONDSTORE", "QRESYNC", "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE",
		"APPENDLIMIT="+strconv.FormatInt(c.srv.appendLimitAdvertised(), 10),
		"BINARY", "MULTIAPPEND", "UTF8=ACCEPT", "STATUS=SIZE", "SAVEDATE", "OBJECTID",
		"SORT", "SORT=DISPLAY", "THREAD=REFERENCES", "THREAD=REFS", "THREAD=ORDEREDSUBJECT", "ESORT",
		"WITHIN", "PARTIAL", "COMPRESS=DEFLATE", "PREVIEW", "CATENATE", "URL-PARTIAL",
		"NOTIFY", "CONTEXT=SEARCH", "CONTEXT=SORT", "I18NLEVEL=1",
	)
	if c.srv.Metadata != nil {
		caps = append(caps, "METADATA")
	}
	if c.srv.URLAuth != nil {
		caps = append(caps, "URLAUTH")
	}
	if c.srv.ACL != nil {
		caps = append(caps, "ACL", "RIGHTS=texk", "LIST-MYRIGHTS")
	}
	return caps
}

// appendLimitAdvertised is the APPENDLIMIT value (RFC 7889), capped to
// what fits the capability's number syntax.
func (s *Server) appendLimitAdvertised() int64 {
	l := s.appendLimit()
	if l > 1<<32-1 {
		return 1<<32 - 1
	}
	return l
}

// plaintextAllowed reports whether LOGIN and AUTHENTICATE PLAIN may be
// used now (Dovecot's disable_plaintext_auth, decided by the
// Authenticator).
func (c *conn) plaintextAllowed() bool {
	if c.srv.Authenticator == nil {
		return c.info.TLS != nil
	}
	return c.srv.Authenticator.PlaintextAllowed(&c.info)
}
