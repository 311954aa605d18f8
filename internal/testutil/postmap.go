package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PostfixConfigDir writes a minimal main.cf into a new temporary directory
// and returns it, for postmap/postalias/postconf -c DIR.
func PostfixConfigDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cf := "compatibility_level = 3.6\n"
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// PostmapQuery asks the real postmap(1) for keys in the table ref
// ("cidr:/path", "hash:/path"...) with "postmap -q -" and returns the
// keys found with their values. It skips (or fails under
// YUBIN_REQUIRE_INTEROP=1) when postmap is not installed.
func PostmapQuery(t testing.TB, configDir, ref string, keys []string) map[string]string {
	t.Helper()
	bin := RequireBinary(t, "postmap")
	var in bytes.Buffer
	res := map[string]string{}
	for _, k := range keys {
		if strings.ContainsAny(k, "\n") {
			// Keys with line breaks cannot go through stdin: ask one by one.
			out, err := exec.Command(bin, "-c", configDir, "-q", k, ref).Output()
			if err == nil {
				res[k] = strings.TrimSuffix(string(out), "\n")
			}
			continue
		}
		in.WriteString(k)
		in.WriteByte('\n')
	}
	cmd := exec.Command(bin, "-c", configDir, "-q", "-", ref)
	cmd.Stdin = &in
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if strings.Contains(errb.String(), "fatal:") {
		t.Fatalf("postmap -q - %s: %s", ref, errb.String())
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("postmap -q - %s: %v: %s", ref, err, errb.String())
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("postmap output line without tab: %q", line)
		}
		res[k] = v
	}
	return res
}

// Postmap runs "postmap -c DIR args..." (to build hash: .db files) and
// fails the test on error.
func Postmap(t testing.TB, configDir string, args ...string) {
	t.Helper()
	bin := RequireBinary(t, "postmap")
	out, err := exec.Command(bin, append([]string{"-c", configDir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("postmap %v: %v: %s", args, err, out)
	}
}

// PostfixMapTypes returns the lookup table types "postconf -m" lists.
func PostfixMapTypes(t testing.TB, configDir string) []string {
	t.Helper()
	bin := RequireBinary(t, "postconf")
	out, err := exec.Command(bin, "-c", configDir, "-m").Output()
	if err != nil {
		t.Fatalf("postconf -m: %v", err)
	}
	return strings.Fields(string(out))
}

// StartPostfix runs a private Postfix (master(8) in the foreground with
// its own config and queue directories) whose only public service is an
// smtpd on 127.0.0.1:port, with mainCF appended to a minimal main.cf
// (no DNS, no peer name lookups, no delivery). It returns the smtpd
// address; the instance is stopped when the test ends. Postfix's master
// must run as root: without root the test is skipped (or failed under
// YUBIN_REQUIRE_INTEROP=1).
func StartPostfix(t testing.TB, mainCF string) string {
	t.Helper()
	RequireBinary(t, "postconf")
	master := "/usr/lib/postfix/sbin/master"
	if _, err := os.Stat(master); err != nil {
		Unavailable(t, "%s not found (Debian package postfix)", master)
	}
	if os.Geteuid() != 0 {
		Unavailable(t, "Postfix's master needs root")
	}
	dir := t.TempDir()
	// Postfix's daemons run as the postfix user and must reach the queue.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	q := filepath.Join(dir, "queue")
	for _, sub := range []string{"", "pid", "private", "public", "incoming", "active", "maildrop", "deferred",
		"bounce", "defer", "trace", "flush", "hold", "corrupt", "saved", "data"} {
		if err := os.MkdirAll(filepath.Join(q, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if u, err := user.Lookup("postfix"); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		for _, sub := range []string{"private", "public", "incoming", "active", "maildrop", "deferred",
			"bounce", "defer", "trace", "flush", "hold", "corrupt", "saved", "data"} {
			os.Chown(filepath.Join(q, sub), uid, -1)
		}
	}
	cf := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %s
data_directory = %s/data
maillog_file = %s/maillog
maillog_file_prefixes = %s
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
`, q, q, dir, dir) + mainCF + "\n"
	mcfRest := `
cleanup unix n - n - 0 cleanup
rewrite unix - - n - - trivial-rewrite
anvil unix - - n - 1 anvil
proxymap unix - - n - - proxymap
postlog unix-dgram n - n - 1 postlogd
`
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}
	// The master binds the port itself: when another test took the port
	// FreePort found, it exits, and is started again on another one. It
	// is ready when it logs "daemon started" (a dial could reach the
	// other test's server).
	for attempt := 1; ; attempt++ {
		addr, ok := startPostfixMaster(t, master, dir, mcfRest)
		if ok {
			return addr
		}
		t.Logf("Postfix master: its port was taken; starting again on another port")
		if attempt == 5 {
			t.Fatalf("Postfix master did not start on a free port in %d attempts", attempt)
		}
	}
}

// startPostfixMaster runs one attempt of StartPostfix on a fresh port; ok
// is false when the master exited because the port was taken.
func startPostfixMaster(t testing.TB, master, dir, mcfRest string) (string, bool) {
	t.Helper()
	port := FreePort(t)
	mcf := fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", port) + mcfRest
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), []byte(mcf), 0o644); err != nil {
		t.Fatal(err)
	}
	maillog := filepath.Join(dir, "maillog")
	os.Truncate(maillog, 0)
	cmd := exec.Command(master, "-c", dir, "-d")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Postfix master: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			if len(log) > 4000 {
				log = log[len(log)-4000:]
			}
			t.Logf("Postfix maillog (end):\n%s", log)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		log, _ := os.ReadFile(maillog)
		select {
		case <-done:
			if strings.Contains(out.String()+string(log), "Address already in use") {
				return "", false
			}
			t.Fatalf("Postfix master exited: %s%s", out.String(), log)
		default:
		}
		if strings.Contains(string(log), "daemon started") {
			return addr, true
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix smtpd did not listen on %s: %s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
