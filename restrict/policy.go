package restrict

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/restrict/table"
)

// Resolver is the DNS the policy uses for MX/A lookups (reject_unknown_*),
// DNSBL and RHSBL queries. *net.Resolver implements it; tests point a
// net.Resolver at a DNS server on 127.0.0.1. A "not found" answer must be
// reported as a *net.DNSError with IsNotFound set, as net.Resolver does;
// any other error counts as a temporary failure.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Option configures a [Policy] built by [New].
type Option func(*Policy)

// WithResolver sets the DNS resolver (default net.DefaultResolver). Wrap
// it in [NewCachingResolver] to cache answers as Postfix's smtpd does.
func WithResolver(r Resolver) Option { return func(p *Policy) { p.resolver = r } }

// WithLogger sets the logger for reject/warn lines (in Postfix's maillog
// format) and configuration warnings. The default discards.
func WithLogger(l *slog.Logger) Option { return func(p *Policy) { p.log = l } }

// WithTable makes t answer for the table reference ref ("ldap:/etc/postfix/ldap.cf",
// "mysql:..."): for types this package does not open itself, or to
// replace a file table in tests.
func WithTable(ref string, t Table) Option {
	return func(p *Policy) { p.tables[ref] = t }
}

// WithTableOptions sets how file tables are opened (reload interval,
// size limit, clock).
func WithTableOptions(o table.Options) Option {
	return func(p *Policy) { p.tableOpts = o }
}

// WithClock sets the clock used by the policy's rate limiter.
func WithClock(now func() time.Time) Option { return func(p *Policy) { p.now = now } }

// Table is a Postfix lookup table: a key goes in, a value or "not found"
// comes out. Lookups are exact on the key given; the policy applies
// Postfix's address and domain lookup orders on top. Implementations must
// be safe for concurrent use. A table with a method Pattern() bool that
// returns true (regexp, pcre, cidr) gets only full-key lookups.
type Table interface {
	Lookup(ctx context.Context, key string) (value string, found bool, err error)
}

func isPattern(t Table) bool { return table.Pattern(t) }

// Policy evaluates Postfix smtpd restrictions. Build one with [New]; it is
// safe for concurrent use and holds no per-session state.
type Policy struct {
	params    Params
	resolver  Resolver
	log       *slog.Logger
	tables    map[string]Table
	tableOpts table.Options
	now       func() time.Time

	policyDial PolicyDialer
	policies   map[string]*policyClient // check_policy_service clients by endpoint

	memo     map[string]string // expanded parameter values, filled by New
	rblClock coarseClock       // for the DNSBL caches of the rblSpecs
	cfg      hotConfig
	lists    map[string]*list
	classes  map[string]bool
	values   sync.Map // access-table values compiled as restriction lists

	// domainClasses caches classOf when staticClasses: the lists that
	// decide a domain's class name no lookup table.
	domainClasses domainClassCache
	staticClasses bool

	client, helo, sender, relay, recipient, data, eod *list

	mynetworks, mydest, relayDomains             *matchList
	virtAliasDomains, virtMailboxDomains         *matchList
	eventExceptions, mxBackupNetworks            *matchList
	ownAddrs                                     map[string]bool
	accessParentStyle                            bool
	codes                                        map[string]int
	virtualAliasMaps, virtualMailboxMaps         *maps
	localRcptMaps, relayRcptMaps, aliasMaps      *maps
	senderLoginMaps, rblReplyMaps, transportMaps *maps
	headerChecks, bodyChecks                     *maps
	mimeHeaderChecks, nestedHeaderChecks         *maps
	mime                                         mimeConfig
}

var (
	errNeedTable  = errors.New("need type:name")
	errNested     = errors.New("file includes nested too deeply")
	errBadNetwork = errors.New("bad network/mask (host bits set, or not an address)")
)

