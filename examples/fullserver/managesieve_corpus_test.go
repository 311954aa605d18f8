package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestPigeonholeManageSieveCorpusFullserver uploads every script of the
// sieve package's Pigeonhole corpus (the broken ones of errors.txt and
// the working ones of actions.txt) with CHECKSCRIPT and PUTSCRIPT to the
// fullserver's ManageSieve and to Dovecot's managesieved (Pigeonhole
// 2.3), both allowing the same extensions, and requires the same reply
// from both, word for word: OK for a script Pigeonhole accepts, and for
// one it refuses the same NO with the same error lines. The fullserver
// checks scripts with its own parser (sieve.Parse), not with sievec, so
// this is what a ManageSieve client (Roundcube, Thunderbird) shows the
// user for a broken script.
func TestPigeonholeManageSieveCorpusFullserver(t *testing.T) {
	t.Parallel()
	if testutil.LookBinary("managesieve") == "" || testutil.LookBinary("managesieve-login") == "" {
		testutil.Unavailable(t, "Dovecot's managesieve not found (Debian package dovecot-managesieved)")
	}
	var scripts []corpusScript
	for _, f := range []string{"errors.txt", "actions.txt", "handwritten_actions.txt"} {
		scripts = append(scripts, readSieveCorpus(t, "../../sieve/testdata/pigeonhole/"+f)...)
	}
	if len(scripts) < 300 {
		t.Fatalf("only %d corpus scripts read", len(scripts))
	}

	in := newInstance(t, "protocols = imap sieve\nmanagesieve_port = 0\n")
	os.MkdirAll(in.data, 0o755)
	in.addUsers("alice")
	in.start()
	y := dialManageSieve(t, "127.0.0.1:"+strconv.Itoa(in.ports["sieve"]))
	exts := y.capability("SIEVE")
	y.starttls()
	y.login("alice@localhost", "pw-alice")

	d := testutil.StartDovecot(t, testutil.DovecotConfig{
		Protocols: "sieve",
		Listeners: []string{"managesieve-login/sieve"},
		Extra: "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n" +
			"  sieve_extensions = " + exts + "\n}\n",
	})
	p := dialManageSieve(t, d.Addr(t, "managesieve-login/sieve"))
	if got := p.capability("SIEVE"); sortedWords(got) != sortedWords(exts) {
		t.Fatalf("SIEVE capabilities differ with the same sieve_extensions:\ndovecot: %s\nyubin:   %s", got, exts)
	}
	p.login("alice", "pw")

	same, refused := 0, 0
	for _, s := range scripts {
		for _, cmd := range []string{
			fmt.Sprintf("CHECKSCRIPT {%d+}\r\n%s", len(s.text), s.text),
			fmt.Sprintf("PUTSCRIPT \"corpus\" {%d+}\r\n%s", len(s.text), s.text),
		} {
			want, got := p.cmd(cmd), y.cmd(cmd)
			if want != got {
				t.Errorf("%s: %s\n--- script\n%s--- dovecot\n%s--- yubin\n%s", s.name, cmd[:strings.IndexByte(cmd, ' ')], s.text, want, got)
				continue
			}
			same++
			if strings.HasPrefix(want, "NO") {
				refused++
			}
		}
	}
	t.Logf("%d scripts, %d commands answered alike (%d of them refusals)", len(scripts), same, refused)
	if refused < 100 {
		t.Errorf("only %d refusals compared: the corpus's broken scripts did not reach the comparison", refused)
	}
}

type corpusScript struct{ name, text string }

// readSieveCorpus reads the sieve package's corpus format: "### NAME
// [messages]" then the script.
func readSieveCorpus(t *testing.T, path string) []corpusScript {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusScript
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "### "); ok {
			out = append(out, corpusScript{name: strings.TrimSpace(name)})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].text += line + "\n"
		}
	}
	return out
}

func sortedWords(s string) string {
	w := strings.Fields(s)
	for i := range w {
		for j := i + 1; j < len(w); j++ {
			if w[j] < w[i] {
				w[i], w[j] = w[j], w[i]
			}
		}
	}
	return strings.Join(w, " ")
}

// msClient is a minimal ManageSieve client for differential tests.
type msClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	w    io.Writer
	caps string // the last capability response
}

func dialManageSieve(t *testing.T, addr string) *msClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &msClient{t: t, conn: conn, r: bufio.NewReader(conn), w: conn}
	c.caps = c.response()
	return c
}

var msLiteral = regexp.MustCompile(`\{(\d+)\}\r\n$`)

// response reads up to and including the OK/NO/BYE line, with the
// literal such a line may end in.
func (c *msClient) response() string {
	c.t.Helper()
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			c.t.Fatalf("read: %v after %q", err, b.String())
		}
		final := strings.HasPrefix(line, "OK") || strings.HasPrefix(line, "NO") || strings.HasPrefix(line, "BYE")
		if m := msLiteral.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n > 1<<20 {
				c.t.Fatalf("literal of %d bytes", n)
			}
			lit := make([]byte, n)
			if _, err := io.ReadFull(c.r, lit); err != nil {
				c.t.Fatal(err)
			}
			b.Write(lit)
			rest, err := c.r.ReadString('\n') // the rest of the line
			b.WriteString(rest)
			if err != nil {
				c.t.Fatalf("read: %v after %q", err, b.String())
			}
		}
		if final {
			return b.String()
		}
	}
}

func (c *msClient) cmd(s string) string {
	c.t.Helper()
	fmt.Fprintf(c.w, "%s\r\n", s)
	return c.response()
}

// capability returns the value of one capability of the last
// capability response.
func (c *msClient) capability(name string) string {
	for _, l := range strings.Split(c.caps, "\r\n") {
		if v, ok := strings.CutPrefix(l, `"`+name+`" "`); ok {
			return strings.TrimSuffix(v, `"`)
		}
	}
	c.t.Fatalf("no %s capability in %q", name, c.caps)
	return ""
}

func (c *msClient) starttls() {
	c.t.Helper()
	if got := c.cmd("STARTTLS"); !strings.HasPrefix(got, "OK") {
		c.t.Fatalf("STARTTLS: %q", got)
	}
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true}) // the self-signed certificate
	if err := tc.Handshake(); err != nil {
		c.t.Fatal(err)
	}
	c.conn, c.w = tc, tc
	c.r.Reset(tc)
	c.caps = c.response()
}

func (c *msClient) login(user, pass string) {
	c.t.Helper()
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	if got := c.cmd(`AUTHENTICATE "PLAIN" "` + resp + `"`); !strings.HasPrefix(got, "OK") {
		c.t.Fatalf("login %s: %q", user, got)
	}
}
