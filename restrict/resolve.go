package restrict

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/restrict/table"
)

// AddressClass is Postfix's address class of a recipient domain
// (ADDRESS_CLASS_README).
type AddressClass int

const (
	// ClassDefault is any other domain: delivered by default_transport.
	ClassDefault AddressClass = iota
	// ClassLocal is a domain in mydestination (or an address literal of
	// this host): delivered by local_transport.
	ClassLocal
	// ClassVirtualAlias is a domain in virtual_alias_domains: every
	// address must be aliased by virtual_alias_maps.
	ClassVirtualAlias
	// ClassVirtualMailbox is a domain in virtual_mailbox_domains:
	// delivered by virtual_transport.
	ClassVirtualMailbox
	// ClassRelay is a domain in relay_domains: delivered by
	// relay_transport.
	ClassRelay
)

var classNames = [...]string{"default", "local", "virtual alias", "virtual mailbox", "relay"}

// String returns the class name as ADDRESS_CLASS_README writes it.
func (c AddressClass) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Destination is where a recipient goes: its own address class and,
// after virtual alias and alias expansion, the final deliveries.
type Destination struct {
	// Recipient is the address that was resolved.
	Recipient string
	// Class is the recipient's address class before expansion.
	Class AddressClass
	// Targets are the final deliveries, one per address after
	// virtual_alias_maps (and, for local addresses, alias_maps) expansion.
	// A recipient that is not aliased has one target: itself.
	Targets []Target
}

// Target is one final delivery.
type Target struct {
	// Address is the final recipient address (user+ext@domain).
	Address string
	// Class is the address class of Address.
	Class AddressClass
	// Transport is the master.cf transport name ("local", "lmtp",
	// "virtual", "relay", "smtp", "error", "discard").
	Transport string
	// Nexthop is the transport's destination ("unix:private/dovecot-lmtp",
	// "[relay.example.jp]:587", the recipient domain for smtp), "" when
	// the transport needs none.
	Nexthop string
	// User is the local part without the recipient_delimiter extension,
	// for local and virtual delivery.
	User string
	// Extension is the part after recipient_delimiter ("tag" in
	// user+tag@example.jp), "" when none.
	Extension string
	// Command is the command of a "|command" alias when
	// allow_mail_to_commands permits it; Address is empty then.
	Command string
	// File is the path of a "/file" alias when allow_mail_to_files
	// permits it; Address is empty then.
	File string
}

// ErrUnknownRecipient is returned by Resolve for an address in a virtual
// alias domain that virtual_alias_maps does not list ("User unknown in
// virtual alias table").
var ErrUnknownRecipient = errors.New("restrict: user unknown")

// ErrAliasLoop is returned when alias or virtual alias expansion exceeds
// virtual_alias_recursion_limit or virtual_alias_expansion_limit.
var ErrAliasLoop = errors.New("restrict: alias expansion limit exceeded")

// Resolve classifies rcpt by its domain, expands virtual_alias_maps
// (recursively, with propagate_unmatched_extensions) and, for local
// addresses, alias_maps (aliases(5): addresses, :include: files, and
// |command or /file targets when allowed), then applies transport_maps
// and the class's default transport. It returns where each resulting
// address goes; the caller delivers. An address whose domain is not a
// valid host name or address literal after resolution is an error.
// Lookup failures are returned as errors (Postfix defers such mail).
func (p *Policy) Resolve(ctx context.Context, rcpt string) (Destination, error) {
	r := p.resolveAddr(ctx, nil, internalAddr(rcpt))
	d := Destination{Recipient: rcpt, Class: r.class}
	if r.bad {
		return d, fmt.Errorf("restrict: <%s>: bad address syntax", rcpt)
	}
	ex := &expander{p: p, ctx: ctx, limit: int(p.params.Int("virtual_alias_expansion_limit")), depthLimit: int(p.params.Int("virtual_alias_recursion_limit"))}
	if ex.limit <= 0 {
		ex.limit = 1000
	}
	if ex.depthLimit <= 0 {
		ex.depthLimit = 1000
	}
	addrs, err := ex.virtual(r.addr, 0)
	if err != nil {
		return d, err
	}
	if r.class == ClassVirtualAlias && len(addrs) == 1 && strings.EqualFold(addrs[0], r.addr) {
		return d, fmt.Errorf("%w: <%s>: User unknown in virtual alias table", ErrUnknownRecipient, rcpt)
	}
	for _, a := range addrs {
		if err := ex.local(a, 0, ""); err != nil {
			return d, err
		}
	}
	d.Targets = ex.targets
	return d, nil
}

