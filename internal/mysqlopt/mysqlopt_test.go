package mysqlopt

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// printDefaults runs MariaDB's own option-file reader, my_print_defaults,
// and returns what it prints in the form of Options: names normalised
// as Read normalises them, later settings replacing earlier ones.
func printDefaults(t *testing.T, bin, path string, groups ...string) (Options, error) {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"--defaults-file=" + path}, groups...)...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	o := Options{}
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		arg := strings.TrimPrefix(line, "--")
		name, value, has := strings.Cut(arg, "=")
		name = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		name = strings.TrimPrefix(name, "loose-")
		if !has {
			value = "1"
			for _, p := range []string{"skip-", "disable-"} {
				if strings.HasPrefix(name, p) {
					name, value = name[len(p):], "0"
				}
			}
			name = strings.TrimPrefix(name, "enable-")
		}
		o[name] = value
	}
	return o, nil
}

// TestMyPrintDefaultsDifferential: Read gives the same options as
// MariaDB's my_print_defaults for hand-written tricky files and for
// generated ones.
func TestMyPrintDefaultsDifferential(t *testing.T) {
	bin := testutil.RequireBinary(t, "my_print_defaults")
	dir := t.TempDir()
	inc := filepath.Join(dir, "conf.d")
	os.Mkdir(inc, 0o755)
	os.WriteFile(filepath.Join(inc, "b.cnf"), []byte("[client]\nport=3307\n"), 0o644)
	os.WriteFile(filepath.Join(inc, "a.cnf"), []byte("[client]\nport=3306\nsocket=/run/a.sock\n"), 0o644)
	os.WriteFile(filepath.Join(inc, "ignored.txt"), []byte("[client]\nport=1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "extra.cnf"), []byte("[yubin]\ndatabase = mail\n"), 0o644)
	cases := []string{
		"[client]\nuser = \"al#ice\" # c\npassword=p\\sw\\\\x\nskip-ssl\n[other]\nhost=nope\n[yubin]\nhost=h1 ; x\nloose_ssl_ca=/a b\n",
		"# top comment\n; another\n[CLIENT]\nUser=Bob\nuser=carol\npassword='it''s'\npassword2=\"a\\\"b\"\n",
		"[client]\nssl-verify-server-cert\nenable-compress\ndisable-reconnect\npassword = \"  spaced  \"\nhost=db#1\n",
		"[client]\n!includedir " + inc + "\n[yubin]\n!include " + filepath.Join(dir, "extra.cnf") + "\nhost = h2\n",
		"[client]\nssl_ca=/etc/ca.pem\t# tab comment\nconnect_timeout = 7\n[yubin] # comment\nuser=u\\tv\\rx\\by\\qz\n[client-mariadb]\nport=5\n[client-server]\nsocket=/s\n",
		"[mysqld]\nport=1\n[client]\n",
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 150 {
		cases = append(cases, randomFile(r))
	}
	for i, c := range cases {
		path := filepath.Join(dir, fmt.Sprintf("case%d.cnf", i))
		os.WriteFile(path, []byte(c), 0o644)
		want, werr := printDefaults(t, bin, path, append(ClientGroups, "yubin")...)
		got, gerr := Read(path, "yubin")
		if (werr != nil) != (gerr != nil) {
			t.Errorf("case %d %q: my_print_defaults error %v, Read error %v", i, c, werr, gerr)
			continue
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("case %d %q:\n Read             %q\n my_print_defaults %q", i, c, got, want)
		}
	}
}

// randomFile makes an option file from pieces that exercise quoting,
// comments, escapes and groups.
func randomFile(r *rand.Rand) string {
	names := []string{"user", "password", "host", "ssl_ca", "SSL-Cert", "port", "skip-ssl", "loose-socket", "enable-x"}
	values := []string{"a", "a b", `"q#uoted"`, `'single'`, `x\sy`, `back\\slash`, `tab\t`, `"unterminated`, `semi;colon`, `hash # here`, `  pad  `, `"a"b"`, `it\'s`, ""}
	groups := []string{"[client]", "[yubin]", "[other]", "[Client]", "[ yubin ]"}
	var b strings.Builder
	b.WriteString(groups[r.IntN(len(groups))] + "\n")
	for range 1 + r.IntN(8) {
		switch r.IntN(6) {
		case 0:
			b.WriteString(groups[r.IntN(len(groups))] + "\n")
		case 1:
			b.WriteString("# comment\n")
		case 2:
			b.WriteString(names[r.IntN(len(names))] + "\n")
		default:
			sp := []string{"", " ", "\t"}[r.IntN(3)]
			fmt.Fprintf(&b, "%s%s=%s%s\n", names[r.IntN(len(names))], sp, sp, values[r.IntN(len(values))])
		}
	}
	return b.String()
}

func TestReadErrorsAndLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	for _, c := range []struct{ name, body, want string }{
		{"nogroup.cnf", "user=x\n", "nogroup.cnf:1: found option without preceding group"},
		{"badgroup.cnf", "[client\n", "badgroup.cnf:1: wrong group definition"},
		{"loop.cnf", "[client]\n!include loop.cnf\n", "nested more than"},
		{"missing.cnf", "[client]\n!include nothere.cnf\n", "nothere.cnf"},
	} {
		_, err := Read(write(c.name, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	big := write("big.cnf", "[client]\n"+strings.Repeat("#", MaxFileSize))
	if _, err := Read(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	o, err := Read(write("ok.cnf", "[client]\nssl-verify-server-cert\nskip-ssl\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, set := o.Bool("ssl-verify-server-cert"); !v || !set {
		t.Errorf("ssl-verify-server-cert = %v %v", v, set)
	}
	if v, set := o.Bool("ssl"); v || !set {
		t.Errorf("skip-ssl: ssl = %v %v, want false, set", v, set)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("[client]\nuser = \"a#b\" # c\npassword=p\\sw\n!include x\n"))
	f.Add([]byte("[client]\nskip-ssl\n[yubin]\nhost='h'\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReader([]string{"yubin"})
		r.files = MaxFiles // includes fail instead of reading the disk
		_ = r.parse("fuzz.cnf", b, 0)
		for k := range r.opts {
			if k == "" {
				t.Fatalf("empty option name from %q", b)
			}
		}
	})
}
