package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/restrict"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/msgauth"
)

// auditDir makes the files that non-default values name: a table, a
// regexp table, a certificate and key.
func auditDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "table"), []byte("example.org OK\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "aliases"), []byte("postmaster: root\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "regexp"), []byte("/^X-Audit: yes/ REJECT\n"), 0o644))
	must(os.MkdirAll(filepath.Join(dir, "tls"), 0o700))
	must(makeSelfSigned(filepath.Join(dir, "tls", "c.pem"), filepath.Join(dir, "tls", "k.pem"), "mx.example.org"))
	_, dkimKey, err := msgauth.GenerateKey(msgauth.AlgEd25519)
	must(err)
	must(os.WriteFile(filepath.Join(dir, "dkim.pem"), dkimKey, 0o600))
	must(os.WriteFile(filepath.Join(dir, "keytable"), []byte("audit example.org:audit:"+filepath.Join(dir, "dkim.pem")+"\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "signingtable"), []byte("*@example.org audit\n"), 0o644))
	return dir
}

// auditValues are non-default values for the parameters whose value the
// generic rules of nonDefaults cannot make (paths, addresses, lists
// with a grammar). Each is valid on its own and with all the others.
func auditValues(dir string) map[string]string {
	table := "texthash:" + filepath.Join(dir, "table")
	re := "regexp:" + filepath.Join(dir, "regexp")
	cert, key := filepath.Join(dir, "tls", "c.pem"), filepath.Join(dir, "tls", "k.pem")
	return map[string]string{
		// Replication (replication.go).
		"mail_replica": "tcp:192.0.2.7:12345", "doveadm_port": "12345", "doveadm_ssl": "no",
		"replication_full_sync_interval": "2 hours", "doveadm_inet_listener": "127.0.0.4:0",
		"myhostname":      "mx.example.org",
		"mydomain":        "example.org",
		"myorigin":        "$mydomain", // mydomain takes effect through references
		"mydestination":   "$myhostname, localhost.$mydomain",
		"mynetworks":      "192.0.2.0/24",
		"home_mailbox":    "Maildir/",
		"inet_interfaces": "127.0.0.2",
		"listen":          "127.0.0.3",
		"inet_protocols":  "ipv4",
		"protocols":       "imap pop3 sieve",
		"sieve":           "file:~/scripts;active=~/.active.sieve",
		"mail_owner":      "nobody",
		"syslog_name":     "yubin-audit",
		"log_format":      "json",
		"syslog_facility": "local0",
		"metrics_listen":  "127.0.0.1:9",
		"mail_location":   "maildir:" + dir + "/mail/%d/%n",
		"queue_directory": dir + "/queue",
		"passdb":          "passwd-file:" + dir + "/passwd",
		"userdb":          "passwd-file:" + dir + "/passwd",

		"mail_blob_location": "s3://audit:secret@127.0.0.1:9/mail", // read (a warning) without mail_location = pgsql:

		"smtpd_tls_cert_file": cert,
		"smtpd_tls_key_file":  key,
		"ssl_cert":            "<" + cert,
		"ssl_key":             "<" + key,
		"ssl_min_protocol":    "TLSv1.3",
		"smtp_tls_CAfile":     cert,
		"smtp_tls_CApath":     filepath.Join(dir, "tls"),

		"lmtp_unix_listener":   dir + "/lmtp.sock",
		"lmtp_inet_listener":   "127.0.0.1:24",
		"auth_client_listener": dir + "/auth.sock",
		"mailbox_transport":    "lmtp:unix:" + dir + "/lmtp.sock",
		"virtual_transport":    "lmtp:inet:127.0.0.1:24",
		"local_transport":      "local:mx.example.org",
		"default_transport":    "relay",
		"relay_transport":      "smtp",
		"relayhost":            "[192.0.2.25]:587",
		"transport_maps":       table,

		"smtpd_banner":                        "$myhostname ESMTP $mail_name",
		"smtpd_client_restrictions":           "permit_mynetworks",
		"smtpd_helo_restrictions":             "permit_mynetworks",
		"smtpd_sender_restrictions":           "permit_mynetworks",
		"smtpd_relay_restrictions":            "permit_mynetworks, reject_unauth_destination",
		"smtpd_recipient_restrictions":        "permit_mynetworks, reject_unauth_destination",
		"smtpd_data_restrictions":             "reject_unauth_pipelining",
		"smtpd_end_of_data_restrictions":      "permit_mynetworks",
		"header_checks":                       re,
		"body_checks":                         re,
		"alias_maps":                          "texthash:" + filepath.Join(dir, "aliases"),
		"local_recipient_maps":                table,
		"virtual_alias_maps":                  table,
		"virtual_alias_domains":               "alias.example.org",
		"virtual_mailbox_domains":             "box.example.org",
		"virtual_mailbox_maps":                table,
		"relay_domains":                       "relay.example.org",
		"relay_recipient_maps":                table,
		"smtpd_sender_login_maps":             table,
		"rbl_reply_maps":                      table,
		"smtp_sasl_password_maps":             table,
		"smtpd_restriction_classes":           "audit_class",
		"recipient_delimiter":                 "+",
		"smtpd_client_event_limit_exceptions": "192.0.2.1",
		"proxy_interfaces":                    "192.0.2.9",
		"login_trusted_networks":              "192.0.2.0/24",
		"auth_mechanisms":                     "plain",
		"auth_username_format":                "%u",
		"default_pass_scheme":                 "BLF-CRYPT",
		"pop3_uidl_format":                    "%08Xv%08Xu",
		"smtp_helo_name":                      "out.example.org",
		"smtp_bind_address":                   "127.0.0.1",
		"smtp_bind_address6":                  "::1",
		"smtp_address_preference":             "ipv4",
		"smtp_tls_security_level":             "encrypt",
		"smtpd_tls_security_level":            "encrypt",
		"ssl":                                 "required",
		"mynetworks_style":                    "subnet",

		// sieve.go: the other status type.
		"sieve_spamtest_status_type":  "strlen",
		"sieve_virustest_status_type": "strlen",

		"dkim_keys":               "example.org:audit:" + filepath.Join(dir, "dkim.pem"),
		"dkim_key_table":          filepath.Join(dir, "keytable"),
		"dkim_signing_table":      filepath.Join(dir, "signingtable"),
		"dmarc_reject_action":     "quarantine",
		"dmarc_quarantine_action": "none",
		"msgauth_nameservers":     "127.0.0.1:53",
		"arc_seal_domain":         "example.org",
		"dkim_notice_domain":      "example.org",

		// tlspolicy.go
		"smtp_dns_support_level":      "dnssec",
		"smtp_dnssec_nameserver":      "127.0.0.1:53",
		"smtp_mta_sts_policy_address": "127.0.0.1:443",
	}
}

// auditWith are the settings a parameter's non-default value needs
// beside it to build on its own.
func auditWith(dir string) map[string]string {
	return map[string]string{
		"smtp_sasl_auth_enable":       "smtp_sasl_password_maps = texthash:" + filepath.Join(dir, "table") + "\n",
		"userdb":                      "passdb = passwd-file:" + dir + "/passwd\n",
		"smtpd_restriction_classes":   "audit_class = permit_mynetworks, reject\n",
		"dkim_key_table":              "dkim_signing_table = " + filepath.Join(dir, "signingtable") + "\n",
		"dkim_signing_table":          "dkim_key_table = " + filepath.Join(dir, "keytable") + "\n",
		"smtp_dnssec_nameserver":      "smtp_dns_support_level = dnssec\n",
		"smtp_tls_rpt_organization":   "smtp_tls_rpt = yes\n",
		"smtp_tls_rpt_contact":        "smtp_tls_rpt = yes\n",
		"smtp_tls_rpt_sender":         "smtp_tls_rpt = yes\n",
		"smtp_tls_rpt_interval":       "smtp_tls_rpt = yes\n",
		"smtp_mta_sts_policy_address": "smtp_mta_sts = yes\n",
	}
}

// nonDefaults returns candidate non-default values for p, best first.
func nonDefaults(p config.Param, dir string) []string {
	if v, ok := auditValues(dir)[p.Name]; ok {
		return []string{v}
	}
	d := strings.TrimSpace(p.Default)
	switch p.Kind {
	case config.Bool:
		if b, _ := config.ParseBool(d); b {
			return []string{"no"}
		}
		return []string{"yes"}
	case config.Int:
		n, _ := config.ParseInt(d)
		return []string{strconv.FormatInt(n+1, 10)}
	case config.Duration:
		v, _ := config.ParseDuration(d)
		return []string{strconv.FormatInt(int64(v/time.Second)+1, 10) + "s"}
	}
	if n, err := strconv.Atoi(d); err == nil {
		return []string{strconv.Itoa(n + 1)}
	}
	switch strings.ToLower(d) {
	case "yes":
		return []string{"no"}
	case "no":
		return []string{"yes"}
	}
	if v, err := config.ParseDuration(d); err == nil && d != "" {
		return []string{strconv.FormatInt(int64(v/time.Second)+1, 10) + "s"}
	}
	var out []string
	for _, c := range []string{"", "example.org", "texthash:" + filepath.Join(dir, "table"), "192.0.2.1", "defer", "450 4.7.1 audit"} {
		if c != d {
			out = append(out, c)
		}
	}
	return out
}

// auditParse reads settings (name = value lines) the way loadConfig
// does with -data dir/data.
func auditParse(dir, text string) (*config.Config, error) {
	return newSchema().Parse("audit.cf", strings.NewReader(text),
		config.Setting{Name: "data_directory", Value: filepath.Join(dir, "data"), Pos: config.Pos{File: "-data flag"}})
}

// allNonDefault returns a configuration that sets every declared
// parameter to a valid value other than its default: each parameter's
// first candidate that builds alone. The builds record in reads (a
// parameter may be read only when another is left alone, as
// mynetworks_style is only without mynetworks).
func allNonDefault(t *testing.T, dir string, reads *config.ReadLog) string {
	t.Helper()
	var b strings.Builder
	for _, p := range newSchema().Params() {
		if p.Runtime || p.Name == "data_directory" {
			continue
		}
		var errs []string
		found := false
		for _, v := range nonDefaults(p, dir) {
			line := p.Name + " = " + v + "\n"
			c, err := auditParse(dir, line+auditWith(dir)[p.Name])
			if err == nil {
				err = buildAll(c.WithReadLog(reads))
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("%q: %v", v, err))
				continue
			}
			b.WriteString(line + auditWith(dir)[p.Name])
			found = true
			break
		}
		if !found {
			t.Errorf("parameter %s: no non-default value builds; give it one in auditValues (tried %s)", p.Name, strings.Join(errs, "; "))
		}
	}
	return b.String()
}

// TestEveryParameterIsRead builds the fullserver (buildAll: every
// server and the queue, nothing bound, written or started) from the
// default configuration, from each declared parameter set alone to a
// non-default valid value, and from one that sets all of them so,
// recording what is read. Every declared parameter must be read by one
// of them, or be marked Compat (compatParams), so that "fullserver
// check" never passes a setting that has no effect in silence; a Compat
// parameter must be read by none. restrict's parameters count as read
// when newPolicy hands them over: TestRestrictParamsNamedInCode checks
// that code names them.
func TestEveryParameterIsRead(t *testing.T) {
	t.Parallel()
	dir := auditDir(t)
	reads := config.NewReadLog()
	def, err := auditParse(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := buildAll(def.WithReadLog(reads)); err != nil {
		t.Fatalf("default configuration: %v", err)
	}
	text := allNonDefault(t, dir, reads)
	all, err := auditParse(dir, text)
	if err != nil {
		t.Fatalf("all non-default:\n%v\n%s", err, text)
	}
	if err := buildAll(all.WithReadLog(reads)); err != nil {
		t.Fatalf("all non-default: %v\n%s", err, text)
	}
	t.Logf("all non-default:\n%s", text)
	for _, p := range newSchema().Params() {
		switch {
		case p.Runtime:
		case !all.IsSet(p.Name) || all.Raw(p.Name) == p.Default:
			t.Errorf("parameter %s: the all-non-default configuration leaves it at its default", p.Name)
		case p.Compat && reads.Read(p.Name):
			t.Errorf("parameter %s is marked Compat (no effect) but is read: delete its line in compatParams", p.Name)
		case !p.Compat && !reads.Read(p.Name):
			t.Errorf("parameter %s is declared but nothing reads it: read it where it takes effect, or add it to compatParams with the reason it has no effect", p.Name)
		}
	}
}

// declares reports whether the file at rel (from the module root) is one
// that declares parameters rather than reads them.
func declares(rel string) bool {
	switch rel {
	case filepath.Join("restrict", "params.go"), filepath.Join("examples", "fullserver", "params.go"), filepath.Join("examples", "fullserver", "compat.go"):
		return true
	}
	return false
}

// TestRestrictParamsNamedInCode is the other half of
// TestEveryParameterIsRead: newPolicy records restrict's parameters as
// read when it hands them to restrict (which, with the smtp server,
// reads them itself, some only while sessions run). Here each of them
// must be named by a string literal in the packages' or the
// fullserver's code (tests, other examples and the files that declare
// parameters aside) inside a function something calls, unless it is in
// byReference: then no code may name it, and a default must refer to
// it as $name. One that no code names has no effect.
func TestRestrictParamsNamedInCode(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	named := map[string]bool{}
	inFunc := map[string][]string{} // literal -> the functions it is in ("" outside any)
	used := map[string]bool{}       // identifiers other than declared function names
	declared := map[*ast.Ident]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch {
			case rel == "examples" || rel == filepath.Join("examples", "fullserver"):
				return nil
			case strings.HasPrefix(rel, "examples"), d.Name() == "testdata", d.Name() == "bench", d.Name() == "testutil":
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || declares(rel) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn := ""
			if fd, ok := decl.(*ast.FuncDecl); ok {
				fn = fd.Name.Name
				declared[fd.Name] = true
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
						inFunc[s] = append(inFunc[s], fn)
					}
				case *ast.Ident:
					if !declared[n] {
						used[n.Name] = true
					}
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A literal counts where its function is called from somewhere (or
	// it is outside any function): one in an accessor nothing calls
	// (as Policy.MailboxSizeLimit was) has no effect.
	for s, fns := range inFunc {
		for _, fn := range fns {
			if fn == "" || used[fn] || fn == "init" || fn == "main" {
				named[s] = true
			}
		}
	}
	schema := newSchema()
	defaults := restrict.DefaultParams()
	literal := maps.Clone(named)
	for name := range byReference {
		if literal[name] {
			t.Errorf("parameter %s is in byReference, but package code names it: delete its line there", name)
		}
	}
	// A parameter referred to by the default of a named one takes
	// effect through it.
	ref := regexp.MustCompile(`\$[{(]?([A-Za-z0-9_]+)`)
	for changed := true; changed; {
		changed = false
		for name := range named {
			p, _ := schema.Lookup(name)
			for _, d := range []string{defaults[name], p.Default} {
				for _, m := range ref.FindAllStringSubmatch(d, -1) {
					if !named[m[1]] {
						named[m[1]] = true
						changed = true
					}
				}
			}
		}
	}
	for name := range byReference {
		if !named[name] {
			t.Errorf("parameter %s is in byReference, but no default refers to it", name)
		}
	}
	for _, name := range restrictReads(schema) {
		switch {
		case named[name] && !literal[name]:
			t.Errorf("parameter %s: no package code names it, it takes effect only where a value refers to it: add it to byReference", name)
		case !named[name]:
			t.Errorf("parameter %s: restrict declares it and newPolicy hands it over, but no package code names it, so it has no effect: read it where it takes effect, or add it to compatParams with the reason", name)
		}
	}
	for name := range compatParams {
		if _, ok := defaults[name]; ok && named[name] {
			t.Errorf("parameter %s is marked Compat (no effect) but package code names it: if it takes effect now, delete its line in compatParams", name)
		}
	}
}
