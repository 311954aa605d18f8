package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/internal/testutil"
)

// userCfg writes a main.cf for the user commands (data in a directory
// mail_owner = nobody can reach) and returns its path and the passwd
// file's.
func userCfg(t *testing.T, extra string) (cf, passwd string) {
	t.Helper()
	dir := testutil.SharedDir(t)
	data := filepath.Join(dir, "data")
	cf = filepath.Join(dir, "main.cf")
	require.NoError(t, os.WriteFile(cf, []byte(testConfig(t, data, extra)), 0o644))
	return cf, filepath.Join(data, "passwd")
}

// TestUserCommandsExitCodes: adduser, deluser, passwd, users and pw
// answer bad input with a message and exit 1 (2 for bad usage), and
// good input with 0.
func TestUserCommandsExitCodes(t *testing.T) {
	t.Parallel()
	cf, passwd := userCfg(t, "")
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"pw\n", []string{"adduser", "bare"}, 1, "want user@domain"},
		{"pw\n", []string{"adduser", "a:b@example.jp"}, 1, "bad user name"},
		{"pw\n", []string{"adduser", "../x@example.jp"}, 1, "bad user name"},
		{"pw\n", []string{"adduser", "x@../etc"}, 1, "not a domain name"},
		{"pw\n", []string{"adduser", "x@"}, 1, "not a domain name"},
		{"\n", []string{"adduser", "ok@example.jp"}, 1, "empty password"},
		{"", []string{"adduser", "ok@example.jp"}, 1, "empty password"},
		{strings.Repeat("x", 5000) + "\n", []string{"adduser", "ok@example.jp"}, 1, "password longer than"},
		{"", []string{"adduser"}, 2, "usage: fullserver adduser USER"},
		{"", []string{"deluser", "a@example.jp", "b@example.jp"}, 2, "usage: fullserver deluser USER"},
		{"", []string{"users", "x"}, 2, "usage: fullserver users"},
		{"", []string{"auth", "check", "x@example.jp"}, 2, "usage: fullserver auth test"},
		{"", []string{"pw", "-x", "y"}, 2, "usage: fullserver pw"},
		{"pw\n", []string{"pw", "-s", "NO-SUCH"}, 1, "known schemes:"},
		{"", []string{"deluser", "ghost@example.jp"}, 1, "no user ghost@example.jp"},
		{"pw\n", []string{"passwd", "ghost@example.jp"}, 1, "no user ghost@example.jp"},
	} {
		code, _, stderr := runCmd(t, tc.stdin, append([]string{"-config", cf}, tc.args...)...)
		assert.Equal(t, tc.code, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.want, "%v", tc.args)
	}
	_, err := os.Stat(passwd)
	assert.ErrorIs(t, err, os.ErrNotExist, "a refused adduser wrote the passwd file")

	// Two users, listed sorted; deluser takes one out, passwd changes
	// only the password of the other, keeping its extra fields.
	for _, u := range []string{"zed@example.jp", "Amy@Example.JP"} {
		code, _, stderr := runCmd(t, "old pw\n", "-config", cf, "adduser", u)
		require.Equal(t, 0, code, stderr)
	}
	code, _, stderr := runCmd(t, "x\n", "-config", cf, "adduser", "amy@example.jp")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already exists")
	// A comment and amy's extra fields must survive the edits.
	b, err := os.ReadFile(passwd)
	require.NoError(t, err)
	var edited []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(l, "amy@") {
			l += "userdb_quota_rule=*:storage=1G"
		}
		edited = append(edited, l)
	}
	require.NoError(t, os.WriteFile(passwd, []byte("# kept comment\n"+strings.Join(edited, "\n")+"\n"), 0o600))
	code, stdout, stderr := runCmd(t, "", "-config", cf, "users")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "amy@example.jp\nzed@example.jp\n", stdout)

	code, _, stderr = runCmd(t, "new pw\n", "-config", cf, "passwd", "AMY@example.jp")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCmd(t, "", "-config", cf, "deluser", "zed@example.jp")
	require.Equal(t, 0, code, stderr)
	code, stdout, _ = runCmd(t, "", "-config", cf, "users")
	assert.Equal(t, 0, code)
	assert.Equal(t, "amy@example.jp\n", stdout)
	b, _ = os.ReadFile(passwd)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 2, "%s", b)
	assert.Equal(t, "# kept comment", lines[0])
	f := strings.SplitN(lines[1], ":", 3)
	require.Len(t, f, 3, lines[1])
	assert.Equal(t, "amy@example.jp", f[0])
	assert.Equal(t, "::::::userdb_quota_rule=*:storage=1G", ":"+f[2], "extra fields lost: %s", lines[1])
	ok, _ := auth.Verify(f[1], "new pw")
	assert.True(t, ok, "passwd did not set the new password: %s", lines[1])
	ok, _ = auth.Verify(f[1], "old pw")
	assert.False(t, ok)
}

