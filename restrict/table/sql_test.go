package table_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/restrict/table"
	_ "github.com/yubinmail/yubin/restrict/table/mysqltable"
	_ "github.com/yubinmail/yubin/restrict/table/pgsqltable"
)

// sqlFixture is the tables the SQL table tests query, in SQL both
// MariaDB and PostgreSQL take.
const sqlFixture = `
CREATE TABLE alias (address VARCHAR(255) NOT NULL, goto VARCHAR(255), active INTEGER NOT NULL);
INSERT INTO alias VALUES ('info@example.com', 'alice@example.com', 1);
INSERT INTO alias VALUES ('info@example.com', 'bob@example.com', 1);
INSERT INTO alias VALUES ('sales@example.com', 'carol@example.com', 1);
INSERT INTO alias VALUES ('old@example.com', 'dave@example.com', 0);
INSERT INTO alias VALUES ('null@example.com', NULL, 1);
INSERT INTO alias VALUES ('empty@example.com', '', 1);
INSERT INTO alias VALUES ('plain', 'local-user', 1);
INSERT INTO alias VALUES ('noat@other.example', 'nodomainvalue', 1);
INSERT INTO alias VALUES ('noat@other.example', 'x@y.example', 1);
INSERT INTO alias VALUES ('quote''s@example.com', 'quoted@example.com', 1);
INSERT INTO alias VALUES ('pct%@example.com', 'percent@example.com', 1);
INSERT INTO alias VALUES ('many@example.com', 'a@example.com', 1);
INSERT INTO alias VALUES ('many@example.com', 'b@example.com', 1);
INSERT INTO alias VALUES ('many@example.com', 'c@example.com', 1);
INSERT INTO alias VALUES ('sales', 'userpart@example.com', 1);
CREATE TABLE transport (domain VARCHAR(255) NOT NULL, transport VARCHAR(255) NOT NULL);
INSERT INTO transport VALUES ('example.com', 'smtp:[relay.example.com]');
INSERT INTO transport VALUES ('mail.example.com', 'lmtp:unix:private/dovecot-lmtp');
`

// sqlKeys are the lookup keys every scenario asks for: hits, misses,
// case variants, non-addresses, and injection attempts.
var sqlKeys = []string{
	"info@example.com", "INFO@Example.COM", "sales@example.com", "old@example.com", "null@example.com",
	"empty@example.com", "plain", "noat@other.example", "quote's@example.com", "pct%@example.com",
	"many@example.com", "nobody@example.com", "sales", "@example.com", "user@", "example.com",
	"user@mail.example.com", "x@sub.mail.example.com", "x@com",
	"' OR '1'='1", "info@example.com' --", "x' OR address LIKE '%", `\' OR 1=1 #`, "%", "%s",
	"info@example.com'; DROP TABLE alias; --", `" OR ""="`,
}

// sqlScenarios are table files (without the connection settings) and
// what they exercise.
var sqlScenarios = []struct{ name, cf string }{
	{"key", "query = SELECT goto FROM alias WHERE address='%s' AND active = 1\n"},
	{"user-domain", "query = SELECT goto FROM alias\n  WHERE address = '%u@%d' AND active = 1\ndomain = example.com, other.example\n"},
	{"user-only", "query = SELECT goto FROM alias WHERE address = '%u'\n"},
	{"result-format", "query = SELECT goto FROM alias WHERE address='%s'\nresult_format = %u+%D@relay.%d\n"},
	{"expansion-limit", "query = SELECT goto FROM alias WHERE address='%s'\nexpansion_limit = 2\n"},
	{"labels", "query = SELECT transport FROM transport WHERE domain = '%2.%1'\n"},
	{"labels3", "query = SELECT transport FROM transport WHERE domain = '%3.%2.%1'\n"},
	{"upper-format", "query = SELECT goto FROM alias WHERE address = '%s'\nresult_format = %S -> %s\n"},
	{"old-style", "select_field = goto\ntable = alias\nwhere_field = address\nadditional_conditions = AND active = 1\n"},
}

