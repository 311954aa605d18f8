package imap

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// The differential test's machinery: a Maildir corpus, interactive
// sessions with Dovecot's imap binary (pre-authenticated, one process per
// session, as Dovecot runs one imap process per connection), and the
// normalisation that keeps only what both servers must agree on.

// diffMessages is the corpus: MIME variety (plain, quoted-printable,
// base64, nested message/rfc822, an empty part, 8-bit text, encoded
// words, alternative parts), delivered in this order.
var diffMessages = []string{
	dovecotMessages[0],
	dovecotMessages[1],
	"From: carol@example.net\r\nTo: alice@example.org\r\nSubject: empty part\r\nDate: Tue, 2 Jan 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n44GC44GE44GG44GI44GKCg==\r\n--b1--\r\n",
	"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\r\nTo: alice@example.org\r\nSubject: alternative\r\nDate: Wed, 3 Jan 2024 12:30:00 +0100\r\nMessage-ID: <alt@example.fr>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBonjour =E0 tous,=\r\n soft break\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>Bonjour \xc3\xa0 tous</p>\r\n--alt--\r\n",
	"From: dan@example.org\r\nTo: alice@example.org\r\nSubject: big attachment\r\nDate: Thu, 4 Jan 2024 08:00:00 -0500\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--zz\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + strings.Repeat("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n", 40) + "--zz--\r\n",
	"From: erin@example.org\r\nTo: alice@example.org\r\nSubject: 8bit body\r\nDate: Fri, 5 Jan 2024 18:00:00 +0900\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe6\x9c\xac\xe6\x96\x87\r\n",
	"From: frank@example.org\r\nTo: alice@example.org\r\nSubject: to be expunged\r\nDate: Sat, 6 Jan 2024 07:00:00 +0000\r\n\r\ngone soon\r\n",
	"From: grace@example.org\r\nTo: alice@example.org\r\nSubject: reply\r\nDate: Sun, 7 Jan 2024 07:00:00 +0000\r\nIn-Reply-To: <alt@example.fr>\r\nReferences: <alt@example.fr>\r\n\r\nreply body\r\n",
	"From: heidi@example.org\r\nTo: alice@example.org\r\nSubject: qp only\r\nDate: Mon, 8 Jan 2024 07:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E6=97=A5=E6=9C=AC=\r\n=E8=AA=9E\r\n",
	"From: ivan@example.org\r\nTo: alice@example.org\r\nSubject: newest\r\nDate: Tue, 9 Jan 2024 07:00:00 +0000\r\n\r\nnew mail\r\n",
}

// diffFlags are the flags the corpus gives message i (by index); the
// last two messages stay in new/ without flags, so they are \Recent to
// the first session that selects the mailbox.
var diffFlags = []store.Flags{
	{System: store.Seen},
	{System: store.Seen | store.Answered, Keywords: []string{"$Forwarded"}},
	{System: store.Flagged, Keywords: []string{"$Important", "NonJunk"}},
	{System: store.Seen, Keywords: []string{"Work"}},
	{},
	{System: store.Seen | store.Draft},
	{System: store.Seen},
	{System: store.Seen, Keywords: []string{"NonJunk"}},
}