// New compiles the restriction lists and opens the tables named in params.
// Errors name the parameter and the position of the bad element, for
// example
//
//	smtpd_recipient_restrictions: element 3 "reject_unauth_destinaton": unknown restriction
//
// As Postfix does, New refuses a configuration whose relay and recipient
// restrictions both lack reject_unauth_destination (or defer_unauth_destination,
// reject, defer, defer_if_permit).
func New(params Params, opts ...Option) (*Policy, error) {
	p := &Policy{
		params:  params,
		tables:  map[string]Table{},
		now:     time.Now,
		lists:   map[string]*list{},
		classes: map[string]bool{},
		codes:   map[string]int{},

		policies: map[string]*policyClient{},
	}
	if p.params == nil {
		p.params = Params{}
	}
	for _, o := range opts {
		o(p)
	}
	p.rblClock.now = p.now
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.tableOpts.Logger == nil {
		p.tableOpts.Logger = p.log
	}
	p.memo = make(map[string]string, len(defaults)+len(p.params))
	for k := range defaults {
		p.memo[k] = p.params.Get(k)
	}
	for k := range p.params {
		p.memo[k] = p.params.Get(k)
	}
	p.cfg = hotConfig{
		allowUntrusted:       p.flag("allow_untrusted_routing"),
		percentHack:          p.flag("allow_percent_hack"),
		swapBang:             p.flag("swap_bangpath"),
		dequoted:             p.flag("resolve_dequoted_address"),
		nullDomain:           p.flag("resolve_null_domain"),
		numericDomain:        p.flag("resolve_numeric_domain"),
		appendAtMyorigin:     p.flag("append_at_myorigin"),
		delayReject:          p.flag("smtpd_delay_reject"),
		rejectUnlistedRcpt:   p.flag("smtpd_reject_unlisted_recipient"),
		rejectUnlistedSender: p.flag("smtpd_reject_unlisted_sender"),
		ownerRequestSpecial:  p.flag("owner_request_special"),
		saslEnable:           p.flag("smtpd_sasl_auth_enable"),
		recipientDelimiter:   p.get("recipient_delimiter"),
	}
	for _, s := range p.params.List("parent_domain_matches_subdomains") {
		if s == "smtpd_access_maps" {
			p.accessParentStyle = true
		}
	}
	for _, name := range p.params.List("smtpd_restriction_classes") {
		if v := p.params.Get(name); strings.TrimSpace(v) == "" {
			return nil, &ConfigError{Param: "smtpd_restriction_classes", Token: name, Err: errors.New("restriction class `" + name + "' needs a definition")}
		}
		p.classes[strings.ToLower(name)] = true
	}
	// reject_sender_login_mismatch is a built-in class in Postfix.
	var err error
	compile := func(param string) *list {
		if err != nil {
			return nil
		}
		var l *list
		l, err = p.compileList(param, 0)
		return l
	}
	p.client = compile("smtpd_client_restrictions")
	p.helo = compile("smtpd_helo_restrictions")
	p.sender = compile("smtpd_sender_restrictions")
	p.relay = compile("smtpd_relay_restrictions")
	p.recipient = compile("smtpd_recipient_restrictions")
	p.data = compile("smtpd_data_restrictions")
	p.eod = compile("smtpd_end_of_data_restrictions")
	for name := range p.classes {
		compile(name)
	}
	if err != nil {
		return nil, err
	}
	if !p.hasRequired(p.recipient, 0) && !p.hasRequired(p.relay, 0) {
		return nil, &ConfigError{Param: "smtpd_relay_restrictions or smtpd_recipient_restrictions",
			Err: errors.New("specify at least one working instance of: reject_unauth_destination, defer_unauth_destination, reject, defer or defer_if_permit")}
	}
	if err := p.compileLists(); err != nil {
		return nil, err
	}
	for _, name := range []string{"reject_code", "defer_code", "access_map_reject_code", "access_map_defer_code",
		"invalid_hostname_reject_code", "non_fqdn_reject_code", "unknown_address_reject_code",
		"unknown_client_reject_code", "unknown_hostname_reject_code", "unknown_local_recipient_reject_code",
		"unknown_relay_recipient_reject_code", "unknown_virtual_alias_reject_code",
		"unknown_virtual_mailbox_reject_code", "relay_domains_reject_code", "maps_rbl_reject_code",
		"plaintext_reject_code", "multi_recipient_bounce_reject_code", "smtpd_sender_login_mismatch_code"} {
		v := strings.TrimSpace(p.params.Get(name))
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 200 || n > 599 {
			return nil, &ConfigError{Param: name, Err: errors.New("need a 3-digit SMTP reply code, got \"" + v + "\"")}
		}
		p.codes[name] = n
	}
	for _, d := range []string{"smtpd_delay_reject", "smtpd_helo_required", "allow_untrusted_routing"} {
		v := strings.ToLower(strings.TrimSpace(p.params.Get(d)))
		if v != "yes" && v != "no" {
			return nil, &ConfigError{Param: d, Err: errors.New("need yes or no, got \"" + v + "\"")}
		}
	}
	return p, nil
}

