package sieve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// The differential tests run Pigeonhole's sieve-test and sievec (Debian
// dovecot-sieve) on the corpus in testdata/pigeonhole and compare their
// actions and error lines with this package's.

// corpusCase is one script of a corpus file.
type corpusCase struct {
	name   string
	msgs   []string // message names; nil: all
	script string
}

// readCorpus reads a corpus file: cases start with "### name" and an
// optional "[msg1 msg2]" list of message names.
func readCorpus(t *testing.T, path string) []corpusCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusCase
	var cur *corpusCase
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "### ") {
			f := strings.TrimSpace(line[4:])
			c := corpusCase{name: f}
			if i := strings.IndexByte(f, '['); i >= 0 {
				c.name = strings.TrimSpace(f[:i])
				c.msgs = strings.Fields(strings.Trim(f[i:], "[]"))
			}
			out = append(out, c)
			cur = &out[len(out)-1]
			continue
		}
		if cur != nil {
			cur.script += line + "\n"
		}
	}
	return out
}

// pigeonhole is a private configuration for sieve-test and sievec.
type pigeonhole struct {
	dir, conf  string
	sieveTest  string
	sievec     string
	personal   string
	global     string
	envelope   Envelope
	extensions []string
}

var phExtensions = []string{"fileinto", "reject", "envelope", "encoded-character", "vacation", "subaddress",
	"comparator-i;ascii-numeric", "relational", "regex", "imap4flags", "copy", "include",
	"variables", "body", "enotify", "environment", "mailbox", "date", "index", "ihave",
	"duplicate", "editheader", "vacation-seconds"}

