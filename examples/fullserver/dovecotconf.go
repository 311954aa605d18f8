package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/yubinmail/yubin/config"
)

// dovecotConfParams are the settings of the dovecot.conf reader.
var dovecotConfParams = []config.Param{
	{Name: "auth_default_realm", Default: "", Doc: "Dovecot's: the domain a login name without '@' is qualified with (alice logs in as alice@REALM), before auth_username_format"},
	{Name: "dovecot_config_file", Default: "", Doc: "a dovecot.conf (Dovecot 2.3 syntax, with its !include files) whose Dovecot-side settings are read before main.cf's, which override them; empty: dovecot.conf beside main.cf when it exists"},
}

// dovecotConf is what a dovecot.conf gives the configuration: settings
// under the names this host reads, and warnings for what it accepts
// without effect.
type dovecotConf struct {
	file     string
	root     *config.DovecotSection // as read, for the config command
	settings []config.Setting
	warns    []*config.Error
	errs     config.ErrorList
}

// dovecotProtocolServices are the listeners a "protocol NAME { }" section
// applies to.
var dovecotProtocolServices = map[string][]string{
	"imap":        {"imap", "imaps"},
	"pop3":        {"pop3", "pop3s"},
	"lmtp":        {"lmtp"},
	"sieve":       {"sieve"},
	"managesieve": {"sieve"},
}

// dovecotPortParams are the inet_listeners this host has, by login
// service and listener name, and the port setting each maps to; the
// listener's name is also the service whose "listen" its address sets.
var dovecotPortParams = map[[2]string]string{
	{"imap-login", "imap"}:         "imap_port",
	{"imap-login", "imaps"}:        "imaps_port",
	{"pop3-login", "pop3"}:         "pop3_port",
	{"pop3-login", "pop3s"}:        "pop3s_port",
	{"managesieve-login", "sieve"}: "managesieve_port",
}

// dovecotSectionTypes are Dovecot 2.3's section types (and Pigeonhole's,
// and 1.x's auth), for the did-you-mean of a misspelt one.
var dovecotSectionTypes = []string{"service", "protocol", "local", "remote", "local_name", "passdb", "userdb", "namespace", "mailbox", "plugin", "dict", "inet_listener", "unix_listener", "fifo_listener", "metric", "event_exporter", "auth", "auth_policy", "shared", "socket", "client", "master"}

// dovecotProtocols are the protocol names Dovecot 2.3 knows, for the
// check of "protocols"; the ones this host serves are in protocolList.
var dovecotProtocols = []string{"imap", "pop3", "lmtp", "sieve", "submission", "none"}

// readDovecotConf reads file and maps it for schema s.
func readDovecotConf(file string, s *config.Schema) *dovecotConf {
	_, dovecot := knownLists()
	root, warns, err := config.LoadDovecot(file, &config.DovecotOptions{Defaults: dovecot})
	d := &dovecotConf{file: file, root: root, warns: warns}
	if err != nil {
		d.errs = append(d.errs, err.(config.ErrorList)...)
	}
	if root != nil {
		m := &dovecotMapper{d: d, s: s, root: root}
		m.section(root, nil)
		m.finish()
	}
	return d
}

// dovecotMapper walks a dovecot.conf tree.
type dovecotMapper struct {
	d        *dovecotConf
	s        *config.Schema
	root     *config.DovecotSection
	passdbs  []string
	passPos  config.Pos
	userdb   string
	userPos  config.Pos
	userSeen bool
}

func (m *dovecotMapper) set(svcs []string, name, value string, pos config.Pos) {
	if len(svcs) == 0 {
		svcs = []string{""}
	}
	for _, svc := range svcs {
		m.d.settings = append(m.d.settings, config.Setting{Service: svc, Name: name, Value: value, Pos: pos})
	}
}