// diffSQLAgainstPostmap compares each scenario's answers with postmap
// -q against the same database.
func diffSQLAgainstPostmap(t *testing.T, typ, conn string) {
	cfg := testutil.PostfixConfigDir(t)
	if !containsStr(testutil.PostfixMapTypes(t, cfg), typ) {
		testutil.Unavailable(t, "postmap lacks %s tables (install postfix-%s)", typ, typ)
	}
	for _, sc := range sqlScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			keys := sqlKeys
			if sc.name == "expansion-limit" {
				// postmap stops with "fatal: ... query error" on a key
				// over the limit: ask it the others; ours fails too.
				keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "many@example.com" })
			}
			path := filepath.Join(t.TempDir(), sc.name+".cf")
			if err := os.WriteFile(path, []byte(conn+sc.cf), 0o600); err != nil {
				t.Fatal(err)
			}
			ref := typ + ":" + path
			want := testutil.PostmapQuery(t, cfg, ref, keys)
			tbl, err := table.Open(ref, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.(interface{ Close() error }).Close()
			if sc.name == "expansion-limit" {
				if _, _, err := tbl.Lookup(context.Background(), "many@example.com"); !errors.Is(err, table.ErrSQLExpansionLimit) {
					t.Errorf("3 results over expansion_limit = 2: %v", err)
				}
			}
			found := 0
			for _, k := range keys {
				got, ok, err := tbl.Lookup(context.Background(), k)
				w, wok := want[k]
				if err != nil {
					t.Errorf("Lookup(%q): %v", k, err)
					continue
				}
				if ok != wok || got != w {
					t.Errorf("%s key %q: got (%q, %v), postmap says (%q, %v)", sc.name, k, got, ok, w, wok)
				}
				if wok {
					found++
				}
			}
			if found == 0 {
				t.Errorf("%s: no key found: the scenario does not discriminate", sc.name)
			}
		})
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestMariaDBPostmapMySQLTable: mysql: tables answer as Postfix's
// postmap -q with postfix-mysql against the same private MariaDB.
func TestMariaDBPostmapMySQLTable(t *testing.T) {
	t.Parallel()
	m := testutil.StartMariaDB(t)
	m.CreateDatabase(t, "postfix", "pfpw")
	m.Exec(t, "postfix", sqlFixture)
	conn := fmt.Sprintf("hosts = inet:127.0.0.1:%d\nuser = postfix\npassword = pfpw\ndbname = postfix\n", m.Port)
	diffSQLAgainstPostmap(t, "mysql", conn)

	t.Run("unix-socket", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sock.cf")
		os.WriteFile(path, []byte(fmt.Sprintf("hosts = unix:%s\nuser = postfix\npassword = pfpw\ndbname = postfix\nquery = SELECT goto FROM alias WHERE address = '%%s'\n", m.Socket)), 0o600)
		tbl, err := table.Open("mysql:"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, err := tbl.Lookup(context.Background(), "sales@example.com"); v != "carol@example.com" || !ok || err != nil {
			t.Errorf("over the socket: %q %v %v", v, ok, err)
		}
	})
	t.Run("failover-and-down", func(t *testing.T) {
		dead := testutil.FreePort(t)
		path := filepath.Join(t.TempDir(), "fo.cf")
		os.WriteFile(path, []byte(fmt.Sprintf("hosts = inet:127.0.0.1:%d, inet:127.0.0.1:%d\nuser = postfix\npassword = pfpw\ndbname = postfix\nquery = SELECT goto FROM alias WHERE address = '%%s'\n", dead, m.Port)), 0o600)
		tbl, _ := table.Open("mysql:"+path, nil)
		if v, ok, err := tbl.Lookup(context.Background(), "sales@example.com"); v != "carol@example.com" || !ok || err != nil {
			t.Errorf("second host: %q %v %v", v, ok, err)
		}
		os.WriteFile(path, []byte(fmt.Sprintf("hosts = inet:127.0.0.1:%d\nuser = postfix\npassword = pfpw\ndbname = postfix\nquery = SELECT goto FROM alias WHERE address = '%%s'\n", dead)), 0o600)
		tbl, _ = table.Open("mysql:"+path, nil)
		if _, ok, err := tbl.Lookup(context.Background(), "sales@example.com"); ok || err == nil {
			t.Errorf("database down: found=%v err=%v, want an error", ok, err)
		}
	})
	t.Run("tls", func(t *testing.T) {
		// The table's own query reports the session's TLS cipher.
		q := "query = SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER' AND '%s' <> ''\n"
		path := filepath.Join(t.TempDir(), "tls.cf")
		os.WriteFile(path, []byte(conn+"tls_CAfile = "+m.TLS.CertFile+"\ntls_verify_cert = yes\n"+q), 0o600)
		tbl, err := table.Open("mysql:"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, err := tbl.Lookup(context.Background(), "x"); !ok || err != nil || v == "" {
			t.Errorf("cipher over TLS: %q %v %v", v, ok, err)
		}
		other := testutil.NewTLS(t)
		os.WriteFile(path, []byte(conn+"tls_CAfile = "+other.CertFile+"\ntls_verify_cert = yes\n"+q), 0o600)
		tbl, _ = table.Open("mysql:"+path, nil)
		if _, _, err := tbl.Lookup(context.Background(), "x"); err == nil {
			t.Error("a server certificate from another CA was accepted with tls_verify_cert = yes")
		}
	})
	t.Run("option-file", func(t *testing.T) {
		// The database user in a my.cnf group named by
		// option_file/option_group: postmap (libmysqlclient) and yubin
		// read the same file and answer the same. (The password stays
		// in the .cf file: Postfix hands libmysqlclient an empty one,
		// which it does not replace with the file's.)
		cnf := filepath.Join(testutil.SharedDir(t), "my.cnf")
		os.WriteFile(cnf, []byte("[client]\nuser = nobody\n[postfix-maps]\nuser = postfix\nsocket = /nonexistent # comment\n"), 0o644)
		diffSQLAgainstPostmap(t, "mysql", fmt.Sprintf("hosts = inet:127.0.0.1:%d\ndbname = postfix\npassword = pfpw\noption_file = %s\noption_group = postfix-maps\n", m.Port, cnf))
	})
	t.Run("tls-capath", func(t *testing.T) {
		// The CA found in a tls_CApath directory (among other files).
		dir := t.TempDir()
		pem, _ := os.ReadFile(m.TLS.CertFile)
		os.WriteFile(filepath.Join(dir, "ca.pem"), pem, 0o644)
		os.WriteFile(filepath.Join(dir, "other.pem"), testutil.NewTLS(t).CertPEM, 0o644)
		q := "query = SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER' AND '%s' <> ''\n"
		path := filepath.Join(t.TempDir(), "capath.cf")
		os.WriteFile(path, []byte(conn+"tls_CApath = "+dir+"\ntls_verify_cert = yes\n"+q), 0o600)
		tbl, err := table.Open("mysql:"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, err := tbl.Lookup(context.Background(), "x"); !ok || err != nil || v == "" {
			t.Errorf("cipher over TLS verified by tls_CApath: %q %v %v", v, ok, err)
		}
		os.Remove(filepath.Join(dir, "ca.pem"))
		tbl, _ = table.Open("mysql:"+path, nil)
		if _, _, err := tbl.Lookup(context.Background(), "x"); err == nil {
			t.Error("verified without the CA in tls_CApath")
		}
	})
	t.Run("unresponsive", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hang.cf")
		os.WriteFile(path, []byte(conn+"query = SELECT goto FROM alias WHERE address = '%s'\n"), 0o600)
		tbl, _ := table.Open("mysql:"+path, nil)
		resume := m.Suspend(t)
		defer resume()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, _, err := tbl.Lookup(ctx, "sales@example.com"); err == nil {
			t.Error("no error from a database that does not answer")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("lookup took %v with a 500ms deadline", d)
		}
	})
}

// TestPostgreSQLPostmapPgSQLTable: pgsql: tables answer as postmap -q
// with postfix-pgsql against the same private PostgreSQL.
func TestPostgreSQLPostmapPgSQLTable(t *testing.T) {
	t.Parallel()
	p := testutil.StartPostgres(t)
	p.CreateDatabase(t, "postfix", "pfpw")
	p.Exec(t, "postfix", sqlFixture)
	conn := fmt.Sprintf("hosts = inet:127.0.0.1:%d\nuser = postfix\npassword = pfpw\ndbname = postfix\n", p.Port)
	diffSQLAgainstPostmap(t, "pgsql", conn)
}

func TestSQLTableConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cf := range []string{
		"hosts = x\n",                       // no query
		"query = SELECT a WHERE b = '%x'\n", // bad expansion
		"query = SELECT a WHERE b = '%s\n",  // unterminated literal
		"query = SELECT a WHERE b = %s\nexpansion_limit = -1\n",
		"query = SELECT a\nresult_format = %q\n",
		" leading continuation\n",
	} {
		path := filepath.Join(t.TempDir(), "bad.cf")
		os.WriteFile(path, []byte(cf), 0o600)
		for _, typ := range []string{"mysql", "pgsql"} {
			if _, err := table.Open(typ+":"+path, nil); err == nil {
				t.Errorf("%s %q: no error", typ, cf)
			}
		}
	}
	if _, err := table.Open("mysql:/nonexistent/x.cf", nil); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("missing file: %v", err)
	}
}