func startPigeonhole(t *testing.T) *pigeonhole {
	t.Helper()
	p := &pigeonhole{sieveTest: testutil.RequireBinary(t, "sieve-test"), sievec: testutil.RequireBinary(t, "sievec")}
	p.dir = t.TempDir()
	// sieve-test drops privileges to mail_uid (nobody), which must
	// read the scripts and messages.
	for d := p.dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p.personal = filepath.Join(p.dir, "personal")
	p.global = filepath.Join(p.dir, "global")
	for _, d := range []string{p.personal, p.global, filepath.Join(p.dir, "mail"), filepath.Join(p.dir, "run")} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o777)
	}
	p.conf = filepath.Join(p.dir, "dovecot.conf")
	conf := fmt.Sprintf(`base_dir = %[1]s/run
mail_location = maildir:%[1]s/mail
mail_uid = nobody
mail_gid = nogroup
recipient_delimiter = +
log_path = /dev/stderr
plugin {
  sieve = file:%[1]s/personal;active=%[1]s/active.sieve
  sieve_global = %[1]s/global
  sieve_extensions = +editheader +vacation-seconds
}
`, p.dir)
	if err := os.WriteFile(p.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p.envelope = Envelope{From: "sender@example.com", To: "rcpt+tag@example.org"}
	p.extensions = phExtensions
	// Scripts for include.
	inc := map[string]string{
		"personal/inc1.sieve":  "require \"fileinto\";\nfileinto \"from-inc1\";\n",
		"personal/inc2.sieve":  "require [\"include\", \"variables\"];\nglobal \"gv\";\nset \"gv\" \"fromInc2\";\nreturn;\nkeep;\n",
		"personal/loop.sieve":  "require \"include\";\ninclude :personal \"loop2\";\n",
		"personal/loop2.sieve": "require \"include\";\ninclude :personal \"loop\";\n",
		"global/g1.sieve":      "require \"fileinto\";\nif header :contains \"subject\" \"test\" { fileinto \"global-test\"; }\n",
		"personal/stop.sieve":  "stop;\n",
		"personal/bad.sieve":   "foo;\n",
	}
	for name, src := range inc {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// includer loads scripts from the same directories Pigeonhole uses.
func (p *pigeonhole) includer() Includer {
	return IncluderFunc(func(loc IncludeLocation, name string) ([]byte, error) {
		dir := p.personal
		if loc == IncludeGlobal {
			dir = p.global
		}
		b, err := os.ReadFile(filepath.Join(dir, name+".sieve"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotFound
		}
		return b, err
	})
}

func (p *pigeonhole) run(ctx context.Context, script, msg string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.sieveTest, "-c", p.conf, "-f", p.envelope.From, "-r", p.envelope.To, script, msg)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if strings.Contains(stderr.String(), "final result: failed") {
		return "RUNTIME ERROR\nimplicit keep: INBOX\n", nil
	}
	if err != nil {
		return "", fmt.Errorf("sieve-test: %v: %s%s", err, stderr.String(), out.String())
	}
	return normPigeonhole(out.String()), nil
}

var reFlagsLine = regexp.MustCompile(`^\s+\+ add IMAP flags: (.*)$`)

// normPigeonhole turns sieve-test's action listing into the compact
// form formatResult produces.
func normPigeonhole(s string) string {
	var b strings.Builder
	section := ""
	lines := strings.Split(s, "\n")
	inMsg := false
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "START MESSAGE"):
			inMsg = true
			continue
		case strings.HasPrefix(l, "END MESSAGE"):
			inMsg = false
			continue
		case inMsg:
			continue
		case l == "Performed actions:":
			section = ""
			continue
		case l == "Implicit keep:":
			section = "implicit keep: "
			continue
		}
		t := strings.TrimSpace(l)
		switch {
		case t == "" || t == "(none)" && section == "":
		case t == "(none)":
			b.WriteString("implicit keep: none\n")
		case strings.HasPrefix(t, "* store message in folder: "):
			b.WriteString(section + "store " + strings.TrimPrefix(t, "* store message in folder: ") + "\n")
		case reFlagsLine.MatchString(l):
			b.WriteString("  flags " + normFlags(strings.Fields(reFlagsLine.FindStringSubmatch(l)[1])) + "\n")
		case t == "+ create mailbox if it does not exist":
			b.WriteString("  create\n")
		case t == "+ preserve implicit keep":
			b.WriteString("  copy\n")
		case strings.HasPrefix(t, "* redirect message to: "):
			b.WriteString("redirect " + strings.Trim(strings.TrimPrefix(t, "* redirect message to: "), "<>") + "\n")
		case t == "* discard":
			b.WriteString("discard\n")
		case strings.HasPrefix(t, "* reject message with reason: "):
			b.WriteString("reject " + strings.TrimPrefix(t, "* reject message with reason: ") + "\n")
		case t == "* send vacation message:":
			b.WriteString("vacation\n")
		case strings.HasPrefix(t, "=> seconds : "):
			b.WriteString("  seconds " + strings.TrimPrefix(t, "=> seconds : ") + "\n")
		case strings.HasPrefix(t, "=> subject : "):
			b.WriteString("  subject " + strings.TrimPrefix(t, "=> subject : ") + "\n")
		case strings.HasPrefix(t, "=> from    : "):
			b.WriteString("  from " + strings.TrimPrefix(t, "=> from    : ") + "\n")
		case strings.HasPrefix(t, "=> handle  : "):
			b.WriteString("  handle " + strings.TrimPrefix(t, "=> handle  : ") + "\n")
		case strings.HasPrefix(t, "* send notification with method '"):
			b.WriteString("notify " + strings.TrimSuffix(strings.TrimPrefix(t, "* send notification with method '"), "':") + "\n")
		case strings.HasPrefix(t, "+ To: "):
			b.WriteString("  to " + strings.TrimPrefix(t, "+ To: ") + "\n")
		case strings.HasPrefix(t, "=> importance   : "):
			b.WriteString("  importance " + strings.TrimPrefix(t, "=> importance   : ") + "\n")
		default:
			// Other detail lines (notification subject, recipients
			// header) are not compared.
		}
	}
	return b.String()
}

