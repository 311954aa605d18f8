package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/internal/testutil"
)

// homes checks that every setting of a dovecot.conf tree has a home: a
// setting this host reads (or, for a Dovecot name it does not
// implement, check's unused-parameter warning), or a warning at its
// line or at a section around it.
func homes(t *testing.T, file string, d *dovecotConf) {
	t.Helper()
	have := map[config.Pos]bool{}
	for _, st := range d.settings {
		have[st.Pos] = true
	}
	for _, w := range d.warns {
		have[w.Pos] = true
	}
	root, _, err := config.LoadDovecot(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(s *config.DovecotSection, covered bool)
	walk = func(s *config.DovecotSection, covered bool) {
		covered = covered || have[s.Pos]
		for _, st := range s.Settings {
			if !covered && !have[st.Pos] {
				t.Errorf("%s: %s = %s has no home: neither read nor warned about", st.Pos, st.Key, st.Value)
			}
		}
		for _, sub := range s.Sections {
			walk(sub, covered)
		}
	}
	walk(root, false)
}

// mapped returns the settings d gives, as "service/name = value".
func mapped(d *dovecotConf) map[string]string {
	out := map[string]string{}
	for _, st := range d.settings {
		out[st.Key()] = st.Value
	}
	return out
}

func TestDovecotConfSeedsEverySettingHasAHome(t *testing.T) {
	want := map[string]map[string]string{
		"000.conf": {"protocols": "imap pop3", "disable_plaintext_auth": "no", "mail_location": "maildir:~/Maildir",
			"pop3/pop3_uidl_format": "%08Xu%08Xv", "pop3s/pop3_uidl_format": "%08Xu%08Xv", "sieve/sieve": "~/.dovecot.sieve",
			"auth_mechanisms": "login plain", "passdb": "pam", "userdb": "passwd"},
		"002.conf": {"mail_location": "mbox:~/mail:INBOX=/var/mail/%u", "protocols": "imap pop3",
			"ssl_cert": "</etc/dovecot/dovecot.pem", "ssl_key": "</etc/dovecot/private/dovecot.pem"},
		"003.conf": {"mail_location": "sdbox:/var/mail/%n/", "protocols": "imap lmtp sieve", "auth_mechanisms": "plain login",
			"passdb":               "ldap:/etc/dovecot/dovecot-ldap.conf.ext",
			"userdb":               "ldap:/etc/dovecot/dovecot-ldap.conf.ext uid=vmail gid=vmail home=/var/mail/%n/",
			"lmtp_unix_listener":   "$data_directory/lmtp",
			"lmtp_inet_listener":   "0.0.0.0:24",
			"auth_client_listener": "/var/spool/postfix/private/auth",
			"mail_plugins":         " notify replication"},
	}
	schema := newSchema()
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("testdata", "dovecot-seeds", name)
			d := readDovecotConf(file, schema)
			if len(d.errs) > 0 {
				t.Fatalf("errors:\n%v", d.errs)
			}
			homes(t, file, d)
			got := mapped(d)
			for k, v := range w {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			// The whole configuration loads: names and values check.
			if _, err := schema.ParseOver(d.settings, "main.cf", strings.NewReader("")); err != nil {
				t.Errorf("load: %v", err)
			}
		})
	}
}

