package imap

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// appendRaw appends a message through a raw session.
func (c *client) appendRaw(box, msg string) {
	c.t.Helper()
	c.n++
	tag := fmt.Sprintf("t%d", c.n)
	c.send(fmt.Sprintf("%s APPEND %s {%d+}", tag, box, len(msg)))
	c.send(msg)
	for {
		l := c.line()
		if strings.HasPrefix(l, "* ") {
			continue
		}
		if !strings.HasPrefix(l, tag+" OK") {
			c.t.Fatalf("append: %q", l)
		}
		return
	}
}

// serverState summarises every mailbox (name, MESSAGES, UIDNEXT,
// UNSEEN) so two runs can be compared.
func serverState(t *testing.T, env *testEnv) string {
	c := env.login(t, "alice", "secret")
	lines := c.ok(`LIST "" "*" RETURN (STATUS (MESSAGES UIDNEXT UNSEEN))`)
	var st []string
	for _, l := range lines {
		if strings.HasPrefix(l, "* STATUS") {
			st = append(st, l)
		}
	}
	sort.Strings(st)
	c.ok("LOGOUT")
	return strings.Join(st, "\n")
}

func localFiles(t *testing.T, dir string) []string {
	var files []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && (filepath.Base(filepath.Dir(p)) == "cur" || filepath.Base(filepath.Dir(p)) == "new") {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	return files
}

// realAuth is the real *auth.Service over a passwd-file holding alice
// and bob, without the failure delay.
func realAuth(t *testing.T) *auth.Service {
	p := filepath.Join(t.TempDir(), "passwd")
	writeFile(t, p, "alice:{PLAIN}secret::::::\nbob:{PLAIN}pw::::::\n")
	return &auth.Service{PassDB: &auth.PasswdFile{Path: p}, FailureDelay: -1, PenaltyBase: -1}
}

// TestMbsyncTwoWay syncs several folders both ways with isync's mbsync
// over STARTTLS, authenticated by the real auth.Service, twice: the second run must change nothing on either
// side and leave no duplicates.
func TestMbsyncTwoWay(t *testing.T) {
	bin := testutil.RequireBinary(t, "mbsync")
	fx := testutil.NewTLS(t)
	env := newTestEnv(t, func(s *Server) {
		s.TLSConfig = fx.ServerConfig()
		s.Authenticator = realAuth(t)
	})
	c := env.login(t, "alice", "secret")
	c.ok("CREATE Archive")
	c.ok("CREATE Projects/Yubin")
	for i := 0; i < 3; i++ {
		c.appendRaw("INBOX", fmt.Sprintf("From: a@example.org\r\nSubject: inbox %d\r\nMessage-ID: <in%d@x>\r\n\r\nbody %d\r\n", i, i, i))
	}
	c.appendRaw("Archive", "From: a@example.org\r\nSubject: old\r\n\r\narchived\r\n")
	c.appendRaw("Projects/Yubin", "From: a@example.org\r\nSubject: proj\r\n\r\nproject\r\n")
	c.ok("LOGOUT")

	dir := t.TempDir()
	local := filepath.Join(dir, "local")
	// A folder that exists only locally, with one message.
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(local, "LocalOnly", sub), 0o700)
	}
	writeFile(t, filepath.Join(local, "LocalOnly", "cur", "1700000000.1.host:2,S"), "From: me@example.org\r\nSubject: local\r\n\r\nlocal body\r\n")
	host, port, _ := net.SplitHostPort(env.addr)
	conf := filepath.Join(dir, "mbsyncrc")
	writeFile(t, conf, fmt.Sprintf(`IMAPAccount yubin
Host %s
Port %s
User alice
Pass secret
SSLType STARTTLS
CertificateFile %s

IMAPStore remote
Account yubin

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, host, port, fx.CertFile, local, local))
	run := func() string {
		cmd := exec.Command(bin, "-c", conf, "-a")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s", err, out)
		}
		return string(out)
	}
	run()
	state1 := serverState(t, env)
	files1 := localFiles(t, local)
	if !strings.Contains(state1, `"LocalOnly" (MESSAGES 1`) {
		t.Fatalf("local folder not uploaded:\n%s", state1)
	}
	wantLocal := map[string]int{"INBOX": 3, "Archive": 1, "Projects/Yubin": 1, "LocalOnly": 1}
	for box, n := range wantLocal {
		got := 0
		for _, f := range files1 {
			if strings.HasPrefix(f, box+"/cur/") || strings.HasPrefix(f, box+"/new/") {
				got++
			}
		}
		if got != n {
			t.Fatalf("local %s has %d messages, want %d: %q", box, got, n, files1)
		}
	}
	run()
	state2 := serverState(t, env)
	files2 := localFiles(t, local)
	if state1 != state2 {
		t.Fatalf("second run changed the server:\n%s\n---\n%s", state1, state2)
	}
	if strings.Join(files1, "\n") != strings.Join(files2, "\n") {
		t.Fatalf("second run changed local files:\n%q\n%q", files1, files2)
	}
}
