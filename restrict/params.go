package restrict

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/yubinmail/yubin/config"
)

// Params holds Postfix main.cf parameters by name, with their raw values as
// written ("$myhostname, localhost.$mydomain"). Values are expanded when
// read with [Params.Get]; a parameter that is not set reads as its Postfix
// 3.7 default (see [DefaultParams]).
//
// A program that reads main.cf with the config package fills Params from
// the raw values; tests may write a literal:
//
//	restrict.Params{"mynetworks": "192.168.0.0/24", "myhostname": "mx.example.jp"}
type Params map[string]string

// MaxExpandDepth bounds the nesting of $name references.
const MaxExpandDepth = 20

// DefaultParams returns a fresh copy of the Postfix 3.7 defaults of the
// parameters this package reads, except smtpd_forbid_unauth_pipelining,
// which has Postfix 3.9's default (yes).
func DefaultParams() Params {
	p := make(Params, len(defaults))
	for k, v := range defaults {
		p[k] = v
	}
	return p
}

var defaults = map[string]string{
	"myhostname":                              "localhost",
	"mydomain":                                "localdomain",
	"myorigin":                                "$myhostname",
	"mydestination":                           "$myhostname, localhost.$mydomain, localhost",
	"mynetworks":                              "127.0.0.0/8 [::1]/128",
	"relay_domains":                           "",
	"parent_domain_matches_subdomains":        "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps",
	"smtpd_delay_reject":                      "yes",
	"smtpd_helo_required":                     "no",
	"smtpd_client_restrictions":               "",
	"smtpd_helo_restrictions":                 "",
	"smtpd_sender_restrictions":               "",
	"smtpd_relay_restrictions":                "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
	"smtpd_recipient_restrictions":            "",
	"smtpd_data_restrictions":                 "",
	"smtpd_end_of_data_restrictions":          "",
	"smtpd_etrn_restrictions":                 "",
	"smtpd_restriction_classes":               "",
	"smtpd_reject_footer":                     "",
	"smtpd_null_access_lookup_key":            "<>",
	"smtpd_sender_login_maps":                 "",
	"smtpd_reject_unlisted_sender":            "no",
	"smtpd_reject_unlisted_recipient":         "yes",
	"smtpd_policy_service_default_action":     "451 4.3.5 Server configuration problem",
	"smtpd_policy_service_timeout":            "100s",
	"smtpd_policy_service_try_limit":          "2",
	"smtpd_policy_service_retry_delay":        "1s",
	"smtpd_policy_service_max_idle":           "300s",
	"smtpd_policy_service_max_ttl":            "1000s",
	"smtpd_policy_service_request_limit":      "0",
	"smtpd_policy_service_policy_context":     "",
	"queue_directory":                         "/var/spool/postfix",
	"allow_untrusted_routing":                 "no",
	"strict_rfc821_envelopes":                 "no",
	"resolve_dequoted_address":                "yes",
	"resolve_numeric_domain":                  "no",
	"resolve_null_domain":                     "no",
	"empty_address_recipient":                 "MAILER-DAEMON",
	"swap_bangpath":                           "yes",
	"allow_percent_hack":                      "yes",
	"append_at_myorigin":                      "yes",
	"append_dot_mydomain":                     "no",
	"default_rbl_reply":                       "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}",
	"rbl_reply_maps":                          "",
	"maps_rbl_reject_code":                    "554",
	"reject_code":                             "554",
	"defer_code":                              "450",
	"access_map_reject_code":                  "554",
	"access_map_defer_code":                   "450",
	"invalid_hostname_reject_code":            "501",
	"non_fqdn_reject_code":                    "504",
	"unknown_address_reject_code":             "450",
	"unknown_address_tempfail_action":         "$reject_tempfail_action",
	"unknown_client_reject_code":              "450",
	"unknown_hostname_reject_code":            "450",
	"unknown_helo_hostname_tempfail_action":   "$reject_tempfail_action",
	"unknown_local_recipient_reject_code":     "550",
	"unknown_relay_recipient_reject_code":     "550",
	"unknown_virtual_alias_reject_code":       "550",
	"unknown_virtual_mailbox_reject_code":     "550",
	"unverified_recipient_reject_code":        "450",
	"unverified_sender_reject_code":           "450",
	"relay_domains_reject_code":               "554",
	"reject_tempfail_action":                  "defer_if_permit",
	"plaintext_reject_code":                   "450",
	"multi_recipient_bounce_reject_code":      "550",
	"smtpd_sender_login_mismatch_code":        "553",
	"local_recipient_maps":                    "proxy:unix:passwd.byname $alias_maps",
	"alias_maps":                              "hash:/etc/aliases",
	"alias_database":                          "hash:/etc/aliases",
	"allow_mail_to_commands":                  "alias, forward",
	"allow_mail_to_files":                     "alias, forward",
	"virtual_alias_maps":                      "$virtual_maps",
	"virtual_maps":                            "",
	"virtual_alias_domains":                   "$virtual_alias_maps",
	"virtual_mailbox_domains":                 "$virtual_mailbox_maps",
	"virtual_mailbox_maps":                    "",
	"virtual_transport":                       "virtual",
	"relay_recipient_maps":                    "",
	"relay_transport":                         "relay",
	"local_transport":                         "local:$myhostname",
	"default_transport":                       "smtp",
	"relayhost":                               "",
	"transport_maps":                          "",
	"recipient_delimiter":                     "",
	"owner_request_special":                   "yes",
	"propagate_unmatched_extensions":          "canonical, virtual",
	"virtual_alias_expansion_limit":           "1000",
	"virtual_alias_recursion_limit":           "1000",
	"expand_owner_alias":                      "no",
	"header_checks":                           "",
	"mime_header_checks":                      "$header_checks",
	"nested_header_checks":                    "$header_checks",
	"body_checks":                             "",
	"body_checks_size_limit":                  "51200",
	"header_size_limit":                       "102400",
	"line_length_limit":                       "2048",
	"cleanup_replace_stray_cr_lf":             "yes",
	"mime_nesting_limit":                      "100",
	"mime_boundary_length_limit":              "2048",
	"disable_mime_input_processing":           "no",
	"strict_mime_encoding_domain":             "no",
	"strict_8bitmime":                         "no",
	"strict_7bit_headers":                     "no",
	"strict_8bitmime_body":                    "no",
	"message_size_limit":                      "10240000",
	"mailbox_size_limit":                      "51200000",
	"anvil_rate_time_unit":                    "60s",
	"smtpd_client_connection_count_limit":     "50",
	"smtpd_client_connection_rate_limit":      "0",
	"smtpd_client_message_rate_limit":         "0",
	"smtpd_client_recipient_rate_limit":       "0",
	"smtpd_client_new_tls_session_rate_limit": "0",
	"smtpd_client_auth_rate_limit":            "0",
	"smtpd_client_event_limit_exceptions":     "${smtpd_client_connection_limit_exceptions:$mynetworks}",
	"smtpd_recipient_limit":                   "1000",
	"smtpd_recipient_overshoot_limit":         "1000",
	"smtpd_hard_error_limit":                  "${stress?{1}:{20}}",
	"smtpd_soft_error_limit":                  "10",
	"smtpd_error_sleep_time":                  "1s",
	"smtpd_junk_command_limit":                "${stress?{1}:{100}}",
	"smtpd_forbid_unauth_pipelining":          "yes", // Postfix 3.9 and later
	"smtpd_sasl_auth_enable":                  "no",
	"disable_vrfy_command":                    "no",
	"show_user_unknown_table_name":            "yes",
	"double_bounce_sender":                    "double-bounce",
	"inet_interfaces":                         "all",
	"proxy_interfaces":                        "",
	"mailbox_transport":                       "",
}