// Debian's /etc/dovecot as the packages install it (dovecot.conf and
// conf.d, copied) passes check: warnings, no errors.
func TestCheckAcceptsDebianStockDovecotConf(t *testing.T) {
	if _, err := os.Stat("/etc/dovecot/dovecot.conf"); err != nil {
		testutil.Unavailable(t, "Debian's /etc/dovecot (dovecot-core) is not installed")
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", "/etc/dovecot", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	conf := filepath.Join(dir, "dovecot", "dovecot.conf")
	mainCF := filepath.Join(dir, "main.cf")
	os.WriteFile(mainCF, []byte("data_directory = "+filepath.Join(dir, "data")+"\ndovecot_config_file = "+conf+"\n"), 0o644)
	var stdout, stderr bytes.Buffer
	code := run([]string{"-config", mainCF, "check"}, strings.NewReader(""), &stdout, &stderr)
	if !pamBuilt {
		// The stock passdb is PAM, which this test binary was built
		// without: that is the one error.
		if code != 1 || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 || !strings.Contains(stderr.String(), "built without PAM support") {
			t.Fatalf("check (no PAM): exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
		t.Log("built without the pam tag: the stock tree's only error is its PAM passdb")
		return
	}
	if code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, w := range []string{"10-mail.conf:114: mail_privileged_group = mail: unused parameter", "15-mailboxes.conf:48: namespace inbox { }: accepted; has no effect in yubin"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("no warning %q in\n%s", w, stderr.String())
		}
	}
}

// The values yubin reads from a dovecot.conf are the same whether it reads
// the file or what "doveconf -n" makes of it: includes, quoting,
// $key references and sections are understood as Dovecot understands them.
func TestDoveconfDifferential(t *testing.T) {
	testutil.RequireBinary(t, "doveconf")
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Values differ from Dovecot's defaults: doveconf -n leaves those out.
	write("dovecot.conf", `protocols = imap
protocols = $protocols lmtp   # continued below
listen = 127.0.0.1
!include conf.d/*.conf
!include_try local.conf
mail_location = "maildir:/srv/mail/%d/%n/Maildir"
auth_mechanisms = plain \
   login
disable_plaintext_auth = no
mail_max_userip_connections = 7
protocol imap {
  mail_max_userip_connections = 3
}
protocol pop3 {
  pop3_uidl_format = '%08Xv%08Xu'
}
`)
	write("conf.d/10-master.conf", `service imap-login {
  inet_listener imap {
    port = 10143
    address = 127.0.0.2
  }
  inet_listener imaps {
    port = 10993
    ssl = yes
  }
}
service lmtp {
  unix_listener /srv/yubin/lmtp {
    mode = 0600
  }
  inet_listener lmtp {
    address = 127.0.0.1
    port = 10024
  }
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
  }
}
`)
	write("conf.d/10-auth.conf", `passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT /srv/yubin/passwd
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=/srv/mail/%d/%n
}
ssl = required
ssl_min_protocol = TLSv1.3
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_max_actions = 10
}
`)
	write("local.conf", "auth_failure_delay = 5 secs\n")
	out, err := exec.Command("doveconf", "-n", "-c", filepath.Join(dir, "dovecot.conf")).CombinedOutput()
	if err != nil {
		t.Fatalf("doveconf -n: %v\n%s", err, out)
	}
	write("n.conf", string(out))

	schema := newSchema()
	load := func(name string) (*config.Config, *dovecotConf) {
		d := readDovecotConf(filepath.Join(dir, name), schema)
		if len(d.errs) > 0 {
			t.Fatalf("%s: %v", name, d.errs)
		}
		c, err := schema.ParseOver(d.settings, "main.cf", strings.NewReader(""))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return c, d
	}
	ours, d := load("dovecot.conf")
	theirs, _ := load("n.conf")
	var names []string
	for _, st := range d.settings {
		if !slices.Contains(names, st.Name) {
			names = append(names, st.Name)
		}
	}
	if len(names) < 15 {
		t.Fatalf("only %d settings mapped: %v", len(names), names)
	}
	for _, svc := range append([]string{""}, services...) {
		a, b := ours, theirs
		if svc != "" {
			a, b = ours.Service(svc), theirs.Service(svc)
		}
		for _, n := range names {
			if x, y := a.Get(n), b.Get(n); x != y {
				t.Errorf("%s/%s: from the file %q, from doveconf -n %q", svc, n, x, y)
			}
		}
	}
	for k, v := range map[string]string{"protocols": "imap lmtp", "imap_port": "10143", "auth_mechanisms": "plain login", "auth_failure_delay": "5s"} {
		if got := ours.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := ours.Service("imap").Get("listen"); got != "127.0.0.2" {
		t.Errorf("imap listen = %q", got)
	}
}
