// Package restrict evaluates Postfix's smtpd access policy as a pure
// library: the restriction lists of main.cf (smtpd_client_restrictions
// through smtpd_end_of_data_restrictions), the lookup tables they name,
// address classes and resolution, header/body checks, anvil rate limits
// and message_size_limit. It knows nothing about sockets: the SMTP server
// fills a [Request] at each stage and acts on the [Decision], whose code,
// enhanced code and text are what Postfix 3.7 would send.
//
//	p, err := restrict.New(restrict.Params{
//		"myhostname":                   "mx.example.jp",
//		"mynetworks":                   "127.0.0.0/8 192.168.0.0/24",
//		"smtpd_recipient_restrictions": "permit_mynetworks, reject_unauth_destination",
//	}, restrict.WithResolver(restrict.NewCachingResolver(net.DefaultResolver, time.Minute, 0)))
//	d, err := p.Check(ctx, restrict.StageRecipient, &req)
//	// d.String() == "454 4.7.1 <x@other.example>: Relay access denied"
//
// # Parameters
//
// [Params] holds main.cf parameters by name with their raw values;
// $name, ${name}, $(name), ${name?text}, ${name:text} and $$ are expanded
// as Postfix does, and unset parameters read as their Postfix 3.7 default
// (compatibility_level 3.6): relay_domains is empty, smtpd_relay_restrictions
// is "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
// mynetworks is 127.0.0.0/8 [::1]/128 (Postfix computes it from
// mynetworks_style; set it explicitly). [ParseMainCF] reads main.cf text.
//
// # Restrictions
//
// Lists are split on commas and white space, over several lines, with
// "{ ... }" kept together (inline: tables). smtpd_restriction_classes,
// bare "type:name" tables (the stage's check_*_access) and these
// restrictions are understood: permit, reject, defer, dunno,
// warn_if_reject, defer_if_permit, defer_if_reject, permit_mynetworks,
// permit_sasl_authenticated, permit_auth_destination,
// permit_mx_backup (with permit_mx_backup_networks; this host is
// $myhostname or an address of $inet_interfaces/$proxy_interfaces),
// reject_unauth_destination, defer_unauth_destination,
// reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname,
// reject_unknown_helo_hostname (and the old *_hostname names),
// reject_unknown_sender_domain, reject_unknown_recipient_domain,
// reject_non_fqdn_sender, reject_non_fqdn_recipient,
// reject_unlisted_recipient, reject_unlisted_sender,
// reject_sender_login_mismatch (and the authenticated/known/
// unauthenticated variants) with smtpd_sender_login_maps,
// reject_unknown_client_hostname, reject_unknown_reverse_client_hostname,
// check_client_access, check_reverse_client_access, check_helo_access,
// check_sender_access, check_recipient_access, check_sasl_access,
// reject_rbl_client, permit_dnswl_client, reject_rhsbl_client,
// permit_rhswl_client, reject_rhsbl_reverse_client, reject_rhsbl_sender,
// reject_rhsbl_helo, reject_rhsbl_recipient (with "=127.0.0.[2..11]"
// reply filters, default_rbl_reply and rbl_reply_maps),
// reject_unauth_pipelining, reject_plaintext_session,
// reject_multi_recipient_bounce and check_policy_service (Postfix's
// policy delegation protocol over inet:host:port or unix:/path, with the
// smtpd_policy_service_* parameters or per-service "{ endpoint,
// timeout=..., default_action=..., try_limit=..., policy_context=... }"
// settings; connections go through [WithPolicyDialer] and are reused). Access-table results: OK, RELAY, all
// digits, REJECT/DEFER [text], "4NN/5NN [d.d.d] text", DUNNO, WARN, INFO,
// HOLD, DISCARD, FILTER, REDIRECT, PREPEND, DEFER_IF_PERMIT,
// DEFER_IF_REJECT and restriction lists (including class names). All
// *_reject_code parameters are honoured.
//
// Configuration errors are reported by [New] as a [*ConfigError] naming
// the parameter and the element position; restrictions that need
// machinery this package lacks are refused there rather than ignored:
// reject_unverified_sender and reject_unverified_recipient ("address
// verification is not supported": they need Postfix's verify(8) probe
// cache), permit_tls_clientcerts, permit_tls_all_clientcerts and
// check_ccert_access (TLS client certificates), check_*_{mx,ns,a}_access,
// permit_inet_interfaces, sleep and check_etrn_access. As Postfix does,
// New refuses a configuration without reject_unauth_destination (or an
// equivalent) in the relay or recipient restrictions.
//
// # Stages
//
// With smtpd_delay_reject = yes (the default), client, helo and sender
// restrictions are applied at RCPT; smtpd_relay_restrictions are applied
// before smtpd_recipient_restrictions; a bare "postmaster" recipient is
// always accepted; smtpd_reject_unlisted_recipient checks the recipient
// against local_recipient_maps, virtual_alias_maps, virtual_mailbox_maps
// or relay_recipient_maps by address class. [Policy.HeloRequired] reports
// smtpd_helo_required for the server to enforce.
//
// # Address resolution
//
// Addresses are resolved as trivial-rewrite does for smtpd: source routes
// are dropped, quoted local parts unquoted, an address without a domain
// canonicalized ("host!user" and "user%host" rewritten, else
// "@$myorigin" appended), "user%host@local" (allow_percent_hack),
// "host!user@local" (swap_bangpath) and "user@host@local"
// (resolve_dequoted_address) re-resolved however deeply nested, so that
// the classic relay tricks land on the remote domain or keep routing
// operators, which never pass permit_auth_destination (unless
// allow_untrusted_routing). A resolved domain that is not a valid host
// name or address literal ("user@192.0.2.1" without
// resolve_numeric_domain, "user@[127.1]", "user@" without
// resolve_null_domain) is refused as bad syntax. Classes: local
// (mydestination, or an address literal of inet_interfaces or
// proxy_interfaces, IPv4-mapped IPv6 literals included), virtual alias,
// virtual mailbox, relay (relay_domains, with parent domain matching) and
// default. [Policy.Resolve] expands virtual_alias_maps and alias_maps
// (aliases(5) via restrict/table) and applies transport_maps.
//
// # Content and rate limits
//
// [Policy.NewContentScan] inspects a whole message as Postfix 3.7's
// cleanup(8) does: a port of mime_state.c's one-pass MIME state machine
// (a stack of multipart boundaries) with header_checks on the primary
// headers, mime_header_checks on MIME headers and body-part headers,
// nested_header_checks on the headers of attached message/rfc822 parts,
// body_checks on the first body_checks_size_limit bytes of each body
// part (boundary lines and the empty line after headers included, as
// cleanup passes them), lines cut at line_length_limit, headers cut at
// header_size_limit, mime_boundary_length_limit, mime_nesting_limit
// ("550 5.6.0 MIME nesting exceeds safety limit" when header checks are
// set and no check rejected first), disable_mime_input_processing and
// strict_7bit_headers, strict_8bitmime_body, strict_8bitmime and
// strict_mime_encoding_domain. Its replies are compared with the real
// Postfix's in TestPostfixMIMEChecks. [Policy.CheckHeaders] and
// [Policy.CheckBody] apply header_checks and body_checks to one header
// or line (REJECT, WARN, INFO, DISCARD, HOLD, PREPEND, REPLACE, IGNORE,
// FILTER, REDIRECT, PASS); [Policy.CheckSize] applies
// message_size_limit; [Limiter] (from [Policy.NewLimiter]) implements
// anvil's connection count and connection, message, recipient, AUTH and
// new-TLS-session rates with smtpd_client_event_limit_exceptions.
//
// # Implementation notes
//
// A Policy is immutable after New and safe for concurrent use; every Check
// builds a small evaluation state (the equivalent of smtpd's per-request
// variables: warn_if_reject depth, the first defer_if_permit and
// defer_if_reject reasons, a two-entry address resolution memo). A table
// lookup error aborts the evaluation with "451 4.3.0 <name>: Temporary
// lookup failure" and returns the error; configuration problems found at
// run time answer "451 4.3.5 Server configuration error". Go error text
// never reaches a Decision. DNS goes through the [Resolver] interface
// (*net.Resolver satisfies it). As smtpd keeps DNSBL answers in a
// process cache, a Policy keeps DNSBL/RHSBL answers (listed or not, never
// temporary failures) for one minute, at most 10000 per list entry;
// [NewCachingResolver] adds the same for MX and address lookups. When
// mydestination, relay_domains, virtual_alias_domains and
// virtual_mailbox_domains name no lookup table, the address class of a
// domain depends on the configuration alone and a Policy remembers it
// (at most 10000 domains), as smtpd's resolve cache does; with a table
// among them every resolution consults the tables. The caches are maps
// under RWMutexes: evaluations read them and rarely write, and a cache
// hit allocates nothing (an evaluation that passes a typical submission setup's whole
// recipient list allocates nothing at all).
//
// Header checks: a PREPEND adds its line right before the header line it
// matched (Decision.HeaderPrepends gives the index), as cleanup(8) does;
// a PREPEND in body_checks goes before the body line checked.
//
// The only network I/O is DNS through the [Resolver] and
// check_policy_service through the [PolicyDialer]; a policy server's
// reply is read with limits (4096-byte lines, 100 attributes), and a
// server that cannot be reached or answers without an action gets
// default_action for that query. The policy request carries what a
// [Request] knows: client_port, server_address, server_port,
// sasl_method, sasl_sender and the ccert_*/encryption_* details other
// than encryption_protocol=TLS are sent empty, protocol_name is "SMTP"
// and instance is the queue ID.
//
// Differences from Postfix: with smtpd_delay_reject = no, defer_if_permit
// reasons from the client and helo stages are not carried to RCPT (the
// Policy keeps no session state); unknown-client checks treat every
// "unknown" name as a permanent failure; local_recipient_maps tables named
// only by Postfix defaults (unix:passwd.byname, hash:/etc/aliases) are
// skipped when they cannot be opened; alias "|command" and "/file" targets
// need yubin_allow_alias_commands / yubin_allow_alias_files = yes.
// In content inspection, the BCC action is logged and ignored; a table
// lookup error defers with "451 4.3.0 Temporary lookup failure" (cleanup
// answers "451 4.3.0 Error: queue file write error"); header text is
// passed on as received (cleanup rewrites "Name :" to "Name:", and
// with cleanup_replace_stray_cr_lf stores a stray CR as a space; yubin
// inspects it as a space).
package restrict
