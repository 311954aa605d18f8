package restrict

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"
)

var errBareMap = errors.New("specify one of (check_client_access, check_reverse_client_access, check_helo_access, check_sender_access, check_recipient_access) before a bare table in this list")

// lookup queries t; lookup failures abort with a temporary error.
func (s *state) lookup(t Table, key, replyName string) (string, bool) {
	v, ok, err := t.Lookup(s.ctx, key)
	if err != nil {
		s.dictRetry(replyName, err)
	}
	return v, ok
}

// checkAccess is check_access: one lookup of name (lower-cased by the
// table), with the partial flag meaning "only fixed-string tables".
func (s *state) checkAccess(st *step, name, replyName, replyClass, defACL string, full bool) status {
	st2, _ := s.checkAccessFound(st, name, replyName, replyClass, defACL, full)
	return st2
}

func (s *state) checkAccessFound(st *step, name, replyName, replyClass, defACL string, full bool) (status, bool) {
	return s.checkAccessKey(st, toLower(name), replyName, replyClass, defACL, full)
}

// checkAccessKey is checkAccessFound for a key already in lower case.
func (s *state) checkAccessKey(st *step, key, replyName, replyClass, defACL string, full bool) (status, bool) {
	if !full && st.pattern {
		return stDunno, false
	}
	v, ok := s.lookup(st.table, key, replyName)
	if !ok {
		return stDunno, false
	}
	return s.tableResult(st, v, replyName, replyClass, defACL), true
}

// checkDomainAccess looks up a domain and its parent domains ("sub.example.jp",
// "example.jp", "jp"; ".example.jp" forms when smtpd_access_maps is not
// in parent_domain_matches_subdomains). Numeric names get no parent lookups.
func (s *state) checkDomainAccess(st *step, domain, replyName, replyClass, defACL string, full bool) status {
	st2, _ := s.checkDomainAccessFound(st, domain, replyName, replyClass, defACL, full)
	return st2
}

func (s *state) checkDomainAccessFound(st *step, domain, replyName, replyClass, defACL string, full bool) (status, bool) {
	low := toLower(domain)
	numeric := validHostaddr(domain)
	name := low
	for name != "" {
		if r, found := s.checkAccessKey(st, name, replyName, replyClass, defACL, full); found {
			return r, true
		}
		if numeric {
			break
		}
		i := strings.IndexByte(name[1:], '.')
		if i < 0 {
			break
		}
		next := name[i+1:] // ".parent"
		if s.p.accessParentStyle {
			next = next[1:]
		}
		name = next
		full = false
	}
	return stDunno, false
}

// checkAddrAccess looks up an address and its parent networks
// ("192.0.2.1", "192.0.2", "192.0", "192"; IPv6 split at ':').
func (s *state) checkAddrAccessFound(st *step, addr, replyName, replyClass, defACL string, full bool) (status, bool) {
	delim := byte('.')
	if strings.Contains(addr, ":") {
		delim = ':'
	}
	for {
		if r, found := s.checkAccessFound(st, addr, replyName, replyClass, defACL, full); found {
			return r, true
		}
		full = false
		i := strings.LastIndexByte(addr, delim)
		if i <= 0 {
			break
		}
		addr = addr[:i]
	}
	return stDunno, false
}

// checkNamAddrAccess is check_client_access: the client name and its
// parent domains, then the address and its parent networks.
func (s *state) checkNamAddrAccess(st *step, name, replyName, replyClass, defACL string) status {
	if r, found := s.checkDomainAccessFound(st, name, replyName, replyClass, defACL, true); found || r != stDunno {
		return r
	}
	addr := s.req.ClientAddr
	if !addr.IsValid() {
		return stDunno
	}
	r, _ := s.checkAddrAccessFound(st, addrString(addr), replyName, replyClass, defACL, true)
	return r
}

func addrString(a netip.Addr) string {
	return a.Unmap().WithZone("").String()
}

// checkMailAccess is check_sender_access/check_recipient_access: the
// resolved address, then without extension, then the domain and its
// parents, then user+ext@ and user@. Source-routed recipients never get
// an OK from the table.
func (s *state) checkMailAccess(st *step, addr, replyName, replyClass, defACL string) status {
	r := s.p.resolveAddr(s.ctx, s, addr)
	full := r.addr
	at := strings.LastIndexByte(full, '@')
	if at < 0 {
		return stDunno
	}
	local, domain := full[:at], full[at+1:]
	suspicious := !s.p.cfg.allowUntrusted && r.routed && replyClass == nameRecipient
	fix := func(res status) status {
		if res == stOK && suspicious {
			return stDunno
		}
		return res
	}
	if res, found := s.checkAccessFound(st, full, replyName, replyClass, defACL, true); found {
		return fix(res)
	}
	bareLocal := s.p.stripExtension(local)
	if bareLocal != local {
		if res, found := s.checkAccessFound(st, bareLocal+"@"+domain, replyName, replyClass, defACL, false); found {
			return fix(res)
		}
	}
	if res, found := s.checkDomainAccessFound(st, domain, replyName, replyClass, defACL, false); found {
		return fix(res)
	}
	if res, found := s.checkAccessFound(st, full[:at+1], replyName, replyClass, defACL, false); found {
		return fix(res)
	}
	if bareLocal != local {
		if res, found := s.checkAccessFound(st, bareLocal+"@", replyName, replyClass, defACL, false); found {
			return fix(res)
		}
	}
	return stDunno
}