// buildDiffCorpus writes the corpus into the Maildir at dir (INBOX, and
// an "Archive/2024" child with a subscribed child "Lists/go" whose parent
// is not subscribed), with one message expunged so UIDs have a gap.
func buildDiffCorpus(t *testing.T, dir string) {
	t.Helper()
	fillDiffCorpus(t, dir)
	// Only the last two INBOX messages stay in new/ (\Recent to whoever
	// selects first); the others are read into cur/ by an earlier
	// client. yubin's own index goes, as in a Maildir Dovecot kept.
	news, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	// In delivery order: by the store's sequence number ("Q<n>"), not
	// by name, since the microseconds before it are not zero-padded
	// ("M99999" sorts after "M100000"), which left other messages than
	// the last two in new/ and made the test flaky.
	sort.Slice(news, func(i, j int) bool { return deliverySeq(news[i]) < deliverySeq(news[j]) })
	for _, p := range news[:len(news)-2] {
		if err := os.Rename(p, filepath.Join(dir, "cur", filepath.Base(p)+":2,")); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := filepath.Glob(filepath.Join(dir, "*yubin-index*"))
	idx2, _ := filepath.Glob(filepath.Join(dir, ".*", "*yubin-index*"))
	for _, p := range append(idx, idx2...) {
		os.Remove(p)
	}
}

// deliverySeq is the Q<n> sequence number of a file name maildir.Store
// gave a delivery.
func deliverySeq(path string) int {
	m := deliverySeqRE.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var deliverySeqRE = regexp.MustCompile(`Q(\d+)\.`)

func fillDiffCorpus(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	s, err := maildir.Open(dir, maildir.Options{NoSync: true, AutoMailboxes: store.DefaultAutoMailboxes()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, name := range []string{"Archive", "Archive/2024", "Lists/go", "Lists/rust", "work"} {
		if err := s.CreateMailbox(ctx, name, store.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"Lists/go", "Archive", "work"} {
		if err := s.Subscribe(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	var gone uint32
	for i, m := range diffMessages {
		var f store.Flags
		if i < len(diffFlags) {
			f = diffFlags[i]
		}
		res, err := s.Deliver(ctx, "INBOX", strings.NewReader(m), store.AppendOptions{Flags: f, InternalDate: time.Date(2024, 1, 1+i, 12, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m, "to be expunged") {
			gone = res.UID
		}
	}
	for i, m := range diffMessages[:3] {
		if _, err := s.Deliver(ctx, "Archive/2024", strings.NewReader(m), store.AppendOptions{Flags: diffFlags[i], InternalDate: time.Date(2023, 6, 1+i, 12, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	// Expunge one message the way another program would: its file goes
	// away, its uidlist record stays until the next sync.
	mb, err := s.OpenMailbox(ctx, "INBOX", store.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var file string
	mb.Messages(ctx, store.UIDSet{{Start: gone, Stop: gone}}, func(m *store.MessageInfo) error {
		file = m.FileName
		return nil
	})
	mb.Close()
	matches, _ := filepath.Glob(filepath.Join(dir, "*", file+"*"))
	if file == "" || len(matches) != 1 {
		t.Fatalf("expunged message's file: %q %q", file, matches)
	}
	if err := os.Remove(matches[0]); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the directory tree src to dst (files, directories,
// modes).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dovecotIMAPConf writes a private config for Dovecot's imap binary under
// dir and returns its path.
func dovecotIMAPConf(t testing.TB, dir string) string {
	t.Helper()
	conf := filepath.Join(dir, "dovecot.conf")
	cfg := fmt.Sprintf("base_dir = %s\nstate_dir = %s\nlog_path = /dev/stderr\nssl = no\nprotocols = imap\nmail_location = maildir:~/Maildir\n", dir, dir) +
		// yubin's namespace: "/" as separator, Dovecot's example
		// special-use mailboxes.
		"namespace inbox {\n  inbox = yes\n  separator = /\n" +
		"  mailbox Drafts {\n    special_use = \\Drafts\n    auto = subscribe\n  }\n" +
		"  mailbox Junk {\n    special_use = \\Junk\n    auto = subscribe\n  }\n" +
		"  mailbox Trash {\n    special_use = \\Trash\n    auto = subscribe\n  }\n" +
		"  mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }\n}\n"
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// diffSession is one IMAP session of the differential test.
type diffSession interface {
	// do sends a tagged command and returns the untagged responses and
	// the tagged completion (tag removed).
	do(cmd string) ([]string, string)
}

// yubinDiffSession drives yubin over TCP.
type yubinDiffSession struct{ c *client }

func (s yubinDiffSession) do(cmd string) ([]string, string) { return s.c.cmd(cmd) }

// dovecotDiffSession drives one pre-authenticated Dovecot imap process
// over its standard input and output.
type dovecotDiffSession struct {
	t   testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	br  *bufio.Reader
	n   int
	out chan string
}

// startDovecotSession starts Dovecot's imap for user with home (owned by
// PlainUID when the test runs as root) and reads its PREAUTH greeting.
func startDovecotSession(t testing.TB, conf, user, home string) *dovecotDiffSession {
	t.Helper()
	bin := testutil.RequireBinary(t, "imap")
	cmd := exec.Command(bin, "-c", conf)
	cmd.Env = []string{"USER=" + user, "HOME=" + home, "PATH=/usr/bin:/bin"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testutil.PlainUID, Gid: testutil.PlainGID}}
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &dovecotDiffSession{t: t, cmd: cmd, in: in, br: bufio.NewReader(out), out: make(chan string, 1)}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if stderr.Len() > 0 {
			t.Logf("dovecot imap stderr: %s", stderr.String())
		}
	})
	if g := s.line(); !strings.HasPrefix(g, "* PREAUTH") {
		t.Fatalf("dovecot greeting %q (stderr %s)", g, stderr.String())
	}
	return s
}

// line reads one response line with its literals, bounded in time.
func (s *dovecotDiffSession) line() string {
	s.t.Helper()
	go func() {
		var sb strings.Builder
		for {
			l, err := s.br.ReadString('\n')
			sb.WriteString(l)
			if err != nil {
				s.out <- sb.String() + "\x00EOF"
				return
			}
			if m := literalRE.FindStringSubmatch(l); m != nil {
				var n int
				fmt.Sscan(m[1], &n)
				buf := make([]byte, n)
				if _, err := io.ReadFull(s.br, buf); err != nil {
					s.out <- sb.String() + "\x00EOF"
					return
				}
				sb.Write(buf)
				continue
			}
			s.out <- strings.TrimRight(sb.String(), "\r\n")
			return
		}
	}()
	select {
	case l := <-s.out:
		if strings.HasSuffix(l, "\x00EOF") {
			s.t.Fatalf("dovecot imap ended: %q", l)
		}
		return l
	case <-time.After(10 * time.Second):
		s.t.Fatalf("dovecot imap: no response in 10s")
	}
	return ""
}

func (s *dovecotDiffSession) do(cmd string) ([]string, string) {
	s.t.Helper()
	s.n++
	tag := fmt.Sprintf("t%d", s.n)
	if _, err := io.WriteString(s.in, tag+" "+cmd+"\r\n"); err != nil {
		s.t.Fatal(err)
	}
	var lines []string
	for {
		l := s.line()
		if strings.HasPrefix(l, tag+" ") {
			return lines, strings.TrimPrefix(l, tag+" ")
		}
		lines = append(lines, l)
	}
}

// Normalisation: what may legitimately differ between two correct
// servers is taken out before comparing.
var (
	// The text after a status response (and its code) is free.
	statusTextRE = regexp.MustCompile(`^((?:\* )?(?:OK|NO|BAD|BYE|PREAUTH))( \[[^\]]*\])?(?: .*)?$`)
	// Mod-sequences are each server's own counter.
	modseqRE = regexp.MustCompile(`(MODSEQ \(?|HIGHESTMODSEQ )\d+`)
	// Parenthesised flag lists whose order is free.
	flagListRE = regexp.MustCompile(`(FLAGS|PERMANENTFLAGS|LIST|LSUB) \(([^()]*)\)`)
	// Dates of messages appended during the test.
	internalDateRE = regexp.MustCompile(`(INTERNALDATE|SAVEDATE) "[^"]*"`)
	statusSizeRE   = regexp.MustCompile(`(UIDVALIDITY|MAILBOXID) [^ )\]]+`)
	// ESEARCH's tag is the client's.
	esearchTagRE = regexp.MustCompile(`^\* ESEARCH \(TAG "[^"]*"\)`)
	// A quoted string that could have been an atom.
	quotedAtomRE  = regexp.MustCompile(`"([A-Za-z0-9/._$-]+)"`)
	fetchModseqRE = regexp.MustCompile(`(\(| )MODSEQ \(<m>\) ?`)
	fetchUIDRE    = regexp.MustCompile(`(\(| )UID \d+ ?`)
	childFlagsRE  = regexp.MustCompile(`\\Has(No)?Children ?`)
	// Special-use attributes are optional in LIST without SPECIAL-USE
	// (RFC 6154) and in LSUB.
	specialUseRE      = regexp.MustCompile(` ?\\(Drafts|Junk|Sent|Trash|Archive|All|Flagged)\b`)
	flagsOnlyFetchRE  = regexp.MustCompile(`^\* \d+ FETCH \((MODSEQ \(<m>\) )?FLAGS \([^)]*\)( MODSEQ \(<m>\))?\)$`)
	modseqOnlyFetchRE = regexp.MustCompile(`^\* \d+ FETCH \(MODSEQ \(\d+\)\)$`)
	copyUIDRE         = regexp.MustCompile(`(COPYUID|APPENDUID) \d+`)
	statusListRE      = regexp.MustCompile(`^(\* STATUS \S+) \((.*)\)$`)
)

// dropUntagged are untagged responses the servers word differently by
// design (capabilities, ID, Dovecot's and yubin's MAILBOXID).
func dropUntagged(l string) bool {
	for _, p := range []string{"* CAPABILITY ", "* ID ", "* OK [MAILBOXID", "* OK [CAPABILITY"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// normalizeLine rewrites one response line of cmd into its comparable
// form.
func normalizeLine(cmd, l string) string {
	l = esearchTagRE.ReplaceAllString(l, "* ESEARCH (TAG)")
	// Dovecot ends an empty THREAD response with a space; RFC 5256's
	// grammar has none.
	if l == "* THREAD " {
		l = "* THREAD"
	}
	if strings.HasPrefix(l, "* METADATA ") {
		l = sortMetadataEntries(l)
	}
	// A literal8 may always stand for a literal in a BINARY response.
	l = strings.ReplaceAll(l, "~{", "{")
	up := strings.ToUpper(cmd)
	if strings.HasPrefix(l, "* LIST") || strings.HasPrefix(l, "* LSUB") || strings.HasPrefix(l, "* STATUS") {
		l = quotedAtomRE.ReplaceAllString(l, "$1")
		if !strings.Contains(up, "SPECIAL-USE") {
			l = specialUseRE.ReplaceAllString(l, "")
			l = strings.Replace(l, "( ", "(", 1)
		}
		if m := statusListRE.FindStringSubmatch(l); m != nil {
			f := strings.Fields(m[2])
			var pairs []string
			for i := 0; i+1 < len(f); i += 2 {
				pairs = append(pairs, f[i]+" "+f[i+1])
			}
			sort.Strings(pairs)
			l = m[1] + " (" + strings.Join(pairs, " ") + ")"
		}
		if strings.HasPrefix(up, "LIST (") && !strings.Contains(up, "CHILDREN") {
			// CHILDREN data is optional unless asked for (RFC 5258).
			l = childFlagsRE.ReplaceAllString(l, "")
		}
	}
	if m := statusTextRE.FindStringSubmatch(l); m != nil && !strings.HasPrefix(l, "* OK [PERMANENTFLAGS") {
		l = m[1] + m[2]
	}
	l = modseqRE.ReplaceAllString(l, "${1}<m>")
	l = copyUIDRE.ReplaceAllString(l, "${1} <v>")
	l = internalDateRE.ReplaceAllString(l, `${1} "<date>"`)
	l = statusSizeRE.ReplaceAllString(l, "${1} <v>")
	l = flagListRE.ReplaceAllStringFunc(l, func(s string) string {
		m := flagListRE.FindStringSubmatch(s)
		fs := strings.Fields(m[2])
		sort.Slice(fs, func(i, j int) bool { return strings.ToLower(fs[i]) < strings.ToLower(fs[j]) })
		return m[1] + " (" + strings.Join(fs, " ") + ")"
	})
	if strings.HasPrefix(l, "* OK [PERMANENTFLAGS") {
		l = l[:strings.Index(l, "]")+1]
	}
	if strings.Contains(l, " FETCH (") {
		// With CONDSTORE on, yubin adds MODSEQ to FETCH responses that
		// carry FLAGS (RFC 7162 3.1.4.1), Dovecot does not; UID in
		// unsolicited FETCH responses is optional.
		if !strings.Contains(up, "MODSEQ") {
			l = fetchModseqRE.ReplaceAllString(l, "$1")
			l = strings.Replace(l, "( ", "(", 1)
			l = strings.Replace(l, " )", ")", 1)
		}
		if !strings.Contains(up, "UID") {
			l = fetchUIDRE.ReplaceAllString(l, "$1")
			l = strings.Replace(l, "( ", "(", 1)
			l = strings.Replace(l, " )", ")", 1)
		}
	}
	return l
}

// unordered are commands whose untagged responses come in an order the
// RFCs leave to the server.
func unordered(cmd string) bool {
	verb := strings.ToUpper(strings.Fields(cmd)[0])
	switch verb {
	case "SELECT", "EXAMINE", "LIST", "LSUB", "STATUS", "ENABLE":
		return true
	}
	return false
}

// normalize returns the comparable transcript of one command.
func normalize(cmd string, untagged []string, tagged string) string {
	var out []string
	up := strings.ToUpper(cmd)
	for _, l := range untagged {
		if dropUntagged(l) {
			continue
		}
		// Dovecot reports other sessions' flag changes during FETCH
		// too; yubin at the next command that may (both are allowed).
		if strings.Contains(up, "FETCH") && !strings.Contains(up, "FLAGS") && flagsOnlyFetchRE.MatchString(normalizeLine(cmd, l)) {
			continue
		}
		// Dovecot reports the MODSEQ of a \Seen set by FETCH apart.
		if strings.Contains(up, "FETCH") && !strings.Contains(up, "MODSEQ") && modseqOnlyFetchRE.MatchString(l) {
			continue
		}
		out = append(out, normalizeLine(cmd, l))
	}
	if unordered(cmd) {
		sort.Strings(out)
	}
	return strings.Join(append(out, normalizeLine(cmd, tagged)), "\n")
}

// sortMetadataEntries puts the entry-value pairs of a METADATA response
// in name order (the order is free; Dovecot's file dict has none).
func sortMetadataEntries(l string) string {
	i := strings.Index(l, " (")
	if i < 0 || !strings.HasSuffix(l, ")") {
		return l
	}
	body := l[i+2 : len(l)-1]
	var pairs []string
	for body != "" {
		sp := strings.IndexByte(body, ' ')
		if sp < 0 {
			return l
		}
		name, rest := body[:sp], body[sp+1:]
		var val string
		if strings.HasPrefix(rest, "{") {
			end := strings.Index(rest, "}\r\n")
			var n int
			if end < 0 {
				return l
			}
			fmt.Sscan(rest[1:end], &n)
			if end+3+n > len(rest) {
				return l
			}
			val, rest = rest[:end+3+n], rest[end+3+n:]
		} else {
			sp := strings.IndexByte(rest, ' ')
			if sp < 0 {
				sp = len(rest)
			}
			val, rest = rest[:sp], rest[sp:]
		}
		pairs = append(pairs, name+" "+val)
		body = strings.TrimPrefix(rest, " ")
	}
	sort.Strings(pairs)
	return l[:i+2] + strings.Join(pairs, " ") + ")"
}