// TestAddUserBareNameGetsMyorigin: a bare name is user@$myorigin once
// myorigin is set (here through $mydomain).
func TestAddUserBareNameGetsMyorigin(t *testing.T) {
	t.Parallel()
	cf, passwd := userCfg(t, "mydomain = example.jp\nmyorigin = $mydomain\n")
	code, _, stderr := runCmd(t, "pw\n", "-config", cf, "adduser", "Bob")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "added bob@example.jp")
	users, err := passwdUsers(passwd)
	require.NoError(t, err)
	assert.Equal(t, []string{"bob@example.jp"}, users)
	// deluser and passwd qualify the same way.
	code, _, stderr = runCmd(t, "", "-config", cf, "deluser", "bob")
	require.Equal(t, 0, code, stderr)
}

// TestDefaultPassScheme: adduser and pw hash with default_pass_scheme;
// pw -s overrides it; check refuses a scheme auth does not know.
func TestDefaultPassScheme(t *testing.T) {
	t.Parallel()
	cf, passwd := userCfg(t, "default_pass_scheme = ssha256\n")
	code, _, stderr := runCmd(t, "secret\n", "-config", cf, "adduser", "a@example.jp")
	require.Equal(t, 0, code, stderr)
	b, _ := os.ReadFile(passwd)
	assert.Contains(t, string(b), "a@example.jp:{SSHA256}")

	code, stdout, stderr := runCmd(t, "secret\n", "-config", cf, "pw")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "{SSHA256}"), stdout)
	code, stdout, stderr = runCmd(t, "secret\n", "-config", cf, "pw", "-s", "sha512-crypt")
	require.Equal(t, 0, code, stderr)
	hash := strings.TrimSpace(stdout)
	assert.True(t, strings.HasPrefix(hash, "{SHA512-CRYPT}$6$"), hash)
	ok, err := auth.Verify(hash, "secret")
	assert.True(t, ok, "%v", err)
	code, stdout, _ = runCmd(t, "", "-config", cf, "pw", "-s", "BLF-CRYPT", "-p", "other")
	require.Equal(t, 0, code)
	ok, err = auth.Verify(strings.TrimSpace(stdout), "other")
	assert.True(t, ok, "%s %v", stdout, err)
	if doveadm, err := exec.LookPath("doveadm"); err == nil {
		out, err := exec.Command(doveadm, "pw", "-t", hash, "-p", "secret").CombinedOutput()
		assert.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "verified")
	}

	bad, _ := userCfg(t, "default_pass_scheme = NOPE\n")
	code, _, stderr = runCmd(t, "", "-config", bad, "check")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `unknown password scheme "NOPE"`)
}

// TestAddUserAsRootOwnedByMailOwner: run as root, adduser, passwd and
// deluser leave the passwd file (and a directory they made) to
// mail_owner, mode 0600, never root's.
func TestAddUserAsRootOwnedByMailOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the file is given to mail_owner only when run as root")
	}
	cf, passwd := userCfg(t, "")
	owned := func(step string) {
		t.Helper()
		for _, p := range []string{passwd, filepath.Dir(passwd)} {
			fi, err := os.Stat(p)
			require.NoError(t, err)
			st := fi.Sys().(*syscall.Stat_t)
			assert.Equal(t, []uint32{testutil.PlainUID, testutil.PlainGID}, []uint32{st.Uid, st.Gid}, "%s: %s owner", step, p)
			if p == passwd {
				assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s: %s mode", step, p)
			}
		}
	}
	code, _, stderr := runCmd(t, "pw\n", "-config", cf, "adduser", "a@example.jp")
	require.Equal(t, 0, code, stderr)
	owned("adduser")
	code, _, stderr = runCmd(t, "pw2\n", "-config", cf, "adduser", "b@example.jp")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runCmd(t, "pw3\n", "-config", cf, "passwd", "a@example.jp")
	require.Equal(t, 0, code, stderr)
	owned("passwd")
	code, _, stderr = runCmd(t, "", "-config", cf, "deluser", "b@example.jp")
	require.Equal(t, 0, code, stderr)
	owned("deluser")

	// A mail_owner set to a user that does not exist: refused, no file
	// left to root.
	cf2, passwd2 := userCfg(t, "mail_owner = no-such-yubin-user\n")
	code, _, stderr = runCmd(t, "pw\n", "-config", cf2, "adduser", "a@example.jp")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "server's user is unknown")
	_, err := os.Stat(passwd2)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// TestRunningServerSeesUserCommands: with the server running (as