// tableResult turns an access table value into a status
// (check_table_result).
func (s *state) tableResult(st *step, value, replyName, replyClass, defACL string) status {
	p := s.p
	cmd, text := value, ""
	if i := strings.IndexAny(value, " \t"); i >= 0 {
		cmd, text = value[:i], strings.TrimLeft(value[i:], " \t")
	}
	upper := strings.ToUpper(cmd)
	switch upper {
	case "DUNNO":
		return stDunno
	case "REJECT":
		dsn, t := dsnSplit("5.7.1", text)
		if t == "" {
			t = "Access denied"
		}
		return s.reject(classPolicy, p.code("access_map_reject_code"), dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
	case "DEFER":
		dsn, t := dsnSplit("4.7.1", text)
		if t == "" {
			t = "Access denied"
		}
		return s.reject(classPolicy, p.code("access_map_defer_code"), dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
	case "INFO":
		s.logWhatsup("info", text)
		return stDunno
	case "WARN":
		s.logWhatsup("warn", text)
		return stDunno
	case "FILTER":
		if !s.sender.set || !strings.Contains(text, ":") {
			p.log.Warn("access table FILTER action ignored", "table", st.arg, "value", value)
			return stDunno
		}
		s.logWhatsup("filter", "<"+replyName+">: "+replyClass+" triggers FILTER "+text)
		s.filter = text
		return stDunno
	case "HOLD":
		if !s.sender.set || s.hold {
			return stDunno
		}
		if text == "" {
			text = "triggers HOLD action"
		}
		s.logWhatsup("hold", "<"+replyName+">: "+replyClass+" "+text)
		s.hold = true
		return stDunno
	case "DISCARD":
		if !s.sender.set {
			p.log.Warn("access table DISCARD action skipped in client or helo restrictions", "table", st.arg)
			return stDunno
		}
		if text == "" {
			text = "triggers DISCARD action"
		}
		s.logWhatsup("discard", "<"+replyName+">: "+replyClass+" "+text)
		s.discard = true
		return stOK
	case "REDIRECT":
		if !s.sender.set || !strings.Contains(text, "@") {
			p.log.Warn("access table REDIRECT action ignored", "table", st.arg, "value", value)
			return stDunno
		}
		s.logWhatsup("redirect", "<"+replyName+">: "+replyClass+" triggers REDIRECT "+text)
		s.redirect = text
		return stDunno
	case "BCC":
		p.log.Warn("access table BCC action is not supported", "table", st.arg)
		return stDunno
	case "DEFER_IF_PERMIT":
		dsn, t := dsnSplit("4.7.1", text)
		if t == "" {
			t = "Service unavailable"
		}
		return s.deferIfPermitOrReject("defer_if_permit", 450, dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
	case "DEFER_IF_REJECT":
		dsn, t := dsnSplit("4.7.1", text)
		if t == "" {
			t = "Service unavailable"
		}
		deferIf(&s.deferIfReject, 450, dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
		return stDunno
	case "PREPEND":
		if !s.sender.set {
			return stDunno
		}
		if !isHeader(text) {
			p.log.Warn("access table PREPEND needs header: text", "table", st.arg, "value", value)
			return stDunno
		}
		s.prepend = append(s.prepend, text)
		return stDunno
	case "OK", "RELAY":
		return stOK
	}
	if allDigits(value) {
		return stOK
	}
	if len(cmd) == 3 && text != "" && (cmd[0] == '4' || cmd[0] == '5') && isDigit(cmd[1]) && isDigit(cmd[2]) {
		code := int(cmd[0]-'0')*100 + int(cmd[1]-'0')*10 + int(cmd[2]-'0')
		dsn, t := dsnSplit(cmd[:1]+".7.1", text)
		if t == "" {
			t = "Access denied"
		}
		return s.reject(classPolicy, code, dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
	}
	if strings.Contains(value, ":") {
		s.serverError(&ConfigError{Param: st.arg, Err: errors.New("access table value names a lookup table: " + value + "; define a restriction class instead")})
	}
	l, err := p.compileValue(value)
	if err != nil {
		s.serverError(err)
	}
	if len(l.steps) == 0 {
		return stOK
	}
	return s.generic(l, replyName, replyClass, defACL)
}

// toLower is strings.ToLower with a fast path for the common case, an
// ASCII string without upper case, which it returns as is (twice as fast
// as strings.ToLower for the short names and addresses checked on every
// evaluation).
func toLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c-'A' < 26 || c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
	}
	return s
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isHeader reports whether s starts with a header label and a colon
// ("Name:", "Name :"), as Postfix's is_header: printable ASCII other than
// ':' and white space, then optional blanks before the ':'.
func isHeader(s string) bool {
	label, blanks := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ':':
			return label > 0
		case c == ' ' || c == '\t':
			if label == 0 {
				return false
			}
			blanks = true
		case c <= ' ' || c >= 0x7f || blanks:
			return false
		default:
			label++
		}
	}
	return false
}
