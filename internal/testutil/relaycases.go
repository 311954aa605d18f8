package testutil

import "strings"

// RelayCase is one open-relay attempt: a recipient (and the sender and
// HELO it comes with) that a mail host's MX port must judge as Postfix
// 3.7 does. The expectations hold for the configuration RelayCases
// documents.
type RelayCase struct {
	// Trick says what the case tries, for failure tables.
	Trick string
	// Addr is the RCPT TO address as sent, without the angle brackets
	// (quotes, source routes and backslashes included).
	Addr string
	// Arg, when set, is the whole argument after "RCPT TO:" (to test
	// missing brackets and spaces); otherwise it is "<"+Addr+">". Addr
	// is then the address a server extracts from it.
	Arg string
	// From is the MAIL FROM address without angle brackets; "" is the
	// null sender <>.
	From string
	// Helo is the HELO/EHLO name the client gives.
	Helo string
	// Outside is the reply class Postfix gives a client outside
	// mynetworks that has not authenticated: 2 (accepted: a local
	// recipient, or a bare "postmaster"), 4 or 5 (at RCPT, or already
	// at MAIL FROM for a sender it cannot resolve; yubin's smtp server
	// holds such a refusal back until RCPT, as smtpd_delay_reject does).
	Outside int
	// Trusted is the reply class for a client in mynetworks or one that
	// authenticated with SASL.
	Trusted int
	// Class is Postfix's address class of the accepted address ("local",
	// "default"); "" where a trusted client's RCPT is refused.
	Class string
	// Rcpt is the recipient Postfix delivers to after its address
	// rewriting (percent hack, bang path, source route, quoting), where
	// Class is set: the place a relay trick would smuggle mail to. It is
	// written as Postfix logs it (a local part that needs quotes is
	// quoted). For the default class the next hop is Rcpt's domain.
	Rcpt string
}

// Command returns the RCPT TO command line (without CRLF).
func (c RelayCase) Command() string {
	if c.Arg != "" {
		return "RCPT TO:" + c.Arg
	}
	return "RCPT TO:<" + c.Addr + ">"
}

// RelayOther is the foreign domain the relay cases try to reach;
// RelaySender and RelayHelo are the sender and HELO name most cases
// use, at that domain.
const (
	RelayOther  = "other.example"
	RelaySender = "tester@other.example"
	RelayHelo   = "tester.other.example"
	// RelayUser is the local part of most cases' recipients.
	RelayUser = "user"
)

