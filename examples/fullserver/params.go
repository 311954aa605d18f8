package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/restrict"
)

// services are the listeners, named as in master.cf (smtp, submission,
// submissions) and Dovecot (imap, imaps, pop3, pop3s, lmtp). A setting
// "submission/name = value" overrides name for that listener only.
var services = []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s", "lmtp", "sieve", "auth"}

// ownParams are the parameters fullserver adds or whose defaults differ
// from Postfix's and Dovecot's: a host that runs unprivileged on
// 127.0.0.1 with its data under ./yubin-data.
var ownParams = []config.Param{
	// Where things are.
	{Name: "data_directory", Default: "./yubin-data", Doc: "the data directory: passwd, mail, TLS files, LMTP socket"},
	{Name: "mail_owner", Default: "yubin", Doc: "the dedicated unprivileged user to run as when started as root (useradd --system --home-dir /var/lib/yubin --shell /usr/sbin/nologin yubin)"},
	{Name: "allow_nobody_mail_owner", Default: "no", Kind: config.Bool, Doc: "yes: started as root, run as a shared account such as nobody when mail_owner is one or the default user does not exist (other programs of that user can then read the mail and the TLS key)"},
	{Name: "syslog_name", Default: "yubin", Doc: "the program name in log lines"},
	{Name: "maillog_file", Default: "", Doc: "the file log lines are appended to (Postfix 3.4+); empty: standard error"},
	{Name: "log_format", Default: "text", Check: oneOf("text", "json", "syslog"), Doc: "text (maillog-like), json, or syslog (maillog-like lines to the local syslog daemon, /dev/log, when maillog_file is empty)"},
	{Name: "syslog_facility", Default: "mail", Check: oneOf("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"), Doc: "the syslog facility of log_format = syslog"},
	{Name: "metrics_listen", Default: "", Check: optAddr, Doc: "host:port of the Prometheus /metrics listener, empty for none"},

	// Postfix names, with this host's defaults.
	{Name: "myhostname", Default: "localhost"},
	{Name: "mydestination", Default: "localhost", Kind: config.List},
	{Name: "mynetworks", Default: "127.0.0.1/32", Kind: config.List, Check: cidrList},
	{Name: "mynetworks_style", Default: "host", Check: oneOf("host", "subnet", "class"), Doc: "when set and mynetworks is not: trust this machine's addresses (host), its interfaces' networks (subnet) or their class A/B/C networks (class)"},
	{Name: "inet_interfaces", Default: "127.0.0.1", Kind: config.List},
	{Name: "inet_protocols", Default: "all"},
	{Name: "mail_name", Default: "yubin"},
	{Name: "smtpd_banner", Default: "$myhostname ESMTP"},
	{Name: "alias_maps", Default: ""},
	// Postfix's own default ends in defer_unauth_destination (454); this
	// host answers as seed 001's list does, with 554 5.7.1.
	{Name: "smtpd_relay_restrictions", Default: "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", Kind: config.List},
	{Name: "alias_database", Default: ""},
	{Name: "local_recipient_maps", Default: "", Doc: "empty: local users come from the userdb"},
	{Name: "home_mailbox", Default: "", Check: homeMailbox, Doc: "when set (Maildir/) and mail_location is not: each user's mail is in that Maildir under the user's home"},
	{Name: "mailbox_transport", Default: "", Check: checkTransport, Doc: "empty: deliver into the store in-process; lmtp:unix:/path or lmtp:inet:host:port: hand local mail to that LMTP server"},
	{Name: "local_transport", Default: "local:$myhostname", Check: checkTransport},
	{Name: "lmtp_connect_timeout", Default: "30s", Kind: config.Duration, Doc: "how long to wait for an LMTP transport's server to answer the connection (Postfix: 0s, the system's limit)"},
	{Name: "lmtp_data_done_timeout", Default: "600s", Kind: config.Duration, Doc: "how long to wait for each reply of an LMTP transport's server, the final ones after the message included"},
	{Name: "virtual_transport", Default: "virtual", Check: checkTransport, Doc: "virtual: deliver into the store in-process; lmtp:...: hand virtual mailbox domains' mail to that LMTP server"},
	{Name: "smtpd_tls_security_level", Default: "may", Check: oneOf("none", "may", "encrypt")},
	{Name: "smtpd_tls_wrappermode", Default: "no", Kind: config.Bool},
	{Name: "smtpd_tls_auth_only", Default: "no", Kind: config.Bool},
	{Name: "smtpd_tls_received_header", Default: "no", Kind: config.Bool},
	{Name: "smtpd_tls_cert_file", Default: "$data_directory/tls/cert.pem"},
	{Name: "smtpd_tls_key_file", Default: "$data_directory/tls/key.pem"},
	{Name: "smtpd_tls_loglevel", Default: "0"},
	{Name: "smtp_tls_loglevel", Default: "0"},
	{Name: "smtp_tls_note_starttls_offer", Default: "no", Kind: config.Bool},
	{Name: "smtpd_sasl_type", Default: "dovecot"},
	{Name: "smtpd_sasl_path", Default: "private/auth"},
	{Name: "smtpd_sasl_security_options", Default: "noanonymous", Kind: config.List, Check: checkSASLOptions, Doc: "SASL mechanisms offered without TLS: noplaintext, noactive, nodictionary, noanonymous, mutual_auth exclude mechanisms"},
	{Name: "smtpd_sasl_tls_security_options", Default: "$smtpd_sasl_security_options", Kind: config.List, Check: checkSASLOptions, Doc: "SASL mechanisms offered with TLS, as smtpd_sasl_security_options"},
	{Name: "smtpd_sasl_local_domain", Default: ""},
	{Name: "broken_sasl_auth_clients", Default: "no", Kind: config.Bool},
	{Name: "smtpd_peername_lookup", Default: "no", Kind: config.Bool},
	{Name: "smtpd_timeout", Default: "300s", Kind: config.Duration},
	{Name: "default_process_limit", Default: "100", Kind: config.Int},
	{Name: "default_destination_concurrency_limit", Default: "20", Kind: config.Int},
	{Name: "initial_destination_concurrency", Default: "5", Kind: config.Int},
	{Name: "default_destination_recipient_limit", Default: "50", Kind: config.Int, Doc: "recipients of one delivery to one destination"},

	// The queue (Postfix's qmgr, bounce and delivery agents).
	{Name: "queue_directory", Default: "$data_directory/queue", Doc: "the outbound queue's directory"},
	{Name: "minimal_backoff_time", Default: "300s", Kind: config.Duration},
	{Name: "maximal_backoff_time", Default: "4000s", Kind: config.Duration},
	{Name: "queue_run_delay", Default: "300s", Kind: config.Duration},
	{Name: "maximal_queue_lifetime", Default: "5d", Kind: config.Duration},
	{Name: "bounce_queue_lifetime", Default: "5d", Kind: config.Duration},
	{Name: "delay_warning_time", Default: "0h", Kind: config.Duration},
	{Name: "hopcount_limit", Default: "50", Kind: config.Int},
	{Name: "bounce_size_limit", Default: "50000", Kind: config.Int},
	{Name: "notify_classes", Default: "resource, software", Kind: config.List, Check: notifyClassList, Doc: "problems the postmaster is told of: bounce (copies of bounces' headers; implies 2bounce), 2bounce (undeliverable bounces), delay (copies of delay warnings' headers); resource and software are accepted and send nothing from the queue"},
	{Name: "bounce_notice_recipient", Default: "postmaster", Doc: "the recipient of postmaster copies of bounces (notify_classes = bounce)"},
	{Name: "2bounce_notice_recipient", Default: "postmaster", Doc: "the recipient of bounces that could not be delivered (notify_classes = 2bounce)"},
	{Name: "delay_notice_recipient", Default: "postmaster", Doc: "the recipient of postmaster copies of delay warnings (notify_classes = delay)"},
	{Name: "double_bounce_sender", Default: "double-bounce", Doc: "the sender (@$myhostname) of postmaster notices; mail from it that cannot be delivered is discarded"},
	{Name: "smtp_port", Default: "2525", Check: optPort, Doc: "smtp listener port (MX policy), empty for none"},
	{Name: "submission_port", Default: "2587", Check: optPort},
	{Name: "submissions_port", Default: "2465", Check: optPort},

	// Dovecot names.
	{Name: "protocols", Default: "imap pop3 lmtp", Kind: config.List, Check: protocolList},
	{Name: "listen", Default: "$inet_interfaces", Kind: config.List},
	{Name: "imap_port", Default: "2143", Check: optPort},
	{Name: "imaps_port", Default: "2993", Check: optPort},
	{Name: "pop3_port", Default: "2110", Check: optPort},
	{Name: "pop3s_port", Default: "2995", Check: optPort},
	{Name: "managesieve_port", Default: "24190", Check: optPort, Doc: "ManageSieve listener port (protocols = sieve), empty for none"},
	{Name: "sieve", Default: "file:~/sieve;active=~/.dovecot.sieve", Check: sieveLocationCheck, Doc: "Pigeonhole's script storage and active-script link; ~ is the user's home, or the directory holding the Maildir for users without one"},
	{Name: "sieve_quota_max_scripts", Default: "0", Kind: config.Int, Doc: "ManageSieve: scripts per user, 0 for no limit"},
	{Name: "sieve_quota_max_storage", Default: "0", Kind: config.Int, Doc: "ManageSieve: bytes of scripts per user, 0 for no limit"},
	{Name: "sieve_max_script_size", Default: "1048576", Kind: config.Int, Doc: "largest script in bytes (Pigeonhole's); 0 means the default, since a script is held in memory while it is checked"},
	{Name: "lmtp_unix_listener", Default: "$data_directory/lmtp.sock"},
	{Name: "lmtp_inet_listener", Default: "", Check: optAddr},
	{Name: "auth_client_listener", Default: "", Doc: "unix socket speaking Dovecot's auth-client protocol, for Postfix's smtpd_sasl_type = dovecot; empty for none"},
	{Name: "mail_location", Default: "maildir:$data_directory/mail/%d/%n/Maildir", Check: mailLocation},
	{Name: "passdb", Default: "passwd-file:$data_directory/passwd", Doc: "where passwords are checked: passwd-file:PATH, sql:CONF, ldap:CONF or pam[:SERVICE] (pam needs a binary built with -tags pam; started as root, PAM runs in an auth worker that stays root); several, comma-separated, are asked in order"},
	{Name: "userdb", Default: "static:", Doc: "where users' homes and mail locations come from: static:FIELDS, passwd-file, passwd, sql:CONF or ldap:CONF; several, comma-separated, are asked in order and the first that knows the user answers"},
	{Name: "auth_cache_size", Default: "0", Check: checkCacheSize, Doc: "Dovecot's: the auth cache in front of an sql:, ldap: or pam passdb, in bytes (10M, about 512 bytes a login); 0 for none"},
	{Name: "auth_cache_ttl", Default: "1h", Kind: config.Duration},
	{Name: "auth_cache_negative_ttl", Default: "1h", Kind: config.Duration},
	{Name: "auth_mechanisms", Default: "plain login", Kind: config.List},
	{Name: "disable_plaintext_auth", Default: "yes", Kind: config.Bool},
	{Name: "auth_verbose", Default: "no", Kind: config.Bool, Doc: "Dovecot's: log each successful login (\"auth: login\") at info level; failures are logged either way"},
	{Name: "auth_username_format", Default: "%Lu"},
	{Name: "default_pass_scheme", Default: "SHA512-CRYPT", Check: checkPassScheme, Doc: "Dovecot's: the scheme adduser, passwd and pw hash new passwords with (doveadm pw -s)"},
	{Name: "auth_failure_delay", Default: "2s", Kind: config.Duration},
	{Name: "login_trusted_networks", Default: "", Kind: config.List, Check: cidrList},
	{Name: "ssl", Default: "yes", Check: oneOf("yes", "no", "required"), Doc: "IMAP, POP3, LMTP: no turns STARTTLS and the imaps and pop3s listeners off; required refuses plaintext authentication without TLS (as disable_plaintext_auth = yes)"},
	{Name: "ssl_cert", Default: "<$smtpd_tls_cert_file"},
	{Name: "ssl_key", Default: "<$smtpd_tls_key_file"},
	{Name: "ssl_min_protocol", Default: "TLSv1.2", Check: oneOf("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")},
	{Name: "pop3_uidl_format", Default: "%08Xu%08Xv"},
	{Name: "pop3_lock_session", Default: "no", Kind: config.Bool},
	{Name: "pop3_no_flag_updates", Default: "no", Kind: config.Bool},
	{Name: "mail_max_userip_connections", Default: "10", Kind: config.Int},
	{Name: "process_limit", Default: "1024", Kind: config.Int, Doc: "IMAP, POP3 and ManageSieve: connections at once per listener, logged in or not (Dovecot's service process_limit)"},
	{Name: "login_max_connections_per_ip", Default: "50", Kind: config.Int, Doc: "IMAP, POP3 and ManageSieve: connections not yet logged in from one address (IPv6: one /64)"},
	{Name: "mailbox_list_limit", Default: "10000", Kind: config.Int, Doc: "IMAP: mailboxes per user; CREATE beyond it gets NO [LIMIT]"},
	{Name: "lmtp_save_to_detail_mailbox", Default: "no", Kind: config.Bool},
	{Name: "shutdown_timeout", Default: "30s", Kind: config.Duration, Doc: "how long SIGTERM waits for sessions to finish"},
}