// Lookup returns the expanded value of name and whether it is set (in p
// or as a default).
func (p Params) Lookup(name string) (string, bool) {
	raw, ok := p.raw(name)
	if !ok {
		return "", false
	}
	v, err := p.expand(raw, 0)
	if err != nil {
		return raw, true
	}
	return v, true
}

// Get returns the expanded value of name, or "" when it is neither set
// nor has a default. Errors in expansion (runaway recursion) leave the
// raw text; use [Params.Expand] to see them.
func (p Params) Get(name string) string {
	v, _ := p.Lookup(name)
	return v
}

// Expand replaces $name, ${name}, $(name), ${name?text}, ${name:text},
// ${name?{text}:{text}} and $$ in s with values from p, the way Postfix
// expands main.cf values. Unknown parameters expand to "".
func (p Params) Expand(s string) (string, error) { return p.expand(s, 0) }

// Bool reads a yes/no parameter.
func (p Params) Bool(name string) bool {
	return strings.EqualFold(strings.TrimSpace(p.Get(name)), "yes")
}

// Int reads an integer parameter; unset or invalid reads as 0.
func (p Params) Int(name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(p.Get(name)), 10, 64)
	return n
}

// Duration reads a Postfix time parameter ("60s", "1h", "3d", "2w"; a bare
// number is seconds). Unset or invalid reads as 0.
func (p Params) Duration(name string) time.Duration {
	d, _ := parseDuration(p.Get(name), 's')
	return d
}

// List splits an expanded list parameter on commas and white space.
func (p Params) List(name string) []string { return splitList(p.Get(name)) }

func (p Params) raw(name string) (string, bool) {
	if v, ok := p[name]; ok {
		return v, true
	}
	v, ok := defaults[name]
	return v, ok
}