// mail_owner nobody), users added, re-passworded and deleted by the
// commands run as root log in, change password and stop logging in
// over IMAP at once, without a restart or a signal; "auth test" agrees
// with the server each time (exit 0 or 77).
func TestRunningServerSeesUserCommands(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "disable_plaintext_auth = no\n")
	in.start()
	imap := in.addr("imap")
	login := func(user, pw string) string {
		t.Helper()
		ans, _, err := imapLogin(imap, user, pw)
		require.NoError(t, err)
		return ans
	}
	authTest := func(user, pw string) int {
		t.Helper()
		code, stdout, stderr := runCmd(t, "", "-config", in.cfg, "auth", "test", user, pw)
		if code == 0 {
			assert.Contains(t, stdout, "passdb: "+user+" auth succeeded")
		} else {
			assert.Contains(t, stdout, "passdb: "+user+" auth failed", stderr)
		}
		return code
	}
	assert.True(t, strings.HasPrefix(login("carol@localhost", "pw1"), "a NO"))
	assert.Equal(t, exitAuthFailed, authTest("carol@localhost", "pw1"))

	code, _, stderr := runCmd(t, "pw1\n", "-config", in.cfg, "adduser", "carol@localhost")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(login("carol@localhost", "pw1"), "a OK"), "login after adduser")
	assert.Equal(t, 0, authTest("carol@localhost", "pw1"))
	assert.Equal(t, 0, authTest("CAROL@localhost", "pw1"), "auth_username_format = %Lu")

	code, _, stderr = runCmd(t, "pw2\n", "-config", in.cfg, "passwd", "carol@localhost")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(login("carol@localhost", "pw1"), "a NO"), "old password after passwd")
	assert.True(t, strings.HasPrefix(login("carol@localhost", "pw2"), "a OK"), "new password after passwd")
	assert.Equal(t, exitAuthFailed, authTest("carol@localhost", "pw1"))
	assert.Equal(t, 0, authTest("carol@localhost", "pw2"))

	code, _, stderr = runCmd(t, "", "-config", in.cfg, "deluser", "carol@localhost")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(login("carol@localhost", "pw2"), "a NO"), "login after deluser")
	assert.Equal(t, exitAuthFailed, authTest("carol@localhost", "pw2"))
	assert.NotContains(t, in.errText(), "permission denied")
}

// TestAuthTestThroughSQLiteChain: with passdb = passwd-file, sql (a
// SQLite file), "auth test" logs in users of either passdb, refuses a
// wrong password with 77, and the user commands still edit the
// passwd-file of the chain.
func TestAuthTestThroughSQLiteChain(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedDir(t)
	file := filepath.Join(dir, "users.db")
	db, err := sql.Open("sqlite", file)
	require.NoError(t, err)
	for _, q := range strings.Split(strings.TrimSpace(sqlUsersTable(t)), ";\n") {
		_, err := db.Exec(q)
		require.NoError(t, err)
	}
	db.Close()
	data := filepath.Join(dir, "data")
	cf := filepath.Join(dir, "main.cf")
	require.NoError(t, os.WriteFile(cf, []byte(testConfig(t, data,
		"passdb = passwd-file:"+data+"/passwd, sql:"+seedSQLConf(t, dir, "sqlite", file)+"\n")), 0o644))
	code, _, stderr := runCmd(t, "pw-file\n", "-config", cf, "adduser", "carol@localhost")
	require.Equal(t, 0, code, stderr)
	for _, tc := range []struct {
		user, pw string
		code     int
	}{
		{"carol@localhost", "pw-file", 0},
		{"alice@localhost", "pw-alice", 0}, // SQL, bare SHA512-CRYPT
		{"bob@localhost", "pw-bob", 0},     // SQL, {SSHA256}
		{"bob@localhost", "pw-alice", exitAuthFailed},
		{"nobody@localhost", "x", exitAuthFailed},
	} {
		code, stdout, stderr := runCmd(t, "", "-config", cf, "auth", "test", tc.user, tc.pw)
		assert.Equal(t, tc.code, code, "%s: %s %s", tc.user, stdout, stderr)
	}
	// The password from stdin when not on the command line.
	code, stdout, _ := runCmd(t, "pw-alice\n", "-config", cf, "auth", "test", "alice@localhost")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "passdb: alice@localhost auth succeeded\nextra fields:\n  user=alice@localhost\n")
	code, stdout, _ = runCmd(t, "", "-config", cf, "users")
	assert.Equal(t, 0, code)
	assert.Equal(t, "carol@localhost\n", stdout, "users lists the passwd-file's users")
}

