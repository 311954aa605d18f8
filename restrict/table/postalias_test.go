package table

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPostaliasAliases builds an aliases(5) file with postalias(1) and
// compares, for every key, the targets Postfix stores (postalias -q) with
// ours: continuation lines, comments, quoted names, duplicates (first
// wins), case folding, :include:, |command and /file targets, white space
// around ':' and ','.
func TestPostaliasAliases(t *testing.T) {
	bin := testutil.RequireBinary(t, "postalias")
	cfg := testutil.PostfixConfigDir(t)
	var b strings.Builder
	var keys []string
	b.WriteString("# aliases(5)\npostmaster: root\nsysadmin: gacanepa, jdoe\n\n")
	keys = append(keys, "postmaster", "sysadmin", "Sysadmin", "SYSADMIN", "gacanepa", "")
	for i := 0; i < 120; i++ {
		switch i % 8 {
		case 0:
			fmt.Fprintf(&b, "list%d: alice%d,\n  bob%d,\n\tcarol%d@example.org\n", i, i, i, i)
			keys = append(keys, fmt.Sprintf("list%d", i), fmt.Sprintf("alice%d", i))
		case 1:
			fmt.Fprintf(&b, "\"quoted name %d\": dave%d\n", i, i)
			keys = append(keys, fmt.Sprintf("quoted name %d", i), fmt.Sprintf("\"quoted name %d\"", i))
		case 2:
			fmt.Fprintf(&b, "Upper%d: Someone%d\n", i, i)
			keys = append(keys, fmt.Sprintf("upper%d", i), fmt.Sprintf("UPPER%d", i))
		case 3:
			fmt.Fprintf(&b, "dup%d: first%d\ndup%d: second%d\n", i, i, i, i)
			keys = append(keys, fmt.Sprintf("dup%d", i))
		case 4:
			fmt.Fprintf(&b, "inc%d: :include:/etc/postfix/list%d, owner%d\n", i, i, i)
			keys = append(keys, fmt.Sprintf("inc%d", i))
		case 5:
			fmt.Fprintf(&b, "cmd%d: \"|/usr/bin/prog -x %d\", /var/spool/file%d\n", i, i, i)
			keys = append(keys, fmt.Sprintf("cmd%d", i))
		case 6:
			fmt.Fprintf(&b, "spaced%d   :   a%d  ,  b%d  \n  # indented comment\n", i, i, i)
			keys = append(keys, fmt.Sprintf("spaced%d", i), fmt.Sprintf("spaced%d   ", i))
		case 7:
			fmt.Fprintf(&b, "angle%d: <x%d@example.net>, y%d@example.net\n# comment %d\n", i, i, i, i)
			keys = append(keys, fmt.Sprintf("angle%d", i), fmt.Sprintf("comment %d", i))
		}
	}
	path := filepath.Join(t.TempDir(), "aliases")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", cfg, "hash:"+path).CombinedOutput(); err != nil {
		t.Fatalf("postalias: %v: %s", err, out)
	}
	var in bytes.Buffer
	for _, k := range keys {
		in.WriteString(k + "\n")
	}
	cmd := exec.Command(bin, "-c", cfg, "-q", "-", "hash:"+path)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("postalias -q: %v", err)
		}
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		// postalias -q - prints "key:<TAB>value".
		if k, v, ok := strings.Cut(line, ":\t"); ok {
			want[k] = v
		}
	}
	tbl, err := Open("hash:"+path, &Options{Syntax: SyntaxAliases, Aliases: AliasOptions{AllowCommands: true, AllowFiles: true}})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, k := range keys {
		got, ok, err := tbl.Lookup(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		w, wok := want[k]
		if ok != wok {
			t.Errorf("key %q: found %v, postalias %v (%q)", k, ok, wok, w)
			continue
		}
		if !ok {
			continue
		}
		found++
		gt, err1 := SplitTargets(got)
		wt, err2 := SplitTargets(w)
		if err1 != nil || err2 != nil || !slices.Equal(gt, wt) {
			t.Errorf("key %q: targets %q, postalias %q (%q)", k, gt, wt, w)
		}
	}
	if found == 0 || found == len(keys) {
		t.Fatalf("%d of %d keys found: test data does not discriminate", found, len(keys))
	}
	t.Logf("aliases: %d keys compared, %d found", len(keys), found)
	// Without the options, the same file is refused at its first command line.
	if _, err := Open("hash:"+path, &Options{Syntax: SyntaxAliases}); err == nil || !strings.Contains(err.Error(), "aliases:") || !strings.Contains(err.Error(), "command target") {
		t.Errorf("commands not refused with file:line: %v", err)
	}
}

// TestPostmapStaticInline compares static: and inline: tables with
// postmap -q.
func TestPostmapStaticInline(t *testing.T) {
	cfg := testutil.PostfixConfigDir(t)
	keys := []string{"a", "A", "b", "key with space", "c", "x@example.org", "", "missing", "{", "d"}
	for _, ref := range []string{
		"static:OK",
		"static:{REJECT go away}",
		"inline:{a=1, B=2, { c = three words }, x@example.org=REJECT, { d = e=f } }",
	} {
		want := testutil.PostmapQuery(t, cfg, ref, keys)
		tbl, err := Open(ref, nil)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		for _, k := range keys {
			if k == "" {
				continue // postmap -q - skips empty lines
			}
			got, ok, _ := tbl.Lookup(context.Background(), k)
			w, wok := want[k]
			if ok != wok || got != w {
				t.Errorf("%s key %q: got (%q, %v), postmap (%q, %v)", ref, k, got, ok, w, wok)
			}
		}
	}
}
