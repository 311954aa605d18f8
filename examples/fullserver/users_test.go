package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// TestDoveadmVerifiesAddUserHash: "fullserver adduser" writes a
// passwd-file line whose {SHA512-CRYPT} hash Dovecot's doveadm verifies.
func TestDoveadmVerifiesAddUserHash(t *testing.T) {
	t.Parallel()
	doveadm := testutil.RequireBinary(t, "doveadm")
	data := filepath.Join(t.TempDir(), "data")
	code, _, stderr := runCmd(t, "s3cret pass\n", "-data", data, "adduser", "User1@Example.JP")
	if code != 0 {
		t.Fatalf("adduser exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(data, "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(b))
	name, rest, _ := strings.Cut(line, ":")
	hash, fields, _ := strings.Cut(rest, ":")
	if name != "user1@example.jp" || !strings.HasPrefix(hash, "{SHA512-CRYPT}$6$") || fields != "::::::"[1:] {
		t.Fatalf("passwd line = %q", line)
	}
	if ok, err := auth.Verify(hash, "s3cret pass"); !ok || err != nil {
		t.Errorf("auth.Verify = %v, %v", ok, err)
	}
	out, err := exec.Command(doveadm, "pw", "-t", hash, "-p", "s3cret pass").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verified") {
		t.Errorf("doveadm pw -t: %v %s", err, out)
	}
	// A second user is appended; the same name again is refused.
	if code, _, stderr := runCmd(t, "other\n", "-data", data, "adduser", "user2@example.jp"); code != 0 {
		t.Fatalf("second adduser: %s", stderr)
	}
	if code, _, stderr := runCmd(t, "x\n", "-data", data, "adduser", "USER1@example.jp"); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Errorf("duplicate adduser: exit %d %s", code, stderr)
	}
	users, _ := passwdUsers(filepath.Join(data, "passwd"))
	if strings.Join(users, " ") != "user1@example.jp user2@example.jp" {
		t.Errorf("users = %q", users)
	}
}

func TestAddUserRefusesBadInput(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct{ stdin, name, want string }{
		{"pw\n", "a:b", "bad user name"},
		{"\n", "ok@example.jp", "empty password"},
	} {
		code, _, stderr := runCmd(t, tc.stdin, "-data", data, "adduser", tc.name)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("adduser %q: exit %d, %s", tc.name, code, stderr)
		}
	}
}

func TestDemoUserMadeOnceWhenPasswdEmpty(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	in.start()
	out := in.out()
	if !strings.Contains(out, "user: demo@localhost") || !strings.Contains(out, "password: ") {
		t.Fatalf("no demo user in welcome text:\n%s", out)
	}
	pw := strings.TrimSpace(out[strings.Index(out, "password: ")+len("password: "):][:16])
	b, err := os.ReadFile(filepath.Join(in.data, "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	name, rest, _ := strings.Cut(strings.TrimSpace(string(b)), ":")
	hash, _, _ := strings.Cut(rest, ":")
	if ok, _ := auth.Verify(hash, pw); name != "demo@localhost" || !ok {
		t.Errorf("passwd %q does not verify password %q", b, pw)
	}
	// Once: a second start finds a user and makes no new one.
	in.cmd.Process.Signal(syscall.SIGTERM)
	<-in.done
	again := &instance{t: t, data: in.data, cfg: in.cfg, ports: in.ports, done: make(chan struct{})}
	again.start()
	if strings.Contains(again.out(), "demo") || strings.Contains(again.out(), "password") {
		t.Errorf("second start printed a demo user:\n%s", again.out())
	}
	if b2, _ := os.ReadFile(filepath.Join(in.data, "passwd")); string(b2) != string(b) {
		t.Errorf("passwd changed on the second start:\n%s", b2)
	}
}