// TestAddUserConcurrentLosesNone: adduser runs at once each add their
// user: the lock serialises the read-modify-write.
func TestAddUserConcurrentLosesNone(t *testing.T) {
	t.Parallel()
	cf, passwd := userCfg(t, "default_pass_scheme = SSHA256\n")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, stderr := runCmd(t, "pw\n", "-config", cf, "adduser", fmt.Sprintf("u%d@example.jp", i))
			assert.Equal(t, 0, code, stderr)
		}()
	}
	wg.Wait()
	users, err := passwdUsers(passwd)
	require.NoError(t, err)
	assert.Len(t, users, n, "%q", users)
}

// ptyScript runs BIN with ARGS on a pseudo-terminal, answers each
// prompt in ANSWERS ("prompt=answer;..."), and prints the exit code and
// everything the terminal showed.
const ptyScript = `
import os, pty, select, sys, time
args = os.environ['ARGS'].split('\x1f')
pid, fd = pty.fork()
if pid == 0:
    os.execv(os.environ['BIN'], [os.environ['BIN']] + args)
out = b''
def read_until(want):
    global out
    end = time.time() + 10
    while want not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                b = os.read(fd, 4096)
            except OSError:
                return
            if not b:
                return
            out += b
for pair in os.environ['ANSWERS'].split(';'):
    prompt, answer = pair.split('=', 1)
    read_until(prompt.encode())
    out = out.replace(prompt.encode(), b'<' + prompt.encode() + b'>', 1)
    os.write(fd, answer.encode() + b'\n')
read_until(b'\x00never')
_, status = os.waitpid(pid, 0)
print('EXIT', os.waitstatus_to_exitcode(status))
print(out.decode(errors='replace'))
`

// TestAddUserPromptsOnTerminal: on a terminal adduser and pw ask for
// the password twice without echoing it, and refuse two that differ.
func TestAddUserPromptsOnTerminal(t *testing.T) {
	t.Parallel()
	cf, passwd := userCfg(t, "")
	run := func(answers string, args ...string) string {
		return python(t, ptyScript, "BIN="+binary, "ARGS="+strings.Join(append([]string{"-config", cf}, args...), "\x1f"), "ANSWERS="+answers)
	}
	out := run("Password: =secret-one;Retype password: =secret-two", "adduser", "a@example.jp")
	assert.Contains(t, out, "EXIT 1")
	assert.Contains(t, out, "passwords do not match")
	out = run("Password: =secret-one;Retype password: =secret-one", "adduser", "a@example.jp")
	assert.Contains(t, out, "EXIT 0")
	assert.Contains(t, out, "<Password: >")
	assert.Contains(t, out, "<Retype password: >")
	assert.NotContains(t, out, "secret-one", "the password was echoed")
	b, err := os.ReadFile(passwd)
	require.NoError(t, err)
	_, rest, _ := strings.Cut(strings.TrimSpace(string(b)), ":")
	hash, _, _ := strings.Cut(rest, ":")
	ok, _ := auth.Verify(hash, "secret-one")
	assert.True(t, ok, "%s", b)
	out = run("Password: =secret-one;Retype password: =secret-one", "pw", "-s", "SSHA256")
	assert.Contains(t, out, "EXIT 0")
	assert.Contains(t, out, "{SSHA256}")
	assert.NotContains(t, out, "secret-one")
}

// FuzzQualifyName: any input either is refused or comes out as one
// "local@domain" that is safe as a passwd-file name and in
// mail_location's %n and %d: no ':', '#', '/', '\\', white space or
// control characters, no "." or ".." part.
func FuzzQualifyName(f *testing.F) {
	for _, s := range []string{"a@example.jp", "Bob", "../x@y", "a@b@c", "x@..", " a@b ", "a\x00@b", "é@example.jp"} {
		f.Add(s, "example.jp")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, name, origin string) {
		got, err := qualifyName(name, origin)
		if err != nil {
			return
		}
		local, domain, ok := strings.Cut(got, "@")
		if !ok || strings.Contains(domain, "@") || local == "" || local == "." || local == ".." || domain == "" {
			t.Fatalf("qualifyName(%q, %q) = %q", name, origin, got)
		}
		for _, part := range strings.Split(domain, ".") {
			if part == "" {
				t.Fatalf("qualifyName(%q, %q) = %q: empty domain label", name, origin, got)
			}
		}
		if strings.ContainsAny(got, ":#/\\") || strings.IndexFunc(got, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			t.Fatalf("qualifyName(%q, %q) = %q: unsafe character", name, origin, got)
		}
		if got != strings.ToLower(got) {
			t.Fatalf("qualifyName(%q, %q) = %q: not lower case", name, origin, got)
		}
	})
}
