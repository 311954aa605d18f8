package table

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// diffAgainstPostmap writes src to a file, opens it here as typ:path and
// asks the real postmap for every key; the answers must be identical.
func diffAgainstPostmap(t *testing.T, typ, src string, keys []string, build bool) {
	t.Helper()
	cfg := testutil.PostfixConfigDir(t)
	path := filepath.Join(t.TempDir(), "table")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if build {
		testutil.Postmap(t, cfg, typ+":"+path)
	}
	want := testutil.PostmapQuery(t, cfg, typ+":"+path, keys)
	tbl, err := Open(typ+":"+path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	found := 0
	for _, k := range keys {
		got, ok, err := tbl.Lookup(context.Background(), k)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", k, err)
		}
		w, wok := want[k]
		if ok != wok || got != w {
			t.Errorf("%s key %q: got (%q, %v), postmap says (%q, %v)", typ, k, got, ok, w, wok)
		}
		if wok {
			found++
		}
	}
	if found == 0 || found == len(keys) {
		t.Fatalf("%s: %d of %d keys found: test data does not discriminate", typ, found, len(keys))
	}
	t.Logf("%s: %d keys compared, %d found", typ, len(keys), found)
}

func hashSource() (string, []string) {
	var b strings.Builder
	var keys []string
	b.WriteString("# access table\n\n")
	for i := 0; i < 150; i++ {
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, "user%d@Example%d.JP\tOK\n", i, i)
			keys = append(keys, fmt.Sprintf("user%d@example%d.jp", i, i), fmt.Sprintf("USER%d@EXAMPLE%d.JP", i, i))
		case 1:
			fmt.Fprintf(&b, "example%d.net   REJECT   go away %d  \n", i, i)
			keys = append(keys, fmt.Sprintf("example%d.net", i), fmt.Sprintf("sub.example%d.net", i))
		case 2:
			fmt.Fprintf(&b, "192.168.%d 550 5.7.1 no\n  thanks %d\n", i, i)
			keys = append(keys, fmt.Sprintf("192.168.%d", i), fmt.Sprintf("192.168.%d.1", i))
		case 3:
			fmt.Fprintf(&b, "postmaster%d@ DUNNO\n   # comment inside\n", i)
			keys = append(keys, fmt.Sprintf("postmaster%d@", i))
		case 4:
			fmt.Fprintf(&b, "  # indented comment\nkey%d value%d\nkey%d duplicate\n", i, i, i)
			keys = append(keys, fmt.Sprintf("key%d", i), fmt.Sprintf("Key%d", i))
		case 5:
			fmt.Fprintf(&b, "@dom%d.example PREPEND X-Tag: %d\n\n", i, i)
			keys = append(keys, fmt.Sprintf("@dom%d.example", i), fmt.Sprintf("dom%d.example", i))
		}
	}
	keys = append(keys, "nothing", "", "example", "user0@", "@example0.jp")
	return b.String(), keys
}

func TestPostmapTexthash(t *testing.T) {
	src, keys := hashSource()
	diffAgainstPostmap(t, "texthash", src, keys, false)
}

func TestPostmapHash(t *testing.T) {
	src, keys := hashSource()
	diffAgainstPostmap(t, "hash", src, keys, true)
}

func TestPostmapCIDR(t *testing.T) {
	var b strings.Builder
	var keys []string
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "10.%d.0.0/16 net%d\n", i, i)
		fmt.Fprintf(&b, "192.0.2.%d result %d\n", i, i)
		keys = append(keys, fmt.Sprintf("10.%d.1.2", i), fmt.Sprintf("10.%d.255.255", i+60),
			fmt.Sprintf("192.0.2.%d", i), fmt.Sprintf("192.0.2.%d", i+100))
	}
	b.WriteString("if 172.16.0.0/12\n172.16.5.0/24 inner\n!172.16.0.0/16 not-sixteen\nendif\n")
	b.WriteString("[2001:db8::]/32 v6 doc\n2001:db8:1::/48 never (shadowed)\n")
	b.WriteString("!203.0.113.0/24 outside-test-net-3\n")
	b.WriteString("::ffff:198.51.100.0/120 mapped\n")
	keys = append(keys, "172.16.5.9", "172.17.0.1", "172.16.9.9", "172.32.0.1",
		"2001:db8::1", "[2001:db8::2]", "2001:db8:1::1", "2001:db9::1", "::1",
		"203.0.113.7", "8.8.8.8", "198.51.100.7", "::ffff:198.51.100.8", "not-an-ip", "")
	diffAgainstPostmap(t, "cidr", b.String(), keys, false)
}