// runtimeNames are filled in by restrict when it builds a reply.
var runtimeNames = []string{"rbl_code", "rbl_class", "rbl_what", "rbl_domain", "rbl_reason", "rbl_txt", "client_address", "client_name", "helo_name", "recipient", "sender", "stress"}

// newSchema returns the parameters fullserver understands: restrict's
// Postfix parameters with their Postfix defaults, then fullserver's own,
// and the per-listener defaults that seed 001 puts in master.cf.
func newSchema() *config.Schema {
	byName := map[string]config.Param{}
	for name, def := range restrict.DefaultParams() {
		byName[name] = config.Param{Name: name, Default: def}
	}
	for _, p := range ownParams {
		byName[p.Name] = p
	}
	for _, p := range smtpOutParams {
		byName[p.Name] = p
	}
	for _, p := range tlsPolicyParams {
		byName[p.Name] = p
	}
	for _, p := range sieveParams {
		byName[p.Name] = p
	}
	for _, p := range dovecotConfParams {
		byName[p.Name] = p
	}
	for _, p := range append(msgauthParams, arcParams...) {
		byName[p.Name] = p
	}
	for _, p := range imapSharedParams {
		byName[p.Name] = p
	}
	for _, p := range replicationParams {
		byName[p.Name] = p
	}
	for _, p := range pgstoreParams {
		byName[p.Name] = p
	}
	for _, n := range runtimeNames {
		if _, ok := byName[n]; !ok {
			byName[n] = config.Param{Name: n, Runtime: true}
		}
	}
	// Typed versions of restrict's numeric and boolean parameters.
	for _, n := range []string{"message_size_limit", "mailbox_size_limit", "smtpd_recipient_limit", "smtpd_client_connection_count_limit", "smtpd_client_connection_rate_limit", "smtpd_client_message_rate_limit", "smtpd_client_recipient_rate_limit", "header_size_limit", "body_checks_size_limit",
		"smtpd_hard_error_limit", "smtpd_soft_error_limit", "smtpd_junk_command_limit", "smtpd_recipient_overshoot_limit"} {
		p := byName[n]
		p.Kind = config.Int
		byName[n] = p
	}
	// Postfix lowers these two under stress (overload); this host has no
	// stress mode, so they are the normal values.
	for n, v := range map[string]string{"smtpd_hard_error_limit": "20", "smtpd_junk_command_limit": "100"} {
		p := byName[n]
		p.Default = v
		byName[n] = p
	}
	for _, n := range []string{"smtpd_error_sleep_time"} {
		p := byName[n]
		p.Kind = config.Duration
		byName[n] = p
	}
	for _, n := range []string{"smtpd_sasl_auth_enable", "disable_vrfy_command", "smtpd_helo_required", "smtpd_delay_reject", "smtpd_forbid_unauth_pipelining"} {
		p := byName[n]
		p.Kind = config.Bool
		byName[n] = p
	}
	// The restriction classes main.cf defines are parameters of the
	// file's own (smtpd_restriction_classes = from_freemail, then
	// from_freemail = check_sender_access ...).
	classes := byName["smtpd_restriction_classes"]
	classes.Kind, classes.Defines = config.List, true
	byName[classes.Name] = classes
	markCompat(byName)
	params := make([]config.Param, 0, len(byName))
	for _, p := range byName {
		params = append(params, p)
	}
	s := config.NewSchema(params, services)
	addKnownNames(s)
	// master.cf as seed 001 writes it: AUTH and relay for authenticated
	// users on submission (STARTTLS required) and submissions (TLS from
	// the first byte); port 25 has no AUTH.
	for _, svc := range []string{"submission", "submissions"} {
		s.SetServiceDefault(svc, "syslog_name", "$syslog_name/"+svc)
		s.SetServiceDefault(svc, "smtpd_sasl_auth_enable", "yes")
		s.SetServiceDefault(svc, "smtpd_recipient_restrictions", "permit_sasl_authenticated, reject")
		s.SetServiceDefault(svc, "smtpd_relay_restrictions", "permit_sasl_authenticated, reject")
	}
	s.SetServiceDefault("submission", "smtpd_tls_security_level", "encrypt")
	s.SetServiceDefault("submissions", "smtpd_tls_wrappermode", "yes")
	return s
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, x := range vals {
			if strings.EqualFold(v, x) {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(vals, ", "))
	}
}