// normFlags lists flags as Pigeonhole prints them: system flags
// lowercased in its bit order, then keywords in order.
func normFlags(fs []string) string {
	var sys, kw []string
	for _, f := range fs {
		if strings.HasPrefix(f, `\`) {
			sys = append(sys, strings.ToLower(f))
		} else {
			kw = append(kw, f)
		}
	}
	rank := map[string]int{`\answered`: 1, `\flagged`: 2, `\deleted`: 3, `\seen`: 4, `\draft`: 5}
	sort.SliceStable(sys, func(i, j int) bool { return rank[sys[i]] < rank[sys[j]] })
	return strings.Join(append(sys, kw...), " ")
}

// formatResult renders a Result as normPigeonhole renders sieve-test's.
func formatResult(r *Result) string {
	if r.Err != nil {
		return "RUNTIME ERROR\nimplicit keep: INBOX\n"
	}
	var b strings.Builder
	for _, a := range r.Actions {
		switch a.Kind {
		case ActKeep, ActFileInto:
			m := a.Mailbox
			if a.Kind == ActKeep {
				m = "INBOX"
			}
			b.WriteString("store " + printable(m) + "\n")
			if a.Create {
				b.WriteString("  create\n")
			}
			if len(a.Flags) > 0 {
				b.WriteString("  flags " + normFlags(a.Flags) + "\n")
			}
			if a.Copy {
				b.WriteString("  copy\n")
			}
		case ActRedirect:
			b.WriteString("redirect " + a.Address + "\n")
			if a.Copy {
				b.WriteString("  copy\n")
			}
		case ActDiscard:
			b.WriteString("discard\n")
		case ActReject, ActEreject:
			b.WriteString("reject " + printable(a.Reason) + "\n")
		case ActVacation:
			v := a.Vacation
			b.WriteString("vacation\n")
			fmt.Fprintf(&b, "  seconds %d\n", int(v.Period/time.Second))
			if v.subjectGiven {
				b.WriteString("  subject " + v.Subject + "\n")
			}
			if v.From != "" {
				b.WriteString("  from " + v.From + "\n")
			}
			b.WriteString("  handle " + v.Handle + "\n")
		case ActNotify:
			b.WriteString("notify mailto:\n")
			fmt.Fprintf(&b, "  importance %s\n", a.Notify.Importance)
			to, _ := parseMailtoURI(a.Notify.Method)
			for _, x := range to {
				b.WriteString("  to " + x + "\n")
			}
		}
	}
	if r.ImplicitKeep {
		b.WriteString("implicit keep: store INBOX\n")
		if len(r.KeepFlags) > 0 {
			b.WriteString("  flags " + normFlags(r.KeepFlags) + "\n")
		}
	} else {
		b.WriteString("implicit keep: none\n")
	}
	return b.String()
}

// TestPigeonholeActions runs every corpus script on its messages under
// sieve-test and this package and requires the same actions.
func TestPigeonholeActions(t *testing.T) {
	p := startPigeonhole(t)
	cases := readCorpus(t, "testdata/pigeonhole/actions.txt")
	msgDir, _ := filepath.Abs("testdata/pigeonhole/messages")
	names, err := filepath.Glob(filepath.Join(msgDir, "*.eml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no messages: %v", err)
	}
	msgs := map[string][]byte{}
	var all []string
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(filepath.Base(n), ".eml")
		msgs[base] = b
		all = append(all, base)
		// Copies readable by nobody.
		if err := os.WriteFile(filepath.Join(p.dir, base+".eml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(all)
	type job struct {
		c   corpusCase
		msg string
	}
	var jobs []job
	for i, c := range cases {
		path := filepath.Join(p.dir, fmt.Sprintf("s%03d.sieve", i))
		if err := os.WriteFile(path, []byte(c.script), 0o644); err != nil {
			t.Fatal(err)
		}
		ms := c.msgs
		if ms == nil {
			ms = all
		}
		for _, m := range ms {
			if msgs[m] == nil {
				t.Fatalf("case %s: no message %q", c.name, m)
			}
			jobs = append(jobs, job{c: cases[i], msg: m})
		}
	}
	idx := map[string]int{}
	for i, c := range cases {
		if _, dup := idx[c.name]; dup {
			t.Fatalf("duplicate case name %s", c.name)
		}
		idx[c.name] = i
	}
	t.Logf("%d scripts, %d runs", len(cases), len(jobs))
	var mu sync.Mutex
	failures := 0
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(j job) {
			defer wg.Done()
			defer func() { <-sem }()
			spath := filepath.Join(p.dir, fmt.Sprintf("s%03d.sieve", idx[j.c.name]))
			want, err := p.run(context.Background(), spath, filepath.Join(p.dir, j.msg+".eml"))
			var got string
			s, perr := Parse([]byte(j.c.script), WithExtensions(p.extensions...), WithIncluder(p.includer()), WithName(j.c.name))
			if perr != nil {
				got = "PARSE ERROR " + perr.Error()
			} else {
				res := s.Run(context.Background(), ParseMessage(msgs[j.msg]), &Env{Envelope: p.envelope, Location: time.UTC,
					Environment: map[string]string{"location": "MS", "phase": "post"},
					// sieve-test's empty Maildir has INBOX only.
					Mailboxes: inboxOnly{}})
				got = formatResult(res)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if perr == nil {
					failures++
					t.Errorf("%s on %s: Pigeonhole failed but we accept the script: %v", j.c.name, j.msg, err)
				}
				return
			}
			if got != want {
				failures++
				t.Errorf("%s on %s:\n--- script\n%s--- Pigeonhole\n%s--- yubin\n%s", j.c.name, j.msg, j.c.script, want, got)
			}
		}(j)
	}
	wg.Wait()
	t.Logf("%d of %d runs differ", failures, len(jobs))
}

var reErrLine = regexp.MustCompile(`: line (\d+): error: `)

// firstErrors returns the errors of err from the first that is not a
// warning on.
func firstErrors(err error) []*Error {
	es := Errors(err)
	for len(es) > 0 && es[0].Warning {
		es = es[1:]
	}
	return es
}

// TestPigeonholeErrors requires the first error sievec reports for each
// bad script to be on the line Parse reports and to read word for word
// as sievec's.

func TestPigeonholeErrors(t *testing.T) {
	p := startPigeonhole(t)
	cases := readCorpus(t, "testdata/pigeonhole/errors.txt")
	var mu sync.Mutex
	sameText, worded := 0, 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, c := range cases {
		path := filepath.Join(p.dir, fmt.Sprintf("e%03d.sieve", i))
		if err := os.WriteFile(path, []byte(c.script), 0o644); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(c corpusCase, path string) {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, p.sievec, "-c", p.conf, path, path+".svbin")
			out, err := cmd.CombinedOutput()
			want := "ok"
			if err != nil {
				m := reErrLine.FindSubmatch(out)
				if m == nil {
					want = "error without line"
				} else {
					want = "line " + string(m[1])
				}
			}
			got := "ok"
			_, perr := Parse([]byte(c.script), WithExtensions(p.extensions...), WithIncluder(p.includer()))
			if perr != nil {
				es := firstErrors(perr)
				if len(es) == 0 || es[0].Pos.Line == 0 {
					got = "error without line"
				} else {
					got = fmt.Sprintf("line %d", es[0].Pos.Line)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if m := reErrText.FindSubmatch(out); m != nil && perr != nil {
				if es := firstErrors(perr); len(es) > 0 {
					worded++
					// (The script's name, for an included one, is
					// compared by the line test above, not here.)
					if fmt.Sprintf("line %d: error: %s.", es[0].Pos.Line, es[0].Msg) == "line "+string(m[1])+": error: "+string(m[2]) {
						sameText++
					}
				}
			}
			if got != want {
				t.Errorf("%s: sievec %s, yubin %s\n--- script\n%s--- sievec\n%s--- yubin\n%v", c.name, want, got, c.script, out, perr)
			}
		}(c, path)
	}
	wg.Wait()
	t.Logf("%d scripts; the first error reads as sievec's in %d of %d", len(cases), sameText, worded)
	// ManageSieve sends these words to the user: every first error
	// must read as sievec's. (The fullserver's
	// TestPigeonholeManageSieveCorpusFullserver compares whole replies
	// against managesieved.)
	if sameText != worded {
		t.Errorf("%d of %d first errors read as sievec's, want all", sameText, worded)
	}
}

var reErrText = regexp.MustCompile(`: line (\d+): error: (.*)`)

// printable replaces control characters with '?' as sieve-test does.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// inboxOnly is a MailboxChecker for a store with INBOX alone.
type inboxOnly struct{}

func (inboxOnly) MailboxExists(_ context.Context, name string) bool {
	return strings.EqualFold(name, "INBOX")
}
