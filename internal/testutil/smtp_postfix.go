package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SMTPPostfix is a private Postfix 3.7 instance for the smtp and lmtp
// interop tests: its own config, queue and data directories under Dir,
// listening on 127.0.0.1 only, logging to MailLog. It is stopped with
// "postfix -c Dir abort" when the test ends.
type SMTPPostfix struct {
	Dir     string // config_directory (main.cf, master.cf)
	Queue   string // queue_directory
	MailLog string // maillog_file
	// SMTPPort is the port Postfix's smtpd listens on (127.0.0.1).
	SMTPPort int
}

// StartSMTPPostfix writes main.cf (the given lines appended to a minimal
// private configuration) and a master.cf with an smtpd on a free port of
// 127.0.0.1, and starts the real Postfix with "postfix -c DIR start". It
// skips (or fails under YUBIN_REQUIRE_INTEROP=1) when Postfix is not
// installed, and needs root (Postfix's master runs as root).
func StartSMTPPostfix(t testing.TB, mainCF string) *SMTPPostfix {
	t.Helper()
	return startSMTPPostfix(t, mainCF, func() int { return FreePort(t) })
}

// startSMTPPostfix is StartSMTPPostfix with the port chooser given.
func startSMTPPostfix(t testing.TB, mainCF string, port func() int) *SMTPPostfix {
	t.Helper()
	bin := RequireBinary(t, "postfix")
	if os.Geteuid() != 0 {
		Unavailable(t, "a private Postfix instance needs root")
	}
	dir := SharedDir(t)
	p := &SMTPPostfix{Dir: filepath.Join(dir, "etc"), Queue: filepath.Join(dir, "queue"), MailLog: filepath.Join(dir, "maillog")}
	for _, d := range []string{p.Dir, p.Queue, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "data"), postfixUID(t), -1); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %s
data_directory = %s/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.example.test
mydomain = example.test
myorigin = example.test
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
maillog_file = %s
maillog_file_prefixes = %s
smtputf8_enable = yes
smtpd_relay_restrictions = permit_mynetworks, reject
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
lmtp_connect_timeout = 5s
`, p.Queue, dir, p.MailLog, dir)
	main = mergeMainCF(main, mainCF)
	masterRest := `
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
virtual   unix  -       n       n       -       -       virtual
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`
	if err := os.WriteFile(filepath.Join(p.Dir, "main.cf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	makeQueueDirs(t, p.Queue)
	// Postfix's master binds the smtpd port itself, so the port is only
	// known to be free when it has started: another test may take the
	// port FreePort found first. Then start again on another one.
	for attempt := 1; ; attempt++ {
		p.SMTPPort = port()
		master := fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", p.SMTPPort) + masterRest
		if err := os.WriteFile(filepath.Join(p.Dir, "master.cf"), []byte(master), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := exec.CommandContext(ctx, bin, "-c", p.Dir, "start").CombinedOutput()
		cancel()
		started := err == nil && p.waitStart(30*time.Second)
		if started {
			break
		}
		p.stop(bin)
		log := p.Log()
		if attempt < 5 && strings.Contains(string(out)+log, "Address already in use") {
			t.Logf("postfix: port %d was taken; starting again on another port", p.SMTPPort)
			os.Truncate(p.MailLog, 0)
			continue
		}
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() { p.stop(bin) })
	return p
}

// mergeMainCF appends extra's parameters to base, a parameter of extra
// replacing base's line of the same name instead of repeating it: every
// Postfix program warns of a repeated parameter, and postlogd, which logs
// its own warnings through its own socket before it reads from it,
// blocks forever on one, and with it the master's start. Lines are
// "name = value", continuation lines start with white space, comments
// with '#'.
func mergeMainCF(base, extra string) string {
	type param struct{ name, text string }
	var params []param
	index := map[string]int{}
	add := func(text string) {
		cur := -1
		for _, line := range strings.Split(text, "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case trimmed == "" || strings.HasPrefix(trimmed, "#"):
				cur = -1
			case (line[0] == ' ' || line[0] == '\t') && cur >= 0:
				params[cur].text += "\n" + line
			default:
				name, _, _ := strings.Cut(line, "=")
				name = strings.TrimSpace(name)
				if i, ok := index[name]; ok {
					params[i].text = line
					cur = i
					continue
				}
				index[name] = len(params)
				cur = len(params)
				params = append(params, param{name, line})
			}
		}
	}
	add(base)
	add(extra)
	var b strings.Builder
	for _, p := range params {
		b.WriteString(p.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// waitStart waits for the master's "daemon started" or a fatal error in
// the maillog and reports whether it started.
func (p *SMTPPostfix) waitStart(timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		log := p.Log()
		if strings.Contains(log, "daemon started") {
			return true
		}
		if strings.Contains(log, "fatal:") {
			return false
		}
	}
	return false
}

// stop ends the instance at once: "postfix stop" waits for the master
// to exit at its own pace; abort ends every process at once, then we
// wait for the master.
func (p *SMTPPostfix) stop(bin string) {
	pidText, _ := os.ReadFile(filepath.Join(p.Queue, "pid", "master.pid"))
	var pid int
	fmt.Sscan(strings.TrimSpace(string(pidText)), &pid)
	// Bounded: "postfix abort" has been seen to hang after a start that
	// failed under heavy load; then the master we started is killed.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if exec.CommandContext(ctx, bin, "-c", p.Dir, "abort").Run() != nil && ctx.Err() != nil && pid > 0 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for i := 0; pid > 0 && i < 200; i++ {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// makeQueueDirs creates the queue directory tree as post-install would,
// and the quick-start marker that makes "postfix start" skip its
// integrity check (which takes several seconds per start).
func makeQueueDirs(t testing.TB, q string) {
	t.Helper()
	uid := postfixUID(t)
	gid := -1
	if out, err := exec.Command("getent", "group", "postdrop").Output(); err == nil {
		f := strings.Split(strings.TrimSpace(string(out)), ":")
		if len(f) > 2 {
			fmt.Sscan(f[2], &gid)
		}
	}
	for _, d := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace", "maildrop", "public", "pid"} {
		path := filepath.Join(q, d)
		mode, owner, group := os.FileMode(0o700), uid, -1
		switch d {
		case "maildrop":
			mode, group = 0o730, gid
		case "public":
			mode, group = 0o710, gid
		case "pid":
			mode, owner = 0o755, 0
		}
		if err := os.Mkdir(path, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		if err := os.Chown(path, owner, group); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(q, "quick-start"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func postfixUID(t testing.TB) int {
	out, err := exec.Command("id", "-u", "postfix").Output()
	if err != nil {
		Unavailable(t, "no postfix user: %v", err)
	}
	var uid int
	fmt.Sscan(strings.TrimSpace(string(out)), &uid)
	return uid
}

// Log returns the instance's maillog so far.
func (p *SMTPPostfix) Log() string {
	b, _ := os.ReadFile(p.MailLog)
	return string(b)
}

// WaitLog waits until the maillog contains s, failing the test after
// timeout.
func (p *SMTPPostfix) WaitLog(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Log(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("postfix maillog lacks %q:\n%s", s, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addr returns Postfix's smtpd address.
func (p *SMTPPostfix) Addr() string { return fmt.Sprintf("127.0.0.1:%d", p.SMTPPort) }
