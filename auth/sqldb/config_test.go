package sqldb

import (
	"errors"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(`# comment
driver = pgsql
connect = "host=db dbname=mail"
password_query = SELECT user, password \
  FROM users WHERE user = '%u';
`), "x.conf")
	if err != nil {
		t.Fatal(err)
	}
	if c.Driver != "pgsql" || c.Connect != "host=db dbname=mail" ||
		c.PasswordQuery != "SELECT user, password    FROM users WHERE user = '%u'" {
		t.Errorf("%+v", c)
	}
	for _, bad := range []string{
		"driver = oracle\nconnect = x\n",
		"connect = x\n",
		"driver = mysql\n",
		"driver = mysql\nconnect = x\niterate query = SELECT 1\n",
		"driver = mysql\nconnect = x\npassword_query = SELECT '%u\n",
		"driver = mysql\nconnect = x\npassword_query = SELECT %{nosuch}\n",
		"driver = mysql\nconnect = x\nuser_query = SELECT %\n",
		"driver = mysql\nconnect host\n",
	} {
		if _, err := ParseConfig(strings.NewReader(bad), "bad.conf"); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v, want ErrConfig", bad, err)
		}
	}
}

func TestCompile(t *testing.T) {
	dollar := func(n int) string { return "$" + string(rune('0'+n)) }
	for _, tc := range []struct {
		in, want string
		args     []string
	}{
		{"SELECT a FROM t WHERE u = '%u'", "SELECT a FROM t WHERE u = $1", []string{"%u"}},
		{"SELECT a FROM t WHERE n = %n AND d = \"%d\"", "SELECT a FROM t WHERE n = $1 AND d = $2", []string{"%n", "%d"}},
		{"SELECT a FROM t WHERE u = '%Ln@%{domain}' AND x LIKE 'a%%'", "SELECT a FROM t WHERE u = $1 AND x LIKE $2", []string{"%Ln@%{domain}", "a%%"}},
		{"SELECT 'it''s', u FROM t WHERE v = '%u' AND w = 'x\\'y'", "SELECT 'it''s', u FROM t WHERE v = $1 AND w = 'x\\'y'", []string{"%u"}},
		{"SELECT 100%% FROM t", "SELECT 100% FROM t", nil},
	} {
		q, err := compile(tc.in, dollar)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if q.text != tc.want || strings.Join(q.args, "|") != strings.Join(tc.args, "|") {
			t.Errorf("%q = %q %q, want %q %q", tc.in, q.text, q.args, tc.want, tc.args)
		}
	}
}

func TestParseConnect(t *testing.T) {
	s, err := ParseConnect(`host=db  password="a \"b\" c" user='x y' dbname=m`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{{"host", "db"}, {"password", `a "b" c`}, {"user", "x y"}, {"dbname", "m"}}
	if len(s) != len(want) {
		t.Fatalf("%q", s)
	}
	for i := range s {
		if s[i] != want[i] {
			t.Errorf("%d: %q, want %q", i, s[i], want[i])
		}
	}
	for _, bad := range []string{"host", "=x", "password=\"open", "a b=c"} {
		if _, err := ParseConnect(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("driver = mysql\nconnect = host=x\npassword_query = SELECT password FROM u WHERE n = '%u' AND d = %d\n")
	f.Add("driver = sqlite\nconnect = /x\nuser_query = SELECT '%%' || \"%{user}\" \\\n, 'a''b'\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfig(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		for _, q := range []string{c.PasswordQuery, c.UserQuery, c.IterateQuery} {
			if q == "" {
				continue
			}
			cq, err := compile(q, func(int) string { return "?" })
			if err != nil {
				t.Fatalf("validated query %q does not compile: %v", q, err)
			}
			if _, err := cq.values(nil); err != nil {
				t.Fatalf("%q: %v", q, err)
			}
		}
		ParseConnect(c.Connect)
	})
}

func TestIdentityRename(t *testing.T) {
	for _, tc := range []struct {
		user string
		row  map[string]string
		want string
	}{
		{"alice@example.com", map[string]string{"user": "Alice@Example.com"}, "Alice@Example.com"},
		{"alice@example.com", map[string]string{"username": "bob"}, "bob@example.com"},
		{"alice@example.com", map[string]string{"domain": "example.org"}, "alice@example.org"},
		{"alice@example.com", map[string]string{"username": "bob", "domain": "example.org"}, "bob@example.org"},
		{"alice", map[string]string{"username": "bob"}, "bob"},
		{"alice", map[string]string{"password": "x"}, "alice"},
	} {
		if got := identity(tc.user, tc.row).User; got != tc.want {
			t.Errorf("%s %v: %s, want %s", tc.user, tc.row, got, tc.want)
		}
	}
}

func TestCutMaxConns(t *testing.T) {
	c, n, err := cutMaxConns(`host=db maxconns=7 password="a b'c" dbname=x`)
	if err != nil || n != 7 {
		t.Fatalf("%q %d %v", c, n, err)
	}
	s, err := ParseConnect(c)
	if err != nil || len(s) != 3 || s[1] != (Setting{"password", "a b'c"}) {
		t.Errorf("%q: %q %v", c, s, err)
	}
	if c, n, _ := cutMaxConns("/var/lib/users.db"); c != "/var/lib/users.db" || n != 0 {
		t.Errorf("sqlite path: %q %d", c, n)
	}
	if _, _, err := cutMaxConns("host=x maxconns=0"); err == nil {
		t.Error("maxconns=0 accepted")
	}
}