func (m *dovecotMapper) warn(pos config.Pos, format string, args ...any) {
	m.d.warns = append(m.d.warns, &config.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (m *dovecotMapper) errorf(pos config.Pos, format string, args ...any) {
	m.d.errs = append(m.d.errs, &config.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// noEffect warns that a setting is accepted and does nothing.
func (m *dovecotMapper) noEffect(st config.DovecotSetting, why string) {
	m.warn(st.Pos, "%s = %s: accepted; has no effect in yubin (%s)", st.Key, truncateValue(st.Value), why)
}

// escape protects a Dovecot value from main.cf's $name expansion.
func escape(v string) string { return strings.ReplaceAll(v, "$", "$$") }

// section maps the settings and subsections of a top-level or protocol
// section; svcs are the listeners a protocol section applies to.
func (m *dovecotMapper) section(sec *config.DovecotSection, svcs []string) {
	for _, st := range sec.Settings {
		m.setting(st, svcs)
	}
	for _, sub := range sec.Sections {
		m.subsection(sub, svcs)
	}
}

// setting maps one top-level (or protocol-level) setting.
func (m *dovecotMapper) setting(st config.DovecotSetting, svcs []string) {
	name := st.Key
	switch name {
	case "protocols":
		var keep []string
		for _, p := range config.SplitList(st.Value) {
			switch {
			case protocolList(p) == nil:
				keep = append(keep, p)
			case slices.Contains(dovecotProtocols, p):
				m.warn(st.Pos, "protocols: %s: accepted; has no effect in yubin (it does not serve that protocol)", p)
			default:
				m.errorf(st.Pos, "protocols: unknown protocol %q (Dovecot knows %s)", p, strings.Join(dovecotProtocols, ", "))
			}
		}
		m.set(svcs, name, strings.Join(keep, " "), st.Pos)
		return
	}
	postfix, dovecot := knownLists()
	_, isDovecot := dovecot[name]
	_, isPostfix := postfix[name]
	if p, implemented := m.s.Lookup(name); implemented {
		if !isDovecot && isPostfix {
			m.errorf(st.Pos, "%s is a Postfix setting: put it in main.cf", name)
			return
		}
		v := st.Value
		if p.Kind == config.Duration {
			v = dovecotTime(v)
		}
		m.set(svcs, name, escape(v), st.Pos)
		return
	}
	if isDovecot {
		// Accepted; check's unused-parameter warning names it.
		m.set(svcs, name, escape(st.Value), st.Pos)
		return
	}
	if h := config.Closest(name, dovecotNames()); h != "" {
		m.errorf(st.Pos, "unknown setting %q (did you mean %q?)", name, h)
		return
	}
	m.noEffect(st, "not a setting of Dovecot 2.3 or Pigeonhole: a plugin's?")
}

// subsection maps a section inside the top level or a protocol section.
func (m *dovecotMapper) subsection(sec *config.DovecotSection, svcs []string) {
	switch sec.Type {
	case "protocol":
		if len(svcs) > 0 {
			m.ignoreAll(sec, "a protocol section inside another filter")
			return
		}
		to, ok := dovecotProtocolServices[sec.Name]
		if !ok {
			m.ignoreAll(sec, "settings for protocol "+sec.Name)
			return
		}
		m.section(sec, to)
	case "service":
		m.service(sec)
	case "passdb":
		m.passdb(sec, sec.Name)
	case "userdb":
		m.userdbSection(sec, sec.Name)
	case "plugin":
		for _, st := range sec.Settings {
			if _, ok := m.s.Lookup(st.Key); ok && (strings.HasPrefix(st.Key, "sieve") || st.Key == "acl_shared_dict") {
				m.set(svcs, st.Key, escape(st.Value), st.Pos)
				continue
			}
			m.noEffect(st, "a plugin setting yubin does not implement")
		}
		for _, sub := range sec.Sections {
			m.ignoreAll(sub, "a section inside plugin")
		}
	case "auth":
		m.auth1x(sec)
	case "namespace":
		if isSharedNamespace(sec) {
			m.sharedNamespace(sec) // imapshared.go
			return
		}
		m.warnSection(sec, "namespaces and their mailboxes are fixed in yubin: one private namespace, INBOX and the folders users create")
	case "local", "remote", "local_name":
		m.warnSection(sec, "per-address and per-name filters are not supported: their settings are ignored")
	default:
		if slices.Contains(dovecotSectionTypes, sec.Type) {
			m.warnSection(sec, "yubin has no "+sec.Type)
			return
		}
		if h := config.Closest(sec.Type, dovecotSectionTypes); h != "" {
			m.errorf(sec.Pos, "unknown section type %q (did you mean %q?)", sec.Type, h)
			return
		}
		m.warnSection(sec, "a section type Dovecot 2.3 does not have: a plugin's?")
	}
}

// warnSection warns once about a non-empty section without effect.
func (m *dovecotMapper) warnSection(sec *config.DovecotSection, why string) {
	if empty(sec) {
		return
	}
	m.warn(sec.Pos, "%s { }: accepted; has no effect in yubin (%s)", label(sec), why)
}

// ignoreAll warns about every setting of a section and its subsections.
func (m *dovecotMapper) ignoreAll(sec *config.DovecotSection, why string) {
	for _, st := range sec.Settings {
		m.noEffect(st, why)
	}
	for _, sub := range sec.Sections {
		m.ignoreAll(sub, why)
	}
}

func empty(sec *config.DovecotSection) bool {
	if len(sec.Settings) > 0 {
		return false
	}
	for _, sub := range sec.Sections {
		if !empty(sub) {
			return false
		}
	}
	return true
}

func label(sec *config.DovecotSection) string {
	if sec.Name == "" {
		return sec.Type
	}
	return sec.Type + " " + sec.Name
}

// service maps a service section's listeners.
func (m *dovecotMapper) service(sec *config.DovecotSection) {
	why := "service " + sec.Name + " settings: yubin runs every service in one process"
	for _, st := range sec.Settings {
		m.noEffect(st, why)
	}
	for _, l := range sec.Sections {
		switch {
		case l.Type == "inet_listener" && dovecotPortParams[[2]string{sec.Name, l.Name}] != "":
			m.inetListener(dovecotPortParams[[2]string{sec.Name, l.Name}], l.Name, l)
		case l.Type == "inet_listener" && sec.Name == "lmtp":
			m.lmtpInet(l)
		case l.Type == "unix_listener" && sec.Name == "lmtp":
			m.unixListener("lmtp_unix_listener", l)
		case l.Type == "unix_listener" && sec.Name == "auth" && !strings.HasSuffix(l.Name, "auth-userdb") && !strings.HasSuffix(l.Name, "auth-master"):
			m.unixListener("auth_client_listener", l)
		default:
			m.ignoreAll(l, "yubin has no such listener")
		}
	}
}

// inetListener maps port and address of a login service's listener.
func (m *dovecotMapper) inetListener(portParam, svc string, l *config.DovecotSection) {
	for _, st := range l.Settings {
		switch st.Key {
		case "port":
			v := st.Value
			if v == "0" {
				v = "" // Dovecot's way to turn a listener off
			}
			m.set(nil, portParam, v, st.Pos)
		case "address":
			m.set([]string{svc}, "listen", escape(st.Value), st.Pos)
		case "ssl":
			if b, _ := config.ParseBool(st.Value); b != strings.HasSuffix(svc, "s") {
				m.noEffect(st, "the "+svc+" listener's TLS is fixed by its name")
			}
		default:
			m.noEffect(st, "listener settings other than port and address")
		}
	}
}

// lmtpInet maps an inet_listener of service lmtp to lmtp_inet_listener.
func (m *dovecotMapper) lmtpInet(l *config.DovecotSection) {
	port, addr := "", ""
	pos := l.Pos
	for _, st := range l.Settings {
		switch st.Key {
		case "port":
			port, pos = st.Value, st.Pos
		case "address":
			items := config.SplitList(st.Value)
			if len(items) > 1 {
				m.warn(st.Pos, "address = %s: yubin's LMTP listens on the first address only", st.Value)
			}
			if len(items) > 0 {
				addr = items[0]
			}
		default:
			m.noEffect(st, "listener settings other than port and address")
		}
	}
	if port == "" || port == "0" {
		return
	}
	if addr == "" {
		addr = "*" // Dovecot's default listen, "*, ::"
		if st, ok := m.root.Get("listen"); ok && len(config.SplitList(st.Value)) > 0 {
			addr = config.SplitList(st.Value)[0]
		}
	}
	if h := interfaces([]string{addr}); len(h) > 0 {
		addr = h[0]
	}
	m.set(nil, "lmtp_inet_listener", escape(netJoin(addr, port)), pos)
}

func netJoin(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// unixListener maps a unix_listener's path; a relative one is under
// base_dir when the file sets it, else under the data directory.
func (m *dovecotMapper) unixListener(param string, l *config.DovecotSection) {
	path := l.Name
	if !filepath.IsAbs(path) {
		if st, ok := m.root.Get("base_dir"); ok {
			path = escape(filepath.Join(st.Value, path))
		} else {
			path = "$data_directory/" + escape(path)
		}
	} else {
		path = escape(path)
	}
	m.set(nil, param, path, l.Pos)
	for _, st := range l.Settings {
		m.noEffect(st, "the socket is mode 0666, owned by mail_owner, as Dovecot's lmtp socket is behind its private directory")
	}
}

// passdb adds one passdb section to the chain.
func (m *dovecotMapper) passdb(sec *config.DovecotSection, driver1x string) {
	driver, args := driver1x, ""
	for _, st := range sec.Settings {
		switch st.Key {
		case "driver":
			driver = st.Value
		case "args":
			args = st.Value
		case "deny", "master", "pass":
			if b, _ := config.ParseBool(st.Value); b {
				m.warn(st.Pos, "passdb { %s = yes }: not supported; this passdb is ignored", st.Key)
				return
			}
		default:
			m.noEffect(st, "passdb settings other than driver and args")
		}
	}
	for _, sub := range sec.Sections {
		m.ignoreAll(sub, "a section inside passdb")
	}
	if driver == "" {
		m.errorf(sec.Pos, "passdb { } without driver")
		return
	}
	if len(m.passdbs) == 0 {
		m.passPos = sec.Pos
	}
	m.passdbs = append(m.passdbs, strings.TrimSuffix(driver+":"+args, ":"))
}

// userdbSection sets the userdb; yubin has one.
func (m *dovecotMapper) userdbSection(sec *config.DovecotSection, driver1x string) {
	if m.userSeen {
		m.warn(sec.Pos, "%s { }: accepted; has no effect in yubin (the first userdb is the only one)", label(sec))
		return
	}
	m.userSeen = true
	driver, args, fields := driver1x, "", ""
	for _, st := range sec.Settings {
		switch st.Key {
		case "driver":
			driver = st.Value
		case "args":
			args = st.Value
		case "override_fields", "default_fields":
			fields = strings.TrimSpace(fields + " " + st.Value)
		default:
			m.noEffect(st, "userdb settings other than driver, args, override_fields and default_fields")
		}
	}
	for _, sub := range sec.Sections {
		m.ignoreAll(sub, "a section inside userdb")
	}
	if driver == "" {
		m.errorf(sec.Pos, "userdb { } without driver")
		return
	}
	m.userdb = strings.TrimSuffix(driver+":"+strings.TrimSpace(args+" "+fields), ":")
	m.userPos = sec.Pos
}

// auth1x reads Dovecot 1.x's "auth default { mechanisms = ...; passdb
// pam { } userdb passwd { } }" as 2.x's settings.
func (m *dovecotMapper) auth1x(sec *config.DovecotSection) {
	m.warn(sec.Pos, "%s { }: Dovecot 1.x syntax, read as 2.x's auth_mechanisms, passdb { } and userdb { }", label(sec))
	for _, st := range sec.Settings {
		if st.Key == "mechanisms" {
			m.set(nil, "auth_mechanisms", escape(st.Value), st.Pos)
			continue
		}
		m.noEffect(st, "a Dovecot 1.x auth setting")
	}
	for _, sub := range sec.Sections {
		switch sub.Type {
		case "passdb":
			m.passdb(sub, sub.Name)
		case "userdb":
			m.userdbSection(sub, sub.Name)
		default:
			m.ignoreAll(sub, "a Dovecot 1.x auth section")
		}
	}
}

// finish sets passdb and userdb from their sections.
func (m *dovecotMapper) finish() {
	if len(m.passdbs) > 0 {
		m.set(nil, "passdb", escape(strings.Join(m.passdbs, ", ")), m.passPos)
	}
	if m.userdb != "" {
		m.set(nil, "userdb", escape(m.userdb), m.userPos)
	}
}

// dovecotNames are Dovecot's setting names, sorted, for did-you-mean.
var dovecotNames = sync.OnceValue(func() []string {
	_, dovecot := knownLists()
	names := make([]string, 0, len(dovecot))
	for n := range dovecot {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
})

// dovecotUnits are the units of Dovecot's time values ("5 secs", "1 min",
// "2hours"), as Postfix's or Go's suffix.
var dovecotUnits = map[string]string{
	"ms": "ms", "msec": "ms", "msecs": "ms", "millisecond": "ms", "milliseconds": "ms",
	"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
	"m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
	"h": "h", "hour": "h", "hours": "h",
	"d": "d", "day": "d", "days": "d",
	"w": "w", "week": "w", "weeks": "w",
}

// dovecotTime rewrites a Dovecot time value as this host's time syntax;
// a value it does not recognise is returned as it is, for the check to
// refuse.
func dovecotTime(v string) string {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		return v
	}
	unit := strings.ToLower(strings.TrimSpace(v[i:]))
	if unit == "" {
		return v[:i] + "s"
	}
	if u, ok := dovecotUnits[unit]; ok {
		return v[:i] + u
	}
	return v
}
