package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/yubinmail/yubin/config"
)

// checkAll is "fullserver check" beyond the syntax, reporting every
// problem it finds rather than the first: the TLS files, the TLS values
// written without Dovecot's '<', the users (passdb, userdb and every bad
// line of a passwd-file), each SMTP listener's restrictions and tables,
// and then whatever else a start would build (buildAll, which stops at
// its first error).
func checkAll(cfg *config.Config) []error {
	var errs []error
	add := func(err error) {
		if err == nil {
			return
		}
		for _, e := range errs {
			if e.Error() == err.Error() {
				return
			}
		}
		errs = append(errs, err)
	}
	for _, n := range []string{"ssl_cert", "ssl_key"} {
		if v := cfg.Get(n); cfg.IsSet(n) && cfg.FileOf(n) == "" && strings.HasPrefix(v, "/") {
			add(fmt.Errorf("%s: %s = %s: a file is written \"%s = <%s\" (with '<', as in Dovecot); without it the value is read as the PEM text itself", cfg.Pos(n), n, v, n, v))
		}
	}
	certOK := true
	if !usesDefaultCert(cfg) {
		cf, kf := certFiles(cfg)
		where := func(dovecot, postfix string) string {
			if cfg.IsSet(dovecot) && cfg.FileOf(dovecot) != "" {
				return cfg.Pos(dovecot).String()
			}
			return cfg.Pos(postfix).String()
		}
		for _, f := range []struct{ what, path, pos string }{
			{"certificate", cf, where("ssl_cert", "smtpd_tls_cert_file")},
			{"key", kf, where("ssl_key", "smtpd_tls_key_file")},
		} {
			if f.path == "" {
				continue
			}
			if !fileExists(f.path) {
				if f.pos != "" {
					f.pos += ": "
				}
				add(fmt.Errorf("%sTLS %s %s: no such file", f.pos, f.what, f.path))
				certOK = false
			}
		}
		if certOK && len(errs) == 0 {
			if _, err := loadCert(cfg); err != nil {
				add(err)
			}
		}
	}
	v := cfg.WithReadLog(nil)
	if u, err := newUsers(v, nil); err != nil {
		add(err)
	} else if u.passwd != nil {
		for _, e := range u.passwd.Errors() {
			add(e)
		}
	}
	for _, svc := range []string{"smtp", "submission", "submissions"} {
		if _, err := newPolicy(v.Service(svc), nil); err != nil {
			add(err)
		}
	}
	if len(errs) == 0 {
		// buildAll repeats the steps above and stops at the first
		// problem: run it when they found none, for what is left.
		add(buildAll(cfg))
	}
	return errs
}

// joinErrors is errs as one error, one line each.
func joinErrors(errs []error) error { return errors.Join(errs...) }