func regexpSource() (string, []string) {
	src := `# header checks style
/^Received: from .*spam-net\.com/ REJECT spam relay
/^Subject:.*(viagra|casino)/ DISCARD $1
/^(From|Sender): .*@(example\.(com|net))$/ WARN $2 via $1
!/^[A-Za-z-]+:|^X-/ DUNNO not a header
if /^X-Test-/
/^X-Test-(a|ab)(c|bcd)(d*)$/ groups [$1][$2][$3]
/^X-Test-([0-9]+)/ number ${1}
/^X-Test-CASE/i case-sensitive
endif
/^X-Multi:.*second/ multi
/^X-Any/ any $$ literal
/^X-(.*)$/ header $(1)
`
	keys := []string{
		"Received: from mail.spam-net.com (1.2.3.4)", "Received: from ok.example",
		"Subject: cheap VIAGRA now", "subject: casino night", "Subject: hello",
		"From: a@example.com", "Sender: b@example.net", "From: c@example.org",
		"X-Test-abcd", "X-Test-abcdd", "X-Test-42", "X-Test-case", "X-Test-CASE",
		"x-test-7", "X-Multi: first\n\tsecond line", "X-Any: thing", "X-Other: v", "X-",
		"plain", "", "Foo: bar", "X-Test-", "Received: from x.spam-net.com.evil",
	}
	return src, keys
}

func TestPostmapRegexp(t *testing.T) {
	src, keys := regexpSource()
	var more []string
	for i := 0; i < 200; i++ {
		more = append(more, fmt.Sprintf("X-Test-%d", i), fmt.Sprintf("Subject: n%d casino", i))
	}
	diffAgainstPostmap(t, "regexp", src, append(keys, more...), false)
}

func TestPostmapPCRE(t *testing.T) {
	cfg := testutil.PostfixConfigDir(t)
	if !slices.Contains(testutil.PostfixMapTypes(t, cfg), "pcre") {
		testutil.Unavailable(t, "postfix-pcre is not installed (postconf -m lists no pcre); .ci/run installs it")
	}
	src := strings.ReplaceAll(regexpSource0PCRE, "\t", "    ")
	_, keys := regexpSource()
	keys = append(keys, "X-NoDot: first\n second", "X-NoDot: second", "X-Ext:   word rest", "X-Lazy: aaaa",
		"Anchored here", "not Anchored", "X-Case: Exact", "X-Case: exact", "x-case: EXACT")
	for i := 0; i < 100; i++ {
		keys = append(keys, fmt.Sprintf("X-Test-%d", i), fmt.Sprintf("Subject: n%d CASINO", i),
			fmt.Sprintf("X-Lazy: %s", strings.Repeat("a", i%7+1)), fmt.Sprintf("X-Ext:  w%d rest", i))
	}
	diffAgainstPostmap(t, "pcre", src, keys, false)
}

const regexpSource0PCRE = `/^Received: from .*spam-net\.com/ REJECT spam relay
/^Subject:.*(viagra|casino)/ DISCARD $1
/^(From|Sender): .*@(example\.(com|net))$/ WARN $2 via $1
!/^[A-Za-z-]+:|^X-/ DUNNO not a header
if /^X-Test-/
/^X-Test-(a|ab)(c|bcd)(d*)$/ groups [$1][$2][$3]
/^X-Test-(\d+)/ number ${1}
endif
/^X-Multi:.*second/ multi
/^X-NoDot:.*second/s nodotall
/^X-Ext: \s+ (\w+) # comment/x extended $1
/^X-Lazy: (a+)(a*)/U lazy [$1][$2]
/Anchored/A anchored
/^X-Case: Exact/i exact
/^X-(.*?)$/ header $(1)
`
