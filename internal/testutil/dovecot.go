package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PlainUID and PlainGID are the unprivileged identity ("nobody:nogroup" on
// Debian) that Dovecot's mail processes run as in tests: Dovecot refuses
// to touch mail as root.
const (
	PlainUID = 65534
	PlainGID = 65534
)

// DovecotConfig describes a private Dovecot instance.
type DovecotConfig struct {
	// Protocols is Dovecot's "protocols" setting, e.g. "imap pop3 lmtp".
	// Empty starts only the auth and doveadm machinery.
	Protocols string
	// MailLocation defaults to "maildir:~/Maildir".
	MailLocation string
	// PasswdFile, when set, is used as passdb and userdb passwd-file;
	// otherwise any user logs in with any password (static passdb with
	// nopassword) and gets home <Dir>/home/<user>.
	PasswdFile string
	// Extra is appended to the generated dovecot.conf verbatim (listeners,
	// ssl settings, plugin settings).
	Extra string
	// Listeners are inet listeners, each "service/listener" such as
	// "imap-login/imap", "pop3-login/pop3" or "lmtp/lmtp", that the
	// starter binds itself on ephemeral ports of 127.0.0.1 and hands to
	// Dovecot already bound (systemd socket activation: LISTEN_FDS), with
	// their address and port written into dovecot.conf: no other program
	// can take such a port between its choice and Dovecot's use of it.
	// Dovecot.Addr gives their addresses. Other settings of the same
	// service may still come in Extra (Dovecot merges the blocks), and
	// must: Dovecot's built-in imaps and pop3s listeners bind the fixed
	// ports 993 and 995 unless Extra sets their port = 0.
	Listeners []string
}

// Dovecot is a running private Dovecot 2.3 daemon whose files all live
// under Dir. It is stopped (by PID) when the test ends.
type Dovecot struct {
	Dir  string // instance directory, readable by PlainUID
	Conf string // path of the generated dovecot.conf
	Log  string // path of Dovecot's log file
	// Addrs maps each of DovecotConfig.Listeners to its "127.0.0.1:port".
	Addrs map[string]string
	cmd   *exec.Cmd
}

// StartDovecot writes a config under a fresh shared directory and starts
// the real Dovecot daemon in the foreground mode (-F). It skips (or
// fails under YUBIN_REQUIRE_INTEROP=1) when Dovecot is not installed.
func StartDovecot(t testing.TB, c DovecotConfig) *Dovecot {
	t.Helper()
	bin := RequireBinary(t, "dovecot")
	RequireBinary(t, "doveadm")
	dir := SharedDir(t)
	d := &Dovecot{Dir: dir, Conf: filepath.Join(dir, "dovecot.conf"), Log: filepath.Join(dir, "dovecot.log")}
	for _, sub := range []string{"run", "state", "home"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "home"), PlainUID, PlainGID); err != nil && os.Geteuid() == 0 {
		t.Fatal(err)
	}
	loc := c.MailLocation
	if loc == "" {
		loc = "maildir:~/Maildir"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "base_dir = %s/run\nstate_dir = %s/state\nlog_path = %s\n", dir, dir, d.Log)
	fmt.Fprintf(&b, "protocols = %s\nmail_location = %s\nssl = no\nlisten = 127.0.0.1\n", c.Protocols, loc)
	b.WriteString("disable_plaintext_auth = no\nauth_mechanisms = plain login\nfirst_valid_uid = 1\n")
	b.WriteString("service anvil {\n  chroot =\n}\nservice stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}\n")
	uid, gid := PlainUID, PlainGID
	if os.Geteuid() != 0 {
		uid, gid = os.Geteuid(), os.Getegid()
	}
	if c.PasswdFile != "" {
		fmt.Fprintf(&b, "passdb {\n  driver = passwd-file\n  args = %s\n}\n", c.PasswdFile)
		fmt.Fprintf(&b, "userdb {\n  driver = passwd-file\n  args = %s\n  default_fields = uid=%d gid=%d home=%s/home/%%u\n}\n", c.PasswdFile, uid, gid, dir)
	} else {
		b.WriteString("passdb {\n  driver = static\n  args = nopassword=y\n}\n")
		fmt.Fprintf(&b, "userdb {\n  driver = static\n  args = uid=%d gid=%d home=%s/home/%%u\n}\n", uid, gid, dir)
	}
	files := d.bindListeners(t, &b, c.Listeners)
	b.WriteString(c.Extra)
	if err := os.WriteFile(d.Conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "daemon.out"))
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command(bin, "-c", d.Conf, "-F")
	if len(files) > 0 {
		// sd_listen_fds(3) takes the sockets (from fd 3 on) only when
		// LISTEN_PID is the process's own PID, known only after the
		// fork: a shell sets it and execs Dovecot in the same process.
		d.cmd = exec.Command("/bin/sh", "-c", `LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"`, bin, "-c", d.Conf, "-F")
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, "LISTEN_") && !strings.HasPrefix(e, "NOTIFY_SOCKET=") {
				d.cmd.Env = append(d.cmd.Env, e)
			}
		}
		d.cmd.Env = append(d.cmd.Env, fmt.Sprintf("LISTEN_FDS=%d", len(files)))
		d.cmd.ExtraFiles = files
	}
	d.cmd.Stdout, d.cmd.Stderr = out, out
	err = d.cmd.Start()
	for _, f := range files {
		f.Close() // Dovecot has its own copies
	}
	if err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
		out.Close()
	})
	// The auth-userdb socket appears once the auth service is listening;
	// the master logs "starting up" once it has all its listeners.
	sock := filepath.Join(dir, "run", "auth-userdb")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			dl, _ := os.ReadFile(d.Log)
			if len(files) == 0 || bytes.Contains(dl, []byte(" starting up")) {
				break
			}
		}
		select {
		case <-done:
			logs, _ := os.ReadFile(filepath.Join(dir, "daemon.out"))
			dl, _ := os.ReadFile(d.Log)
			t.Fatalf("dovecot exited: %s\n%s", logs, dl)
		default:
		}
		if time.Now().After(deadline) {
			logs, _ := os.ReadFile(filepath.Join(dir, "daemon.out"))
			dl, _ := os.ReadFile(d.Log)
			t.Fatalf("dovecot did not start: %s\n%s", logs, dl)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

// bindListeners binds a socket on 127.0.0.1:0 for each listener,
// writes its service block into b and returns the sockets' files in
// order (fd 3, 4... in Dovecot).
func (d *Dovecot) bindListeners(t testing.TB, b *strings.Builder, listeners []string) []*os.File {
	t.Helper()
	d.Addrs = map[string]string{}
	var files []*os.File
	for _, name := range listeners {
		service, listener, ok := strings.Cut(name, "/")
		if !ok || service == "" || listener == "" {
			t.Fatalf("dovecot listener %q is not service/listener", name)
		}
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := l.(*net.TCPListener).File()
		l.Close() // f holds the socket, still listening
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		addr := l.Addr().(*net.TCPAddr)
		d.Addrs[name] = addr.String()
		fmt.Fprintf(b, "service %s {\n  inet_listener %s {\n    address = 127.0.0.1\n    port = %d\n  }\n}\n", service, listener, addr.Port)
	}
	return files
}

// Addr returns the "127.0.0.1:port" of one of DovecotConfig.Listeners
// ("imap-login/imap"), failing the test when it was not configured.
func (d *Dovecot) Addr(t testing.TB, listener string) string {
	t.Helper()
	a, ok := d.Addrs[listener]
	if !ok {
		t.Fatalf("dovecot has no listener %q (DovecotConfig.Listeners)", listener)
	}
	return a
}

// PID is the Dovecot master's process ID (its services are its
// children).
func (d *Dovecot) PID() int { return d.cmd.Process.Pid }

// Home returns the home directory Dovecot gives user (static userdb).
func (d *Dovecot) Home(user string) string { return filepath.Join(d.Dir, "home", user) }

// Doveadm runs "doveadm -c CONF args..." with stdin and returns its
// standard output, failing the test on a non-zero exit.
func (d *Dovecot) Doveadm(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	out, err := d.DoveadmErr(stdin, args...)
	if err != nil {
		t.Fatalf("doveadm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// DoveadmErr is Doveadm that returns the error (with stderr in the
// output) instead of failing the test.
func (d *Dovecot) DoveadmErr(stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(LookBinary("doveadm"), append([]string{"-c", d.Conf}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// PreauthIMAP runs Dovecot's imap binary directly, pre-authenticated as
// user with the given home and mail location, feeds it script (IMAP
// command lines, CRLF or LF ended) and returns everything it wrote. It
// runs as PlainUID when the test runs as root; home must be readable and
// writable by that user (see ChownTree). No daemon is needed.
func PreauthIMAP(t testing.TB, user, home, mailLocation, script string) string {
	t.Helper()
	bin := RequireBinary(t, "imap")
	dir := SharedDir(t)
	conf := filepath.Join(dir, "dovecot.conf")
	cfg := fmt.Sprintf("base_dir = %s\nstate_dir = %s\nlog_path = /dev/stderr\nssl = no\nprotocols = imap\nmail_location = %s\n", dir, dir, mailLocation)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Env = []string{"USER=" + user, "HOME=" + home, "PATH=/usr/bin:/bin"}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: PlainUID, Gid: PlainGID}}
	}
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dovecot imap: %v\n%s", err, out)
	}
	return string(out)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// It is racy: the port is free again when it returns, and another
// program (a parallel test's server binding port 0 included) may take it
// before whoever is given it binds it. Use it only in a starter that
// detects the failed bind (Address already in use) or a listener that is
// not its program's, and starts again on another port, as
// StartSMTPPostfix, StartPostfix, StartSmtpSink and StartNSD do. Tests
// listen on 127.0.0.1:0 for Go servers, use DovecotConfig.Listeners for
// Dovecot and RefusedAddr for a port where nothing listens.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
