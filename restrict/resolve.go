package restrict

import (
	"context"
	"errors"
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

// Resolve classifies rcpt by its domain, expands virtual_alias_maps and
// (for local addresses) alias_maps, applies transport_maps, and returns
// where each resulting address goes. ErrUnknownRecipient means Postfix
// would reject the address as unknown in its class.
func (p *Policy) Resolve(ctx context.Context, rcpt string) (Destination, error) {
	return Destination{}, errors.New("todo")
}
