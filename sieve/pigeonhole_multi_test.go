package sieve

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// normMulti turns sieve-test's output for several scripts (-s) into the
// final result: every script's actions and the last one's implicit keep.
func normMulti(out string) string {
	sections := strings.Split(out, "## Executing script: ")
	var b strings.Builder
	for i, sec := range sections[1:] {
		sec = strings.ReplaceAll(sec, " * keep\n", " * store message in folder: INBOX\n")
		n := normPigeonhole(sec)
		last := i == len(sections)-2
		for _, l := range strings.SplitAfter(n, "\n") {
			if l == "" {
				continue
			}
			if strings.HasPrefix(l, "implicit keep: ") {
				if !last {
					break
				}
			}
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestPigeonholeMultiscript runs sieve_before-style sequences (sieve-test
// -s) and RunScripts on the same scripts: which scripts run after which
// actions, and the flags they share.
func TestPigeonholeMultiscript(t *testing.T) {
	p := startPigeonhole(t)
	scripts := map[string]string{
		"flag":     `require "imap4flags"; addflag "\\Flagged";`,
		"fileinto": `require "fileinto"; fileinto "x";`,
		"keep":     `keep;`,
		"stop":     `stop;`,
		"discard":  `discard;`,
		"copy":     `require ["fileinto", "copy"]; fileinto :copy "c";`,
		"main":     `require ["fileinto", "imap4flags"]; fileinto "y";`,
		"empty":    `# nothing`,
		"hasflag":  `require ["fileinto", "imap4flags"]; if hasflag "\\Flagged" { fileinto "hadflag"; }`,
		"redirect": `redirect "r@example.net";`,
	}
	parsed := map[string]*Script{}
	for name, src := range scripts {
		if err := os.WriteFile(filepath.Join(p.dir, name+".sieve"), []byte(src+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		parsed[name] = mustParse(t, src)
	}
	msg := "From: a@example.com\r\nTo: rcpt@example.org\r\nSubject: multi\r\n\r\nbody\r\n"
	mpath := filepath.Join(p.dir, "multi.eml")
	os.WriteFile(mpath, []byte(msg), 0o644)
	for _, seq := range [][]string{
		{"flag", "main"}, {"fileinto", "main"}, {"keep", "main"}, {"stop", "main"}, {"discard", "main"},
		{"flag", "empty"}, {"flag", "hasflag"}, {"copy", "main"}, {"redirect", "main"}, {"flag", "keep", "hasflag"},
		{"copy", "flag", "empty"},
	} {
		args := []string{"-c", p.conf}
		var ss []*Script
		for _, s := range seq[:len(seq)-1] {
			args = append(args, "-s", filepath.Join(p.dir, s+".sieve"))
			ss = append(ss, parsed[s])
		}
		args = append(args, filepath.Join(p.dir, seq[len(seq)-1]+".sieve"), mpath)
		ss = append(ss, parsed[seq[len(seq)-1]])
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, p.sieveTest, args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("sieve-test %v: %v\n%s", seq, err, out)
		}
		want := normMulti(string(out))
		got := formatResult(RunScripts(context.Background(), ParseMessage([]byte(msg)), &Env{Envelope: p.envelope}, ss...))
		if got != want {
			t.Errorf("%s:\n--- Pigeonhole\n%s--- yubin\n%s", strings.Join(seq, " + "), want, got)
		}
	}
}