// RelayCases returns the classic open-relay tricks (those of the historic
// relay testers run against Sendmail and Postfix, and their variants)
// with Postfix 3.7's verdicts for a host with
//
//	myhostname = mx.<ourDomain>
//	myorigin = $myhostname
//	mydestination = <ourDomain>
//	inet_interfaces = 127.0.0.1   (so [127.0.0.1] is this host)
//	relay_domains =
//	smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
//	smtpd_recipient_restrictions =
//	local_recipient_maps =        (every local part is a user)
//	smtputf8_enable = yes
//
// and Postfix's defaults for allow_percent_hack, swap_bangpath,
// resolve_dequoted_address, resolve_null_domain and
// allow_untrusted_routing. The cases' other domain is RelayOther.
//
// Postfix accepts every local part there; a host that checks its local
// users answers "550 5.1.1 ... User unknown" instead for the local
// recipients it does not know (Class "local": RelayUser, postmaster,
// MAILER-DAEMON and the SRS-like local parts), which is no relay
// verdict. A relay refusal is "554 5.7.1 <addr>: Relay access denied"
// (or 501 5.1.3 for what cannot be resolved at all).
func RelayCases(ourDomain string) []RelayCase {
	r := strings.NewReplacer("UPPEROUR", strings.ToUpper(ourDomain), "UPPEROTHER", strings.ToUpper(RelayOther), "OUR", ourDomain, "OTHER", RelayOther)
	var out []RelayCase
	add := func(trick, addr string, outside, trusted int, class, rcpt string, opts ...func(*RelayCase)) {
		c := RelayCase{Trick: trick, Addr: r.Replace(addr), From: RelaySender, Helo: RelayHelo,
			Outside: outside, Trusted: trusted, Class: class, Rcpt: r.Replace(rcpt)}
		for _, o := range opts {
			o(&c)
		}
		c.Arg = r.Replace(c.Arg)
		c.From = r.Replace(c.From)
		c.Helo = r.Replace(c.Helo)
		out = append(out, c)
	}
	from := func(f string) func(*RelayCase) { return func(c *RelayCase) { c.From = f } }
	helo := func(h string) func(*RelayCase) { return func(c *RelayCase) { c.Helo = h } }
	arg := func(a string) func(*RelayCase) { return func(c *RelayCase) { c.Arg = a } }
	const L, D = "local", "default"

	// Plain destinations.
	add("plain foreign recipient", "user@OTHER", 5, 2, D, "user@OTHER")
	add("local recipient", "user@OUR", 2, 2, L, "user@OUR")
	add("postmaster of another domain", "postmaster@OTHER", 5, 2, D, "postmaster@OTHER")
	add("abuse of another domain", "abuse@OTHER", 5, 2, D, "abuse@OTHER")
	add("local postmaster", "postmaster@OUR", 2, 2, L, "postmaster@OUR")
	add("unqualified postmaster (gets @$myorigin)", "postmaster", 2, 2, D, "postmaster@mx.OUR")
	add("unqualified user (gets @$myorigin)", "user", 5, 2, D, "user@mx.OUR")
	add("$myhostname, not in mydestination", "user@mx.OUR", 5, 2, D, "user@mx.OUR")
	add("localhost, not in mydestination", "user@localhost", 5, 2, D, "user@localhost")

	// The percent hack.
	add("percent hack", "user%OTHER@OUR", 5, 2, D, "user@OTHER")
	add("percent hack via our address literal", "user%OTHER@[127.0.0.1]", 5, 2, D, "user@OTHER")
	add("percent hack without domain", "user%OTHER", 5, 2, D, "user@OTHER")
	add("percent hack to ourselves", "user%OUR@OUR", 2, 2, L, "user@OUR")
	add("double percent hack", "user%OTHER%OUR@OUR", 5, 2, D, "user@OTHER")
	add("percent hack on a foreign domain", "user%OUR@OTHER", 5, 2, D, "user%OUR@OTHER")
	add("quoted percent hack", `"user%OTHER"@OUR`, 5, 2, D, "user@OTHER")
	add("quoted percent hack without domain", `"user%OTHER"`, 5, 2, D, "user@OTHER")
	add("percent hack to a foreign address literal", "user%[192.0.2.1]@OUR", 5, 2, D, "user@[192.0.2.1]")
	add("percent hack, mixed case", "user%OTHER@UPPEROUR", 5, 2, D, "user@OTHER")
	add("percent hack, twelve hops", "user%OTHER"+strings.Repeat("%OUR", 12)+"@OUR", 5, 2, D, "user@OTHER")

	// Bang paths.
	add("bang path via our domain", "OTHER!user@OUR", 5, 2, D, "user@OTHER")
	add("bare bang path", "OTHER!user", 5, 2, D, "user@OTHER")
	add("bang path via our address literal", "OTHER!user@[127.0.0.1]", 5, 2, D, "user@OTHER")
	add("quoted bang path", `"OTHER!user"@OUR`, 5, 2, D, "user@OTHER")
	add("quoted bare bang path", `"OTHER!user"`, 5, 2, D, "user@OTHER")
	add("bang path to ourselves", "OUR!user", 2, 2, L, "user@OUR")
	add("two-hop bang path", "OUR!OTHER!user", 5, 2, D, "user@OTHER")
	add("bang path then percent hack", "OTHER!user%OUR@OUR", 5, 2, D, "user%OUR@OTHER")

	// Source routes.
	add("source route via our domain", "@OUR:user@OTHER", 5, 2, D, "user@OTHER")
	add("source route via our address literal", "@[127.0.0.1]:user@OTHER", 5, 2, D, "user@OTHER")
	add("two-hop source route", "@OUR,@OTHER:user@OTHER", 5, 2, D, "user@OTHER")
	add("source route ending here", "@OTHER:user@OUR", 2, 2, L, "user@OUR")

	// Quoted local parts and escapes.
	add("quoted address at our domain", `"user@OTHER"@OUR`, 5, 2, D, "user@OTHER")
	add("quoted address alone", `"user@OTHER"`, 5, 2, D, "user@OTHER")
	add("quoted address at our address literal", `"user@OTHER"@[127.0.0.1]`, 5, 2, D, "user@OTHER")
	add("quoted plain local part", `"user"@OUR`, 2, 2, L, "user@OUR")
	add("backslash-escaped @", `user\@OTHER@OUR`, 5, 2, D, "user@OTHER")
	add("quoted local part with a space and @", `"user @OTHER"@OUR`, 5, 2, D, `"user "@OTHER`)

	// Address literals.
	add("foreign address literal", "user@[192.0.2.1]", 5, 2, D, "user@[192.0.2.1]")
	add("our address literal", "user@[127.0.0.1]", 2, 2, L, "user@[127.0.0.1]")
	add("IPv6 loopback literal (not our interface)", "user@[IPv6:::1]", 5, 2, D, "user@[IPv6:::1]")
	add("IPv6 literal, lower-case tag", "user@[ipv6:::1]", 5, 2, D, "user@[ipv6:::1]")
	add("IPv4-mapped IPv6 literal of our address", "user@[IPv6:::ffff:127.0.0.1]", 2, 2, L, "user@[IPv6:::ffff:127.0.0.1]")
	add("other loopback address literal", "user@[127.0.0.2]", 5, 2, D, "user@[127.0.0.2]")
	add("short-form address literal", "user@[127.1]", 5, 5, "", "")
	add("numeric domain without brackets", "user@127.0.0.1", 5, 5, "", "")

	// Double @.
	add("double @ via our domain", "user@OTHER@OUR", 5, 2, D, "user@OTHER")
	add("double @ via our address literal", "user@OTHER@[127.0.0.1]", 5, 2, D, "user@OTHER")
	add("double @, ours first", "user@OUR@OTHER", 5, 2, D, `"user@OUR"@OTHER`)
	add("double @, ours twice", "user@OUR@OUR", 2, 2, L, "user@OUR")

	// Trailing dots, case, look-alike domains.
	add("trailing dot on a foreign domain", "user@OTHER.", 5, 2, D, "user@OTHER")
	add("trailing dot on our domain", "user@OUR.", 2, 2, L, "user@OUR")
	add("two trailing dots on our domain", "user@OUR..", 5, 5, "", "")
	add("leading dot on our domain", "user@.OUR", 5, 5, "", "")
	add("upper-case our domain", "user@UPPEROUR", 2, 2, L, "user@UPPEROUR")
	add("upper-case foreign address", "USER@UPPEROTHER", 5, 2, D, "USER@UPPEROTHER")
	add("our domain as a subdomain of another", "user@OUR.OTHER", 5, 2, D, "user@OUR.OTHER")
	add("subdomain of our domain", "user@sub.OUR", 5, 2, D, "user@sub.OUR")
	add("look-alike domain ending in ours", "user@evilOUR", 5, 2, D, "user@evilOUR")
	add("our domain with a % suffix", "user@OUR%OTHER", 5, 5, "", "")

	// How the command is written.
	add("no angle brackets", "user@OTHER", 5, 2, D, "user@OTHER", arg("user@OTHER"))
	add("space after the colon", "user@OTHER", 5, 2, D, "user@OTHER", arg(" <user@OTHER>"))
	add("space before the closing bracket", "user@OTHER", 5, 2, D, "user@OTHER", arg("<user@OTHER >"))
	add("space after the opening bracket", "user@OTHER", 5, 2, D, "user@OTHER", arg("< user@OTHER>"))
	add("local recipient, space after the colon", "user@OUR", 2, 2, L, "user@OUR", arg(" <user@OUR>"))
	add("8-bit domain without SMTPUTF8", "user@\u00ebxample.OTHER", 5, 5, "", "")

	// Null and empty addresses.
	add("null recipient", "", 5, 5, "", "")
	add("lone @", "@", 5, 5, "", "")
	add("empty domain", "user@", 5, 5, "", "")
	add("double trailing @", "user@@", 5, 5, "", "")
	add("double @ before our domain", "user@@OUR", 5, 5, "", "")
	add("empty local part at our domain", "@OUR", 2, 2, L, "MAILER-DAEMON@OUR")
	add("null sender to a foreign recipient", "user@OTHER", 5, 2, D, "user@OTHER", from(""))
	add("null sender with the percent hack", "user%OTHER@OUR", 5, 2, D, "user@OTHER", from(""))
	add("null sender to a local recipient", "user@OUR", 2, 2, L, "user@OUR", from(""))

	// Spoofed senders and HELO names.
	add("spoofed local sender", "user@OTHER", 5, 2, D, "user@OTHER", from("user@OUR"))
	add("spoofed local postmaster sender", "user@OTHER", 5, 2, D, "user@OTHER", from("postmaster@OUR"))
	add("sender at our address literal", "user@OTHER", 5, 2, D, "user@OTHER", from("user@[127.0.0.1]"))
	add("sender with a source route via us", "user@OTHER", 5, 2, D, "user@OTHER", from("@OUR:user@OUR"))
	add("sender with a numeric domain", "user@OTHER", 5, 5, "", "", from("user@127.0.0.1"))
	add("sender with a bad address literal", "user@OTHER", 5, 5, "", "", from("user@[127.1]"))
	add("unqualified sender (gets @$myorigin)", "user@OTHER", 5, 2, D, "user@OTHER", from("user"))
	add("HELO with our domain", "user@OTHER", 5, 2, D, "user@OTHER", helo("OUR"))
	add("HELO localhost", "user@OTHER", 5, 2, D, "user@OTHER", helo("localhost"))
	add("HELO with our address literal", "user@OTHER", 5, 2, D, "user@OTHER", helo("[127.0.0.1]"))

	// Encodings that are not routing operators.
	add("= in the local part (SRS-like)", "user=OTHER@OUR", 2, 2, L, "user=OTHER@OUR")
	add("SRS0 address", "SRS0=HHH=TT=OTHER=user@OUR", 2, 2, L, "SRS0=HHH=TT=OTHER=user@OUR")
	add("+extension naming a domain", "user+OTHER@OUR", 2, 2, L, "user+OTHER@OUR")

	// relay_domains (empty here: all are foreign; see the differential
	// test's second configuration for parent-domain matching).
	add("relay domain (relay_domains empty)", "user@relayed.example", 5, 2, D, "user@relayed.example")
	add("subdomain of a relay domain", "user@sub.relayed.example", 5, 2, D, "user@sub.relayed.example")
	add("percent hack via a relay domain", "user%OTHER@relayed.example", 5, 2, D, "user%OTHER@relayed.example")
	return out
}
