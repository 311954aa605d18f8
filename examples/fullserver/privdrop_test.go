package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// TestChooseOwner: the decision who the host runs as when started as
// root.
func TestChooseOwner(t *testing.T) {
	users := map[string]*account{
		"yubin":  {name: "yubin", uid: 990, gid: 990},
		"nobody": {name: "nobody", uid: 65534, gid: 65534},
		"mail2":  {name: "mail2", uid: 65534, gid: 100}, // nobody's uid by another name
	}
	lookup := func(name string) (*account, error) {
		if name == "root" {
			return nil, errors.New(`mail_owner "root" is root: refusing to handle mail as root`)
		}
		if a, ok := users[name]; ok {
			return a, nil
		}
		return nil, errNoUser
	}
	for _, tc := range []struct {
		name             string
		set, allowShared bool
		want, warn, err  string
	}{
		{name: "yubin", want: "yubin"},
		{name: "yubin", set: true, want: "yubin"},
		{name: "ghost", err: "useradd --system --home-dir /var/lib/yubin --shell /usr/sbin/nologin ghost"},
		{name: "ghost", set: true, allowShared: true, err: `mail_owner "ghost" is not a user`},
		{name: "ghost", allowShared: true, want: "nobody", warn: "running as nobody because allow_nobody_mail_owner = yes"},
		{name: "nobody", set: true, err: "allow_nobody_mail_owner = yes"},
		{name: "mail2", set: true, err: "is shared with other programs"},
		{name: "nobody", set: true, allowShared: true, want: "nobody"},
		{name: "root", set: true, allowShared: true, err: "refusing to handle mail as root"},
	} {
		a, warn, err := chooseOwner(tc.name, tc.set, tc.allowShared, lookup)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: err %v, want %q", tc, err, tc.err)
			}
		case err != nil:
			t.Errorf("%+v: %v", tc, err)
		case a.name != tc.want || !strings.Contains(warn, tc.warn) || (tc.warn == "") != (warn == ""):
			t.Errorf("%+v: got %s, warning %q", tc, a.name, warn)
		}
	}
	if _, _, err := chooseOwner("ghost", false, false, lookup); err == nil || !strings.Contains(err.Error(), "useradd --system --home-dir /var/lib/yubin --shell /usr/sbin/nologin ghost") {
		t.Errorf("no useradd hint: %v", err)
	}
}

// TestRefusesNobodyMailOwner: started as root on a host whose mail_owner
// is nobody, the server refuses to start and says how to make the
// dedicated user.
func TestRefusesNobodyMailOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	in := newInstance(t, "allow_nobody_mail_owner = no\n")
	code, stdout, stderr := runCmd(t, "", "-config", in.cfg)
	if code == 0 || !strings.Contains(stderr, "useradd --system --home-dir /var/lib/yubin --shell /usr/sbin/nologin yubin") || strings.Contains(stdout, "running") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

// TestDedicatedMailOwnerOwnsFiles: as root with a dedicated system user
// (made and removed by the test) as mail_owner, everything the host
// creates in its data directory (passwd from adduser, TLS key and
// certificate, Maildir, the delivered message) belongs to that user,
// with Dovecot's modes: directories that hold mail or keys 0700, mail
// and key files 0600.
func TestDedicatedMailOwnerOwnsFiles(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	useradd := testutil.RequireBinary(t, "useradd")
	userdel := testutil.RequireBinary(t, "userdel")
	var rnd [3]byte
	rand.Read(rnd[:])
	name := "yubint" + hex.EncodeToString(rnd[:])
	if out, err := exec.Command(useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		testutil.Unavailable(t, "useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(userdel, name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)

	in := newInstance(t, "mail_owner = "+name+"\nallow_nobody_mail_owner = no\n")
	if code, _, stderr := runCmd(t, "pw-alice\n", "-config", in.cfg, "adduser", "alice@localhost"); code != 0 {
		t.Fatalf("adduser: %s", stderr)
	}
	in.start()
	python(t, pyPrelude+`
s = smtplib.SMTP('127.0.0.1', P('SMTP'))
s.sendmail('x@example.org', ['alice@localhost'], 'Subject: owned\r\n\r\nbody\r\n')
s.quit()
`, "SMTP="+strconv.Itoa(in.ports["smtp"]))
	newDir := filepath.Join(in.data, "mail", "localhost", "alice", "Maildir", "new")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ents, _ := os.ReadDir(newDir); len(ents) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message in %s", newDir)
		}
	}
	private := func(rel string) bool {
		for _, p := range []string{"mail", "tls", "tmp", "hold", "queue", "passwd", "fullserver.pid"} {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				return true
			}
		}
		return false
	}
	seen := 0
	filepath.WalkDir(in.data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return nil // a temporary file gone meanwhile
		}
		rel, _ := filepath.Rel(in.data, path)
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != uid {
			t.Errorf("%s: owned by uid %d, not %s (%d)", rel, st.Uid, name, uid)
		}
		mode := fi.Mode().Perm()
		switch {
		case rel == "tls/cert.pem" || fi.Mode()&fs.ModeSocket != 0 || rel == ".":
		case !private(rel):
			t.Errorf("%s: unexpected file (mode %o)", rel, mode)
		case fi.IsDir() && mode != 0o700:
			t.Errorf("%s: directory mode %o, want 700", rel, mode)
		case !fi.IsDir() && mode != 0o600:
			t.Errorf("%s: file mode %o, want 600", rel, mode)
		}
		seen++
		return nil
	})
	if seen < 10 {
		t.Errorf("only %d entries under %s", seen, in.data)
	}
}

// TestEnsureOwnerCreatesOnlyTheDefault: started as root with mail_owner
// left at its default and no such user, the host creates the system user
// and runs as it (the README's first start on a fresh machine); a
// mail_owner set in main.cf that does not exist is refused without
// creating anything, and a failed useradd is reported.
func TestEnsureOwnerCreatesOnlyTheDefault(t *testing.T) {
	users := map[string]bool{}
	var created []string
	owner := func() (*account, string, error) {
		return chooseOwner("yubin", false, false, func(name string) (*account, error) {
			if !users[name] {
				return nil, errNoUser
			}
			return &account{name: name, uid: 990, gid: 990}, nil
		})
	}
	create := func(name string) error { created = append(created, name); users[name] = true; return nil }

	a, warn, err := ensureOwner("yubin", false, owner, create)
	if err != nil || a == nil || a.name != "yubin" || len(created) != 1 || !strings.Contains(warn, `created the system user "yubin"`) {
		t.Fatalf("default owner: %+v %q %v, created %v", a, warn, err, created)
	}
	users, created = map[string]bool{}, nil
	if _, _, err := ensureOwner("yubin", true, owner, create); err == nil || len(created) != 0 {
		t.Fatalf("set owner: %v, created %v", err, created)
	}
	failing := func(string) error { return errors.New("useradd: permission denied") }
	if _, _, err := ensureOwner("yubin", false, owner, failing); err == nil || !strings.Contains(err.Error(), "creating it failed: useradd: permission denied") {
		t.Fatalf("failed useradd: %v", err)
	}
}
