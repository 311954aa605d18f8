package imap

import (
	"bufio"
	"compress/flate"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// zSession speaks IMAP over a COMPRESS=DEFLATE stream (RFC 4978).
type zSession struct {
	t  testing.TB
	fw *flate.Writer
	bw *bufio.Writer // a command goes out in one write
	br *bufio.Reader
	n  int
}

func newZSession(t testing.TB, w io.Writer, r io.Reader) *zSession {
	bw := bufio.NewWriterSize(w, 64<<10)
	fw, _ := flate.NewWriter(bw, flate.DefaultCompression)
	return &zSession{t: t, fw: fw, bw: bw, br: bufio.NewReader(flate.NewReader(r))}
}

func (z *zSession) do(cmd string) ([]string, string) {
	z.t.Helper()
	z.n++
	tag := fmt.Sprintf("z%d", z.n)
	io.WriteString(z.fw, tag+" "+cmd+"\r\n")
	z.fw.Flush()
	if err := z.bw.Flush(); err != nil {
		z.t.Fatal(err)
	}
	type res struct {
		lines  []string
		tagged string
		err    error
	}
	ch := make(chan res, 1)
	go func() {
		var r res
		for {
			var sb strings.Builder
			for {
				l, err := z.br.ReadString('\n')
				sb.WriteString(l)
				if err != nil {
					r.err = err
					ch <- r
					return
				}
				if m := literalRE.FindStringSubmatch(l); m != nil {
					var n int
					fmt.Sscan(m[1], &n)
					buf := make([]byte, n)
					if _, err := io.ReadFull(z.br, buf); err != nil {
						r.err = err
						ch <- r
						return
					}
					sb.Write(buf)
					continue
				}
				break
			}
			l := strings.TrimRight(sb.String(), "\r\n")
			if strings.HasPrefix(l, tag+" ") {
				r.tagged = strings.TrimPrefix(l, tag+" ")
				ch <- r
				return
			}
			r.lines = append(r.lines, l)
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			z.t.Fatalf("%s: reading the compressed stream: %v (got %q)", cmd, r.err, r.lines)
		}
		return r.lines, r.tagged
	case <-time.After(10 * time.Second):
		z.t.Fatalf("%s: no compressed answer in 10s", cmd)
	}
	return nil, ""
}

// TestDovecotCompress turns COMPRESS=DEFLATE on in Dovecot 2.3 (its
// imap_zlib plugin) and in yubin and compares the answers of commands
// sent and answered through the compressed streams, and the answers to
// the command's errors.
func TestDovecotCompress(t *testing.T) {
	testutil.RequireBinary(t, "imap")
	corpus := t.TempDir()
	buildDiffCorpus(t, filepath.Join(corpus, "Maildir"))
	dvRoot := testutil.SharedDir(t)
	dvHome := filepath.Join(dvRoot, "alice")
	copyTree(t, corpus, dvHome)
	testutil.ChownTree(t, dvHome, testutil.PlainUID, testutil.PlainGID)
	conf := dovecotIMAPConf(t, dvRoot)
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "mail_plugins = zlib\nprotocol imap {\n  mail_plugins = zlib imap_zlib\n}\n")
	f.Close()
	dv := startDovecotSession(t, conf, "alice", dvHome)
	yRoot := testutil.SharedDir(t)
	copyTree(t, corpus, filepath.Join(yRoot, "alice"))
	env := newTestEnvAt(t, yRoot, nil)
	yc := env.login(t, "alice", "secret")
	yb := yubinDiffSession{yc}

	runDiffSteps(t, dv, yb, []string{"COMPRESS", "COMPRESS FOO", "COMPRESS DEFLATE x", "COMPRESS DEFLATE"})
	dz := newZSession(t, dv.in, dv.br)
	yz := newZSession(t, yc.nc, yc.br)
	yc.nc.SetReadDeadline(time.Time{})
	runDiffSteps(t, dz, yz, []string{
		"COMPRESS DEFLATE",
		"SELECT INBOX",
		"FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)",
		"FETCH 5 BODY.PEEK[]",
		"APPEND INBOX {" + fmt.Sprint(len(bigMessage)) + "+}\r\n" + bigMessage,
		"NOOP",
		"FETCH * (RFC822.SIZE BODY.PEEK[TEXT]<0.100>)",
		"SEARCH TEXT compressible",
		"SORT (REVERSE SIZE) UTF-8 ALL",
		"BOGUS",
		"LOGOUT",
	})
}

// bigMessage is a message larger than the session's 16 KiB response
// buffer, so its FETCH spans several sync flushes.
var bigMessage = "Subject: big\r\nFrom: a@example.org\r\n\r\n" + strings.Repeat("compressible text line\r\n", 3000)

// A compressed command line that inflates far past the line limit ends
// the session like an uncompressed one (BYE), having read no more than
// the limit and the discard allowance into memory.
func TestCompressBomb(t *testing.T) {
	env := newTestEnv(t, func(s *Server) { s.MaxLineLength = 8192 })
	c := env.login(t, "alice", "secret")
	c.ok("COMPRESS DEFLATE")
	z := newZSession(t, c.nc, c.br)
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	go func() {
		io.WriteString(z.fw, "a SEARCH SUBJECT ")
		chunk := []byte(strings.Repeat("x", 1<<16))
		for i := 0; i < 1600; i++ { // 100 MiB inflated
			if _, err := z.fw.Write(chunk); err != nil {
				return
			}
			if err := z.bw.Flush(); err != nil {
				return
			}
		}
		z.fw.Flush()
		z.bw.Flush()
	}()
	l, err := z.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("got %q, %v; want a BYE", l, err)
	}
}

// A client that flushes with zlib's Z_PARTIAL_FLUSH (as mbsync does)
// gets each command answered at once (bytes from Python's zlib).
func TestCompressPartialFlush(t *testing.T) {
	env := newTestEnv(t, nil)
	c := env.login(t, "alice", "secret")
	c.ok("COMPRESS DEFLATE")
	br := bufio.NewReader(flate.NewReader(c.br))
	for i, cmd := range []string{"\xaa2T\xf0\xf3\xf7\x0f\xe0\xe5\x02\x08", "\xa0*#(\x03 "} {
		if _, err := io.WriteString(c.nc, cmd); err != nil {
			t.Fatal(err)
		}
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, err := br.ReadString('\n')
		if want := fmt.Sprintf("z%d OK", i+1); err != nil || !strings.HasPrefix(l, want) {
			t.Fatalf("command %d: %q, %v; want %s", i+1, l, err, want)
		}
	}
}