type expander struct {
	p                 *Policy
	ctx               context.Context
	limit, depthLimit int
	targets           []Target
	seen              map[string]bool
}

// virtual expands addr through virtual_alias_maps.
func (e *expander) virtual(addr string, depth int) ([]string, error) {
	if depth > e.depthLimit || depth > 100 {
		return nil, ErrAliasLoop
	}
	p := e.p
	if p.virtualAliasMaps == nil {
		return []string{addr}, nil
	}
	v, key, ok, err := p.addrFindKey(e.ctx, p.virtualAliasMaps, addr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return []string{addr}, nil
	}
	targets, err := table.SplitTargets(v)
	if err != nil {
		return nil, err
	}
	_, ext := p.splitExtension(localOf(addr))
	var out []string
	for _, t := range targets {
		if ext != "" && !strings.EqualFold(key, addr) && p.propagates("virtual") {
			t = p.addExtension(t, ext)
		}
		if strings.EqualFold(t, addr) {
			out = append(out, t) // maps to itself: final
			continue
		}
		more, err := e.virtual(t, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		if len(out) > e.limit {
			return nil, ErrAliasLoop
		}
	}
	return out, nil
}

// local resolves one address after virtual aliasing: local addresses go
// through alias_maps, then every address gets its transport.
func (e *expander) local(addr string, depth int, fromAlias string) error {
	if depth > 100 || len(e.targets) > e.limit {
		return ErrAliasLoop
	}
	p := e.p
	r := p.resolveAddr(e.ctx, nil, addr)
	user, ext := p.splitExtension(r.local)
	if r.class == ClassLocal && p.aliasMaps != nil && !strings.EqualFold(user, fromAlias) {
		for _, key := range []string{strings.ToLower(r.local), strings.ToLower(user)} {
			v, ok, err := p.aliasMaps.find(e.ctx, key, false)
			if err != nil {
				return err
			}
			if !ok {
				if key == strings.ToLower(user) {
					break
				}
				continue
			}
			if e.seen == nil {
				e.seen = map[string]bool{}
			}
			if e.seen[key] {
				return nil // alias loop: Postfix suppresses duplicates
			}
			e.seen[key] = true
			return e.aliasTargets(v, user, depth)
		}
	}
	t := Target{Address: r.addr, Class: r.class, User: user, Extension: ext}
	t.Transport, t.Nexthop = p.transportFor(e.ctx, r)
	for _, old := range e.targets {
		if old.Address == t.Address && old.Command == "" && old.File == "" {
			return nil // duplicate suppression
		}
	}
	e.targets = append(e.targets, t)
	return nil
}

func (e *expander) aliasTargets(value, name string, depth int) error {
	p := e.p
	opts := p.aliasOptions()
	targets, err := table.SplitTargets(value)
	if err != nil {
		return err
	}
	for _, t := range targets {
		switch {
		case strings.HasPrefix(t, "|"):
			if !opts.AllowCommands {
				return fmt.Errorf("alias %q: command target %q refused", name, t)
			}
			e.targets = append(e.targets, Target{Class: ClassLocal, Transport: "local", Command: t[1:], User: name})
		case strings.HasPrefix(t, "/"):
			if !opts.AllowFiles {
				return fmt.Errorf("alias %q: file target %q refused", name, t)
			}
			e.targets = append(e.targets, Target{Class: ClassLocal, Transport: "local", File: t, User: name})
		case strings.HasPrefix(strings.ToLower(t), ":include:"):
			more, err := table.ReadInclude(strings.TrimSpace(t[len(":include:"):]), opts, 0)
			if err != nil {
				return err
			}
			if err := e.aliasTargets(strings.Join(more, ", "), name, depth+1); err != nil {
				return err
			}
		default:
			if !strings.Contains(t, "@") {
				t += "@" + strings.ToLower(p.get("myorigin"))
			}
			if err := e.local(t, depth+1, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// transportFor applies transport_maps, then the address class default.
func (p *Policy) transportFor(ctx context.Context, r resolved) (string, string) {
	var transport, nexthop string
	switch r.class {
	case ClassLocal:
		transport = p.get("mailbox_transport")
		if transport == "" {
			transport = p.get("local_transport")
		}
	case ClassVirtualMailbox:
		transport = p.get("virtual_transport")
	case ClassRelay:
		transport = p.get("relay_transport")
	case ClassVirtualAlias:
		transport = "error:5.1.1 User unknown in virtual alias table"
	default:
		transport = p.get("default_transport")
	}
	transport, nexthop = splitTransport(transport)
	if nexthop == "" && (r.class == ClassDefault || r.class == ClassRelay) {
		nexthop = r.domain
		if rh := p.get("relayhost"); rh != "" && r.class == ClassDefault {
			nexthop = rh
		}
	}
	if p.transportMaps != nil {
		if v, ok := p.transportLookup(ctx, r); ok {
			t, n := splitTransport(v)
			if t != "" {
				transport = t
			}
			if n != "" {
				nexthop = n
			}
		}
	}
	return transport, nexthop
}

// transportLookup is transport(5)'s search order: user+ext@domain,
// user@domain, domain, .parent domains, then "*".
func (p *Policy) transportLookup(ctx context.Context, r resolved) (string, bool) {
	keys := []string{strings.ToLower(r.addr)}
	if user, ext := p.splitExtension(r.local); ext != "" {
		keys = append(keys, strings.ToLower(user+"@"+r.domain))
	}
	for i, key := range keys {
		if v, ok, _ := p.transportMaps.find(ctx, key, i > 0); ok {
			return v, true
		}
	}
	d := strings.ToLower(r.domain)
	if v, ok, _ := p.transportMaps.find(ctx, d, true); ok {
		return v, true
	}
	for {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
		if v, ok, _ := p.transportMaps.find(ctx, "."+d, true); ok {
			return v, true
		}
	}
	v, ok, _ := p.transportMaps.find(ctx, "*", true)
	return v, ok
}

func splitTransport(v string) (string, string) {
	v = strings.TrimSpace(v)
	t, n, _ := strings.Cut(v, ":")
	return t, n
}

func localOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[:i]
	}
	return addr
}

func (p *Policy) propagates(what string) bool {
	for _, s := range p.params.List("propagate_unmatched_extensions") {
		if s == what {
			return true
		}
	}
	return false
}

// addExtension puts +ext on the local part of addr if it has none.
func (p *Policy) addExtension(addr, ext string) string {
	delim := p.cfg.recipientDelimiter
	if delim == "" {
		return addr
	}
	local, domain, hasAt := strings.Cut(addr, "@")
	if strings.ContainsAny(local, delim) {
		return addr
	}
	local += delim[:1] + ext
	if hasAt {
		return local + "@" + domain
	}
	return local
}

// addrFindKey is addrFind that also reports which key matched.
func (p *Policy) addrFindKey(ctx context.Context, m *maps, addr string) (string, string, bool, error) {
	at := strings.LastIndexByte(addr, '@')
	local, domain := addr, ""
	if at >= 0 {
		local, domain = addr[:at], addr[at+1:]
	}
	try := func(key string, partial bool) (string, bool, error) {
		return m.find(ctx, key, partial)
	}
	if v, ok, err := try(strings.ToLower(addr), false); ok || err != nil {
		return v, addr, ok, err
	}
	user, ext := p.splitExtension(local)
	if ext != "" && domain != "" {
		k := strings.ToLower(user + "@" + domain)
		if v, ok, err := try(k, true); ok || err != nil {
			return v, k, ok, err
		}
	}
	if domain == "" || p.isLocalDomain(ctx, nil, strings.ToLower(domain)) {
		if v, ok, err := try(local, true); ok || err != nil {
			return v, local, ok, err
		}
		if ext != "" {
			if v, ok, err := try(user, true); ok || err != nil {
				return v, user, ok, err
			}
		}
	}
	if domain != "" {
		k := "@" + strings.ToLower(domain)
		v, ok, err := try(k, true)
		return v, k, ok, err
	}
	return "", "", false, nil
}