// compileLists opens the match lists and table lists the policy reads.
func (p *Policy) compileLists() error {
	var err error
	ml := func(param string, hosts bool) *matchList {
		if err != nil {
			return nil
		}
		var l *matchList
		l, err = p.compileMatchList(param, hosts)
		return l
	}
	p.mynetworks = ml("mynetworks", true)
	p.mydest = ml("mydestination", false)
	p.relayDomains = ml("relay_domains", false)
	p.virtAliasDomains = ml("virtual_alias_domains", false)
	p.virtMailboxDomains = ml("virtual_mailbox_domains", false)
	p.eventExceptions = ml("smtpd_client_event_limit_exceptions", true)
	p.mxBackupNetworks = ml("permit_mx_backup_networks", true)
	if err != nil {
		return err
	}
	p.staticClasses = staticList(p.mydest) && staticList(p.relayDomains) &&
		staticList(p.virtAliasDomains) && staticList(p.virtMailboxDomains)
	mp := func(param string, alias bool) *maps {
		if err != nil {
			return nil
		}
		var m *maps
		m, err = p.openMaps(param, alias)
		return m
	}
	p.virtualAliasMaps = mp("virtual_alias_maps", false)
	p.virtualMailboxMaps = mp("virtual_mailbox_maps", false)
	p.relayRcptMaps = mp("relay_recipient_maps", false)
	p.aliasMaps = mp("alias_maps", true)
	p.localRcptMaps = p.openLocalRcptMaps(&err)
	p.senderLoginMaps = mp("smtpd_sender_login_maps", false)
	p.rblReplyMaps = mp("rbl_reply_maps", false)
	p.transportMaps = mp("transport_maps", false)
	p.headerChecks = mp("header_checks", false)
	p.bodyChecks = mp("body_checks", false)
	p.mimeHeaderChecks = mp("mime_header_checks", false)
	p.nestedHeaderChecks = mp("nested_header_checks", false)
	if err != nil {
		return err
	}
	p.compileMIME()
	p.ownAddrs = map[string]bool{}
	for _, v := range append(p.params.List("inet_interfaces"), p.params.List("proxy_interfaces")...) {
		switch strings.ToLower(v) {
		case "all":
			if addrs, e := net.InterfaceAddrs(); e == nil {
				for _, a := range addrs {
					if ipn, ok := a.(*net.IPNet); ok {
						p.ownAddrs[strings.ToLower(ipn.IP.String())] = true
					}
				}
			}
			p.ownAddrs["127.0.0.1"], p.ownAddrs["::1"] = true, true
		case "loopback-only", "localhost":
			p.ownAddrs["127.0.0.1"], p.ownAddrs["::1"] = true, true
		default:
			if a, e := netip.ParseAddr(strings.Trim(v, "[]")); e == nil {
				p.ownAddrs[strings.ToLower(a.String())] = true
			}
		}
	}
	return nil
}

// openLocalRcptMaps opens local_recipient_maps; alias_maps members use
// aliases(5) syntax. An alias table that refuses commands still lists the
// alias name, so the recipient is known.
func (p *Policy) openLocalRcptMaps(errp *error) *maps {
	if *errp != nil {
		return nil
	}
	toks, err := splitRestrictions(p.params.Get("local_recipient_maps"))
	if err != nil {
		*errp = &ConfigError{Param: "local_recipient_maps", Err: err}
		return nil
	}
	if len(toks) == 0 {
		return nil
	}
	aliasRefs := map[string]bool{}
	for _, t := range splitList(p.params.Get("alias_maps")) {
		aliasRefs[t] = true
	}
	m := &maps{param: "local_recipient_maps"}
	for i, tok := range toks {
		var t Table
		if aliasRefs[tok] {
			t, err = p.openAliasTable(tok)
		} else {
			t, err = p.openTable(tok)
		}
		if err != nil {
			_, explicitLocal := p.params["local_recipient_maps"]
			_, explicitAlias := p.params["alias_maps"]
			if !explicitLocal && (!aliasRefs[tok] || !explicitAlias) {
				p.log.Warn("skipping default table", "param", "local_recipient_maps", "table", tok, "err", err)
				continue
			}
			*errp = &ConfigError{Param: "local_recipient_maps", Element: i + 1, Token: tok, Err: err}
			return nil
		}
		m.tables = append(m.tables, t)
	}
	if len(m.tables) == 0 {
		return nil
	}
	return m
}

