package table

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReloadOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access")
	if err := os.WriteFile(path, []byte("example.com OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tbl, err := Open("hash:"+path, &Options{ReloadInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, ok, _ := tbl.Lookup(ctx, "example.com"); !ok || v != "OK" {
		t.Fatalf("before: %q %v", v, ok)
	}
	if err := os.WriteFile(path, []byte("example.com REJECT changed mind\nexample.net OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, _, _ := tbl.Lookup(ctx, "example.com")
		if v == "REJECT changed mind" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("table not reloaded, still %q", v)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A broken file keeps the previous contents.
	if err := os.WriteFile(path, []byte("example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tbl.(Reloader).Reload(); err == nil || !strings.Contains(err.Error(), "access:1: expected format") {
		t.Fatalf("reload of a bad file: %v", err)
	}
	if v, _, _ := tbl.Lookup(ctx, "example.net"); v != "OK" {
		t.Fatalf("previous contents lost: %q", v)
	}
}

func TestBadLinesReportFileLine(t *testing.T) {
	for _, c := range []struct{ typ, src, want string }{
		{"cidr", "192.0.2.0/24 OK\n10.1.2.3/8 x\n", "table:2: non-null host address bits"},
		{"cidr", "300.1.2.3 x\n", "table:1: bad net/mask pattern"},
		{"regexp", "/ok/ x\n/(unclosed/ y\n", "table:2: regular expression error"},
		{"regexp", "/a/q x\n", "table:1: unknown regexp option"},
		{"pcre", "/(a)\\1/ x\n", "table:1: regular expression error"},
		{"regexp", "endif\n", "table:1: ignoring ENDIF without matching IF"},
		{"regexp", "/(a)/ $2\n", "table:1: out of range replacement index"},
		{"hash", "good OK\n\nbad\n", "table:3: expected format"},
		// Absurd CIDRs: postmap warns "bad mask length/value" and skips them.
		{"cidr", "0.0.0.0/0 ok\n192.0.2.0/33 x\n", "table:2: bad net/mask pattern"},
		{"cidr", "::/129 x\n", "table:1: bad net/mask pattern"},
		{"cidr", "1.2.3.4/-1 x\n", "table:1: bad net/mask pattern"},
		{"cidr", "1.2.3.4/99999999999999999999 x\n", "table:1: bad net/mask pattern"},
		{"cidr", "01.2.3.4 x\n", "table:1: bad net/mask pattern"},
		{"cidr", "1.2.3.4/08 x\n", "table:1: non-null host address bits"},
		{"aliases", "a: b\nlog: /var/log/x\n", "table:2: alias \"log\": file target \"/var/log/x\" refused"},
		{"aliases", "a: b\nlist: \"|/bin/prog\"\n", "table:2: alias \"list\": command target \"|/bin/prog\" refused"},
	} {
		path := filepath.Join(t.TempDir(), "table")
		os.WriteFile(path, []byte(c.src), 0o644)
		opts := &Options{}
		if c.typ == "aliases" {
			c.typ, opts.Syntax = "hash", SyntaxAliases
		}
		_, err := Open(c.typ+":"+path, opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: got %v, want %q", c.typ, c.src, err, c.want)
		}
	}
}