func (p Params) expand(s string, depth int) (string, error) {
	if depth > MaxExpandDepth {
		return "", fmt.Errorf("parameter expansion nested deeper than %d", MaxExpandDepth)
	}
	return expandTemplateDepth(s, depth, func(name string) (string, bool) {
		raw, ok := p.raw(name)
		if !ok {
			return "", false
		}
		v, err := p.expand(raw, depth+1)
		if err != nil {
			panic(expandPanic{err})
		}
		return v, true
	})
}

type expandPanic struct{ err error }

// expandTemplate replaces $name, ${name}, $(name), ${name?text},
// ${name:text}, ${name?{text}:{text}} and $$ in s using vars; the texts
// of conditionals are expanded in turn. Unknown names expand to "".
func expandTemplate(s string, vars func(string) (string, bool)) (string, error) {
	return expandTemplateDepth(s, 0, vars)
}

func expandTemplateDepth(s string, depth int, vars func(string) (string, bool)) (out string, err error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	if depth > MaxExpandDepth {
		return "", fmt.Errorf("expansion nested deeper than %d", MaxExpandDepth)
	}
	defer func() {
		if r := recover(); r != nil {
			ep, ok := r.(expandPanic)
			if !ok {
				panic(r)
			}
			out, err = "", ep.err
		}
	}()
	get := func(name string) string {
		v, _ := vars(name)
		return v
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		n := s[i+1]
		switch {
		case n == '$':
			b.WriteByte('$')
			i += 2
		case n == '{' || n == '(':
			closeCh := byte('}')
			if n == '(' {
				closeCh = ')'
			}
			end := matchClose(s, i+1, n, closeCh)
			if end < 0 {
				return "", fmt.Errorf("unbalanced %q in %q", n, s)
			}
			v, err := expandRef(s[i+2:end], depth, get, vars)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i = end + 1
		case isNameByte(n):
			j := i + 1
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			b.WriteString(get(s[i+1 : j]))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// expandRef handles the inside of ${...}.
func expandRef(inner string, depth int, get func(string) string, vars func(string) (string, bool)) (string, error) {
	j := 0
	for j < len(inner) && isNameByte(inner[j]) {
		j++
	}
	name := inner[:j]
	if j == len(inner) {
		return get(name), nil
	}
	val := get(name)
	op, rest := inner[j], inner[j+1:]
	var ifSet, ifUnset string
	hasSet, hasUnset := false, false
	switch op {
	case '?':
		if strings.HasPrefix(rest, "{") {
			end := matchClose(rest, 0, '{', '}')
			if end < 0 {
				return "", fmt.Errorf("unbalanced '{' in %q", inner)
			}
			ifSet, hasSet = rest[1:end], true
			tail := strings.TrimSpace(rest[end+1:])
			if strings.HasPrefix(tail, ":") {
				t := strings.TrimSpace(tail[1:])
				if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
					t = t[1 : len(t)-1]
				}
				ifUnset, hasUnset = t, true
			}
		} else {
			ifSet, hasSet = rest, true
		}
	case ':':
		ifUnset, hasUnset = rest, true
	default:
		return "", fmt.Errorf("bad parameter reference ${%s}", inner)
	}
	if val != "" {
		if hasSet {
			return expandTemplateDepth(ifSet, depth+1, vars)
		}
		return "", nil
	}
	if hasUnset {
		return expandTemplateDepth(ifUnset, depth+1, vars)
	}
	return "", nil
}

func matchClose(s string, open int, o, c byte) int {
	level := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case o:
			level++
		case c:
			level--
			if level == 0 {
				return i
			}
		}
	}
	return -1
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// splitList splits on commas and white space, dropping empty elements.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}

// parseDuration reads Postfix time values with unit s, m, h, d, w.
func parseDuration(s string, def byte) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time value")
	}
	unit := def
	if c := s[len(s)-1]; c < '0' || c > '9' {
		unit = c
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<31 {
		return 0, fmt.Errorf("bad time value %q", s)
	}
	var u time.Duration
	switch unit {
	case 's':
		u = time.Second
	case 'm':
		u = time.Minute
	case 'h':
		u = time.Hour
	case 'd':
		u = 24 * time.Hour
	case 'w':
		u = 7 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("bad time unit %q", unit)
	}
	return time.Duration(n) * u, nil
}

// ParseMainCF reads parameters in main.cf syntax: "name = value" lines,
// continuation lines starting with white space, '#' comments at the start
// of a line (config.ParseSettings reads it; its syntax errors come back
// all at once, with their line numbers). It does not check names; the
// config package does that. A per-service setting ("submission/name")
// is kept under that key.
func ParseMainCF(r io.Reader) (Params, error) {
	settings, err := config.ParseSettings("main.cf", r)
	if err != nil {
		return nil, err
	}
	p := make(Params, len(settings))
	for _, st := range settings {
		p[st.Key()] = st.Value
	}
	return p, nil
}