func optPort(v string) error {
	if v == "" {
		return nil
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 0 || n > 65535 || fmt.Sprint(n) != v {
		return fmt.Errorf("not a port number")
	}
	return nil
}

func optAddr(v string) error {
	if v == "" {
		return nil
	}
	if _, err := netip.ParseAddrPort(v); err != nil {
		if strings.HasPrefix(v, "localhost:") && optPort(strings.TrimPrefix(v, "localhost:")) == nil {
			return nil
		}
		return fmt.Errorf("want ip:port")
	}
	return nil
}

func cidrList(v string) error {
	for _, item := range config.SplitList(v) {
		if strings.Contains(item, ":/") {
			continue // a lookup table such as hash:/etc/postfix/network_table
		}
		item = strings.NewReplacer("[", "", "]", "").Replace(item) // [::1]/128
		if _, err := netip.ParsePrefix(item); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(item); err == nil {
			continue
		}
		return fmt.Errorf("%q is not an address or network", item)
	}
	return nil
}

func notifyClassList(v string) error {
	for _, p := range config.SplitList(v) {
		switch strings.ToLower(p) {
		case "bounce", "2bounce", "data", "delay", "policy", "protocol", "resource", "software":
		default:
			return fmt.Errorf("unknown notify class %q (want bounce, 2bounce, data, delay, policy, protocol, resource or software)", p)
		}
	}
	return nil
}

func protocolList(v string) error {
	for _, p := range config.SplitList(v) {
		switch p {
		case "imap", "pop3", "lmtp", "sieve", "none":
		default:
			return fmt.Errorf("unknown protocol %q (want imap, pop3, lmtp, sieve or none)", p)
		}
	}
	return nil
}

func mailLocation(v string) error {
	if isPgsqlLocation(v) {
		return checkPgsqlLocation(v)
	}
	if strings.HasPrefix(v, "sdbox:") {
		return sdboxLocation(v)
	}
	if isMboxLocation(v) {
		return checkMboxLocation(v)
	}
	if !strings.HasPrefix(v, "maildir:") {
		return fmt.Errorf("only maildir:PATH, sdbox:PATH and mbox:PATH[:INBOX=PATH] are supported")
	}
	if strings.TrimPrefix(v, "maildir:") == "" {
		return fmt.Errorf("maildir: needs a path")
	}
	return nil
}

func homeMailbox(v string) error {
	if v != "" && !strings.HasSuffix(v, "/") {
		return fmt.Errorf("only the Maildir form (ending in /) is supported, not an mbox file")
	}
	if strings.HasPrefix(v, "/") || strings.Contains(v, "..") {
		return fmt.Errorf("want a path relative to the home directory")
	}
	return nil
}
