package testutil

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BuildFullserver builds examples/fullserver into dir and returns the
// binary's path. extra maps file names to Go sources compiled into the
// binary beside the example's own files (through go build -overlay, so
// the example's sources stay untouched), e.g. a profiling hook.
func BuildFullserver(t testing.TB, dir string, extra map[string]string) string {
	t.Helper()
	root := moduleRoot(t)
	bin := filepath.Join(dir, "fullserver")
	args := []string{"build", "-o", bin}
	if len(extra) > 0 {
		replace := map[string]string{}
		for name, src := range extra {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			replace[filepath.Join(root, "examples", "fullserver", name)] = p
		}
		ov, _ := json.Marshal(map[string]map[string]string{"Replace": replace})
		ovPath := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ovPath, ov, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-overlay", ovPath)
	}
	args = append(args, "./examples/fullserver")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCommand(), args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build fullserver: %v\n%s", err, out)
	}
	return bin
}

// goCommand is the go command that runs the test (go test sets GOROOT
// in the test's environment), else the one on $PATH.
func goCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// moduleRoot is the module's root directory (two levels above this
// file).
func moduleRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// FullserverConfig returns the main.cf lines every private fullserver
// starts from: data_directory, mail_owner nobody (the test runs as root),
// 127.0.0.1 only, and no listener at all (no SMTP ports, protocols =
// none). Callers append their own lines; a later line overrides an
// earlier one, as in Postfix's main.cf.
func FullserverConfig(data string) string {
	return "data_directory = " + data + `
mail_owner = nobody
allow_nobody_mail_owner = yes
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtp_port =
submission_port =
submissions_port =
protocols = none
`
}

// Fullserver is a running examples/fullserver process started by
// StartFullserver; it is stopped (by PID) when the test ends.
type Fullserver struct {
	Cmd *exec.Cmd
	// Addrs maps each service of the welcome text ("smtp", "pop3",
	// "lmtp", ...) to the addresses it listens on.
	Addrs map[string][]string
	// Log is the file holding the server's standard error.
	Log string
}

// Addr is the first address of service, or "" when it has none.
func (f *Fullserver) Addr(service string) string {
	if a := f.Addrs[service]; len(a) > 0 {
		return a[0]
	}
	return ""
}

// PID is the server's process ID.
func (f *Fullserver) PID() int { return f.Cmd.Process.Pid }

// StartFullserver runs bin -config cf with env added to the test's
// environment, its standard error in logPath, and waits (up to 30 s) for
// the welcome text, which names every listener's address: listeners
// configured with port 0 are bound by the server itself, so no other
// program can take the port first.
func StartFullserver(t testing.TB, bin, cf, logPath string, env ...string) *Fullserver {
	t.Helper()
	f := &Fullserver{Addrs: map[string][]string{}, Log: logPath}
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	f.Cmd = exec.Command(bin, "-config", cf)
	f.Cmd.Stderr = logf
	f.Cmd.Env = append(os.Environ(), env...)
	stdout, err := f.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	// The welcome text comes in one write: "yubin mail host running."
	// then a "  service address" line per listener; EOF first means the
	// server exited.
	ready := make(chan map[string][]string, 1)
	go func() {
		var buf []byte
		chunk := make([]byte, 64<<10)
		for {
			n, err := stdout.Read(chunk)
			buf = append(buf, chunk[:n]...)
			if _, rest, ok := strings.Cut(string(buf), "yubin mail host running.\n"); ok {
				ready <- welcomeAddrs(rest)
				io.Copy(io.Discard, stdout)
				return
			}
			if err != nil {
				close(ready)
				return
			}
		}
	}()
	select {
	case addrs, ok := <-ready:
		if ok {
			f.Addrs = addrs
			t.Cleanup(f.Stop)
			return f
		}
	case <-time.After(30 * time.Second):
		f.Cmd.Process.Kill()
	}
	f.Cmd.Wait()
	log, _ := os.ReadFile(logPath)
	t.Fatalf("fullserver did not start:\n%s", log)
	return nil
}

// welcomeAddrs reads the "  service address" lines at the start of the
// welcome text's rest.
func welcomeAddrs(rest string) map[string][]string {
	addrs := map[string][]string{}
	for _, line := range strings.Split(rest, "\n") {
		fs := strings.Fields(line)
		if !strings.HasPrefix(line, "  ") || len(fs) != 2 {
			break
		}
		addrs[fs[0]] = append(addrs[fs[0]], fs[1])
	}
	return addrs
}

// Stop ends the server by its PID: SIGTERM (it drains), then SIGKILL
// after 10 s. A second call does nothing.
func (f *Fullserver) Stop() {
	if f.Cmd.ProcessState != nil {
		return
	}
	f.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { f.Cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		f.Cmd.Process.Kill()
		<-done
	}
}

// MailFullserver configures StartMailFullserver: a fullserver serving
// one mailbox protocol over Maildirs to a load generator.
type MailFullserver struct {
	// Bin is the binary (built from this tree when "").
	Bin string
	// Protocol is "imap" or "pop3": its listener on port 0, its
	// implicit-TLS one off, no TLS.
	Protocol string
	// Passwd is the passwd-file's content (user:{SCHEME}hash::::::).
	Passwd string
	// Homes holds the users' Maildirs, Homes/<user>/Maildir.
	Homes string
	// Extra is more main.cf lines.
	Extra string
}

// StartMailFullserver starts the fullserver as m says, with plaintext
// logins allowed and the per-address limits raised (the load comes from
// one address), under a directory mail_owner can reach.
func StartMailFullserver(t testing.TB, m MailFullserver) *Fullserver {
	t.Helper()
	dir := SharedDir(t) // reachable by mail_owner after the privilege drop
	if m.Bin == "" {
		m.Bin = BuildFullserver(t, dir, nil)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "passwd"), []byte(m.Passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	p := m.Protocol
	conf := FullserverConfig(data) + "myhostname = " + p + ".example.jp\nmydestination = example.jp\n" +
		"protocols = " + p + "\n" + p + "_port = 0\n" + p + "s_port =\nssl = no\ndisable_plaintext_auth = no\n" +
		"mail_location = maildir:" + m.Homes + "/%n/Maildir\n" +
		"mail_max_userip_connections = 1000\nlogin_max_connections_per_ip = 1000\n" + m.Extra + "\n"
	cf := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := StartFullserver(t, m.Bin, cf, filepath.Join(dir, "maillog"))
	if fs.Addr(p) == "" {
		t.Fatalf("fullserver has no %s listener: %v", p, fs.Addrs)
	}
	return fs
}
