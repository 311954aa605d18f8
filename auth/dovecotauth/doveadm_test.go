package dovecotauth

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestDoveadmAgainstServer points Dovecot's own clients at yubin's
// sockets: "doveadm auth test -a" speaks the auth-client protocol and
// "doveadm user -a" the auth-userdb protocol.
func TestDoveadmAgainstServer(t *testing.T) {
	bin := testutil.RequireBinary(t, "doveadm")
	sock, master, _ := startServer(t, testService(t))
	conf := filepath.Join(testutil.SharedDir(t), "empty.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		st := time.Now()
		out, err := exec.Command(bin, append([]string{"-c", conf}, args...)...).CombinedOutput()
		t.Logf("%v: %v", args, time.Since(st))
		return string(out), err
	}
	out, err := run("auth", "test", "-a", sock, "Plain@Example.ORG", "secret")
	if err != nil || !strings.Contains(out, "auth succeeded") || !strings.Contains(out, "user=plain@example.org") {
		t.Errorf("doveadm auth test: %v\n%s", err, out)
	}
	out, err = run("auth", "test", "-a", sock, "plain@example.org", "wrong")
	if err == nil || !strings.Contains(out, "auth failed") {
		t.Errorf("doveadm auth test wrong password: %v\n%s", err, out)
	}
	out, err = run("user", "-a", master, "alice@example.org")
	if err != nil || !strings.Contains(out, "home\t/srv/mail/example.org/alice") || !strings.Contains(out, "mail\tmaildir:~/Maildir") ||
		!strings.Contains(out, "uid\t5000") {
		t.Errorf("doveadm user: %v\n%s", err, out)
	}
	out, err = run("user", "-a", master, "nosuch@example.org")
	if err == nil || !strings.Contains(out, "doesn't exist") {
		t.Errorf("doveadm user unknown: %v\n%s", err, out)
	}
	out, err = run("user", "-a", master, "*")
	if err != nil || !strings.Contains(out, "sha512crypt@example.org") || !strings.Contains(out, "guest@example.org") {
		t.Errorf("doveadm user '*': %v\n%s", err, out)
	}
}