// openTable opens (once) the table named ref.
func (p *Policy) openTable(ref string) (Table, error) {
	if t, ok := p.tables[ref]; ok {
		return t, nil
	}
	opts := p.tableOpts
	t, err := table.Open(ref, &opts)
	if err != nil {
		return nil, err
	}
	p.tables[ref] = t
	return t, nil
}

func (p *Policy) openAliasTable(ref string) (Table, error) {
	key := "aliases " + ref
	if t, ok := p.tables[key]; ok {
		return t, nil
	}
	if t, ok := p.tables[ref]; ok {
		return t, nil
	}
	opts := p.tableOpts
	opts.Syntax = table.SyntaxAliases
	opts.Aliases = p.aliasOptions()
	t, err := table.Open(ref, &opts)
	if err != nil {
		return nil, err
	}
	p.tables[key] = t
	return t, nil
}

func (p *Policy) aliasOptions() table.AliasOptions {
	return table.AliasOptions{
		AllowCommands: p.params.Bool("yubin_allow_alias_commands"),
		AllowFiles:    p.params.Bool("yubin_allow_alias_files"),
	}
}

// code returns a *_reject_code parameter.
func (p *Policy) code(name string) int {
	if c, ok := p.codes[name]; ok {
		return c
	}
	n, _ := strconv.Atoi(strings.TrimSpace(p.params.Get(name)))
	return n
}

// compileValue compiles an access-table value that is a restriction list.
func (p *Policy) compileValue(value string) (*list, error) {
	if l, ok := p.values.Load(value); ok {
		return l.(*list), nil
	}
	toks, err := splitRestrictions(value)
	if err != nil {
		return nil, err
	}
	l := &list{param: "access table result"}
	for i, tok := range toks {
		name := strings.ToLower(tok)
		if k, ok := restrictionKinds[name]; ok {
			l.steps = append(l.steps, step{kind: k, name: name})
			continue
		}
		if p.classes[name] {
			l.steps = append(l.steps, step{kind: kClass, name: name, arg: name})
			continue
		}
		return nil, &ConfigError{Param: "access table result", Element: i + 1, Token: tok, Err: errors.New("unknown restriction")}
	}
	p.values.Store(value, l)
	return l, nil
}

// Params returns the parameters the policy was built from.
func (p *Policy) Params() Params { return p.params }

// HeloRequired reports smtpd_helo_required: MAIL FROM before HELO/EHLO is
// refused with "503 5.5.1 Error: send HELO/EHLO first".
func (p *Policy) HeloRequired() bool { return p.params.Bool("smtpd_helo_required") }

// MessageSizeLimit returns message_size_limit in bytes (0 = no limit).
func (p *Policy) MessageSizeLimit() int64 { return p.params.Int("message_size_limit") }

// MailboxSizeLimit returns mailbox_size_limit in bytes (0 = no limit).
func (p *Policy) MailboxSizeLimit() int64 { return p.params.Int("mailbox_size_limit") }

// get returns the expanded value of a parameter, from the values computed
// by New.
func (p *Policy) get(name string) string {
	if v, ok := p.memo[name]; ok {
		return v
	}
	return p.params.Get(name)
}

// flag reads a yes/no parameter.
func (p *Policy) flag(name string) bool {
	v := p.get(name)
	return len(v) == 3 && (v == "yes" || strings.EqualFold(v, "yes"))
}

// hotConfig holds the parameters read on every evaluation.
type hotConfig struct {
	allowUntrusted, percentHack, swapBang, delayReject bool
	dequoted, nullDomain, numericDomain                bool
	appendAtMyorigin                                   bool
	rejectUnlistedRcpt, rejectUnlistedSender           bool
	ownerRequestSpecial, saslEnable                    bool
	recipientDelimiter                                 string
}
