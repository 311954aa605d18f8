package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/internal/testutil"
)

// binary is the fullserver program, built once for the package's tests.
var binary string

// raceBuild is set when the tests run with -race (race_test.go).
var raceBuild bool

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fullserver-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "fullserver")
	args := []string{"build", "-o", binary}
	if raceBuild {
		args = append(args, "-race")
	}
	if pamBuilt { // the binary as the tests were built
		args = append(args, "-tags", "pam")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one running fullserver.
type instance struct {
	t      *testing.T
	cmd    *exec.Cmd
	data   string
	cfg    string   // -config; "" to run without the flag
	dir    string   // working directory, "" for the test's
	wrap   []string // a command the server runs under ("prlimit", "--nofile=256"), nil for none
	ports  map[string]int
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	exit   error
}

// syncBuf guards a bytes.Buffer written by the process reader.
type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// testConfig returns a main.cf for a test instance: port 0 on 127.0.0.1
// for every listener (the server binds ephemeral ports itself and names
// them in its welcome text, so no other test can take them first), data
// in a directory the mail owner can use, no failure delay.
func testConfig(t *testing.T, data string, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_directory = %s\nmail_owner = nobody\nallow_nobody_mail_owner = yes\nauth_failure_delay = 0\n", data)
	for _, p := range []string{"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"} {
		fmt.Fprintf(&b, "%s_port = 0\n", p)
	}
	b.WriteString(extra)
	return b.String()
}

// listenerLine is a line of the welcome text that names a listener and
// the address it bound: "  smtp         127.0.0.1:40123", "  metrics
// http://127.0.0.1:40124/metrics".
var listenerLine = regexp.MustCompile(`^  (\S+) +(?:http://)?[0-9.]+:([0-9]+)(?:/metrics)?$`)

// newInstance writes the configuration and data directory without
// starting anything.
func newInstance(t *testing.T, extra string) *instance {
	t.Helper()
	data := filepath.Join(testutil.SharedDir(t), "data")
	in := &instance{t: t, data: data, ports: map[string]int{}, done: make(chan struct{})}
	in.cfg = filepath.Join(filepath.Dir(data), "main.cf")
	if err := os.WriteFile(in.cfg, []byte(testConfig(t, data, extra)), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

// start runs the server and waits until it says it is running.
func (in *instance) start(args ...string) {
	t := in.t
	t.Helper()
	if in.cfg != "" {
		args = append([]string{"-config", in.cfg}, args...)
	}
	in.cmd = exec.Command(binary, args...)
	if len(in.wrap) > 0 {
		in.cmd = exec.Command(in.wrap[0], append(append(in.wrap[1:len(in.wrap):len(in.wrap)], binary), args...)...)
	}
	in.cmd.Dir = in.dir
	in.cmd.Stderr = lockedWriter{&in.mu, &in.stderr}
	pr, pw := io.Pipe()
	in.cmd.Stdout = pw
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	ports := map[string]int{}
	go func() {
		// The welcome text comes in one write, so the read that has
		// its first line has all of it.
		buf := make([]byte, 64<<10)
		for {
			n, err := pr.Read(buf)
			chunk := string(buf[:n])
			in.mu.Lock()
			in.stdout.WriteString(chunk)
			in.mu.Unlock()
			if strings.Contains(chunk, "yubin mail host running") {
				for _, l := range strings.Split(chunk, "\n") {
					if m := listenerLine.FindStringSubmatch(l); m != nil {
						ports[m[1]], _ = strconv.Atoi(m[2])
					}
				}
				select {
				case ready <- true:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		in.exit = in.cmd.Wait()
		pw.Close()
		close(in.done)
	}()
	t.Cleanup(func() {
		in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(20 * time.Second):
			in.cmd.Process.Kill()
			<-in.done
		}
		if strings.Contains(in.errText(), "WARNING: DATA RACE") {
			t.Errorf("the server reported a data race")
		}
		if t.Failed() {
			t.Logf("fullserver stdout:\n%s\nstderr:\n%s", in.out(), in.errText())
		}
	})
	select {
	case <-ready:
		// The listeners were bound before the welcome text, so
		// connections wait in their backlog until Accept.
		in.ports = ports
	case <-in.done:
		t.Fatalf("fullserver exited: %v\nstderr:\n%s", in.exit, in.errText())
	case <-time.After(30 * time.Second):
		t.Fatalf("fullserver did not start\nstderr:\n%s", in.errText())
	}
}

func (in *instance) out() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stdout.String()
}

func (in *instance) errText() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stderr.String()
}

// addr is the address the server bound for service; the test fails
// when the service is not listening.
func (in *instance) addr(service string) string {
	in.t.Helper()
	p, ok := in.ports[service]
	if !ok {
		in.t.Fatalf("%s is not listening", service)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}

// runCmd runs the binary to completion and returns its exit code, stdout
// and stderr.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func TestCheckReportsUnknownParameterWithFileLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte("myhostname = mail.example.jp\n# comment\nmydestinaton = $myhostname\nsmtpd_recipient_restrictions =\n    permit_mynetworks,\n    reject_unauth_destination\nsubmision/smtpd_sasl_auth_enable = yes\nmailbox_transport = dovecot\n"), 0o644)
	// "check" and a start report the same errors and exit non-zero (the
	// start before anything listens: the config names no data directory
	// or ports, so it would use the defaults otherwise).
	for _, args := range [][]string{{"-config", cf, "check"}, {"-config", cf}} {
		code, stdout, stderr := runCmd(t, "", args...)
		if code == 0 {
			t.Fatalf("%v exited 0; stdout %s", args, stdout)
		}
		for _, want := range []string{
			cf + `:3: unknown parameter "mydestinaton" (did you mean "mydestination"?)`,
			cf + `:7: unknown service "submision" (did you mean "submission"?)`,
			cf + `:8: mailbox_transport = dovecot: transport "dovecot" is not supported`,
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, stderr)
			}
		}
	}
}

// TestRefusesMailOwnerRoot: started as root with mail_owner = root, the
// host refuses to run rather than handle mail as root.
func TestRefusesMailOwnerRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	in := newInstance(t, "mail_owner = root\n")
	code, stdout, stderr := runCmd(t, "", "-config", in.cfg)
	if code == 0 || !strings.Contains(stderr, `mail_owner "root" is root: refusing to handle mail as root`) {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	if strings.Contains(stdout, "running") {
		t.Errorf("started after the refusal:\n%s", stdout)
	}
}

func TestCheckAcceptsSeedSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	// Seed 001's main.cf additions, pasted as they are.
	seed := `myhostname = mail.zeke.ne.jp
mydomain = zeke.ne.jp
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination = $myhostname, localhost.$mydomain, localhost, $mydomain,
ace.zeke.ne.jp, cafe.zeke.ne.jp, myhome.zeke.ne.jp,
mynetworks = 192.168.1.0/24, 127.0.0.0/8
recipient_delimiter = +
home_mailbox = Maildir/
smtpd_banner = $myhostname ESMTP $mail_name
smtpd_tls_auth_only = yes
smtpd_tls_received_header = yes
smtp_tls_loglevel = 1
smtp_tls_note_starttls_offer = yes

# SASL parameters
smtpd_sasl_auth_enable = no
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_local_domain = $myhostname

# Anti-Abuse
disable_vrfy_command = yes
smtpd_peername_lookup = no
anvil_rate_time_unit = 60s
smtpd_client_connection_rate_limit = 120
smtpd_client_message_rate_limit = 120
smtpd_client_recipient_rate_limit = 120
smtpd_client_connection_count_limit = 25

# Performance and Regulation
message_size_limit = 10485760
mailbox_size_limit = 0
default_process_limit = 50
default_destination_concurrency_limit = 10
initial_destination_concurrency = 3
submission/syslog_name = postfix/submission
submission/smtpd_tls_security_level = encrypt
submission/smtpd_sasl_auth_enable = yes
submission/smtpd_recipient_restrictions = permit_sasl_authenticated,reject
`
	// The seed's mydestination continues on unindented lines (a copy
	// artefact); indent them as main.cf requires.
	seed = strings.Replace(seed, "\nace.zeke", "\n    ace.zeke", 1)
	os.WriteFile(cf, []byte(seed+"data_directory = "+dir+"/data\n"), 0o644)
	code, stdout, stderr := runCmd(t, "", "-config", cf, "check")
	if code != 0 {
		t.Fatalf("check exit %d:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, cf+": configuration usable, but 6 setting(s) have no effect") {
		t.Errorf("stdout = %q", stdout)
	}
	// The settings of seed 001 that have no effect here are named, not
	// passed in silence.
	wantUnused(t, stderr, "smtp_tls_loglevel", "smtp_tls_note_starttls_offer", "smtpd_sasl_type", "smtpd_sasl_path", "smtpd_sasl_local_domain", "smtpd_peername_lookup")
	code, stdout, _ = runCmd(t, "", "-config", cf, "config")
	if code != 0 || !strings.Contains(stdout, "mynetworks = 192.168.1.0/24, 127.0.0.0/8\n") || !strings.Contains(stdout, "submission/smtpd_tls_security_level = encrypt\n") {
		t.Errorf("config output:\n%s", stdout)
	}
	if strings.Contains(stdout, "smtpd_peername_lookup") {
		t.Errorf("config printed a setting equal to its default:\n%s", stdout)
	}
}

func TestStartFailsOnPortInUseLeavingNothing(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// The LMTP TCP listener is opened after every other one, the LMTP
	// socket among them.
	in := newInstance(t, "lmtp_inet_listener = "+busy.Addr().String()+"\n")
	code, stdout, stderr := runCmd(t, "", "-config", in.cfg)
	if code == 0 {
		t.Fatalf("started with a port in use:\n%s", stdout)
	}
	if !strings.Contains(stderr, "lmtp listener "+busy.Addr().String()+": address already in use") {
		t.Errorf("stderr = %s", stderr)
	}
	// Nothing half-started: the listeners opened before it are closed
	// again and the LMTP socket is gone.
	if _, err := os.Stat(filepath.Join(in.data, "lmtp.sock")); err == nil {
		t.Error("lmtp socket left behind")
	}
}

func TestStartFailsOnMissingCertificate(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "smtpd_tls_cert_file = /nonexistent/cert.pem\nsmtpd_tls_key_file = /nonexistent/key.pem\n")
	code, _, stderr := runCmd(t, "", "-config", in.cfg)
	if code == 0 || !strings.Contains(stderr, "TLS certificate /nonexistent/cert.pem: ") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	code, _, stderr = runCmd(t, "", "-config", in.cfg, "check")
	if code == 0 || !strings.Contains(stderr, "/nonexistent/cert.pem") {
		t.Errorf("check: exit %d, stderr %s", code, stderr)
	}
}

func TestStartFailsOnUnwritableDataDir(t *testing.T) {
	t.Parallel()
	// A data directory inside a directory the server may not write (as
	// root it runs as nobody, who cannot enter the test's private
	// temporary directory).
	parent := t.TempDir()
	if os.Geteuid() != 0 {
		os.Chmod(parent, 0o500)
		t.Cleanup(func() { os.Chmod(parent, 0o700) })
	}
	data := filepath.Join(parent, "data")
	in := newInstance(t, "")
	os.WriteFile(in.cfg, []byte(testConfig(t, data, "")), 0o644)
	code, _, stderr := runCmd(t, "", "-config", in.cfg)
	if code == 0 || !strings.Contains(stderr, "data directory") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

func TestStartsAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "")
	in.start()
	if _, err := os.Stat(filepath.Join(in.data, "tls", "cert.pem")); err != nil {
		t.Errorf("no self-signed certificate: %v", err)
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
	if in.exit != nil {
		t.Errorf("exit: %v\n%s", in.exit, in.errText())
	}
}

// TestProtocolsSwitchesServices: "protocols = imap" (seed 003, 1.7)
// turns POP3 and LMTP off while SMTP and IMAP run; log_format = json
// gives JSON log lines.
func TestProtocolsSwitchesServices(t *testing.T) {
	t.Parallel()
	in := newInstance(t, "protocols = imap\nlog_format = json\n")
	in.start()
	for svc, want := range map[string]bool{"smtp": true, "imap": true, "imaps": true, "pop3": false, "pop3s": false} {
		if _, bound := in.ports[svc]; bound != want {
			t.Errorf("%s listening = %v, want %v", svc, bound, want)
			continue
		}
		if !want {
			continue
		}
		c, err := net.DialTimeout("tcp", in.addr(svc), time.Second)
		if err != nil {
			t.Errorf("%s: %v", svc, err)
			continue
		}
		c.Close()
	}
	if _, err := os.Stat(filepath.Join(in.data, "lmtp.sock")); err == nil {
		t.Error("LMTP socket exists with protocols = imap")
	}
	// The welcome text names only what runs.
	welcome := in.out()
	for _, gone := range []string{"pop3", "POP3", "lmtp", "LMTP"} {
		if strings.Contains(welcome, gone) {
			t.Errorf("welcome text mentions %s, which protocols switched off:\n%s", gone, welcome)
		}
	}
	for _, want := range []string{"IMAP", "port " + strconv.Itoa(in.ports["imap"]) + " (STARTTLS) or " + strconv.Itoa(in.ports["imaps"]) + " (TLS)", "SMTP submission"} {
		if !strings.Contains(welcome, want) {
			t.Errorf("welcome text lacks %q:\n%s", want, welcome)
		}
	}
	if !strings.HasPrefix(in.errText(), "{") || !strings.Contains(in.errText(), `"msg":`) {
		t.Errorf("log is not JSON:\n%s", in.errText())
	}
}

// TestCheckReportsBadRestrictionWithFileLine: a misspelt restriction is
// found by check and reported at the line that set the list.
func TestCheckReportsBadRestrictionWithFileLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte("data_directory = "+dir+"/data\nsmtpd_recipient_restrictions =\n    permit_mynetworks,\n    reject_unauth_destinaton\n"), 0o644)
	code, _, stderr := runCmd(t, "", "-config", cf, "check")
	if code == 0 || !strings.Contains(stderr, cf+":2: smtpd_recipient_restrictions") || !strings.Contains(stderr, "reject_unauth_destinaton") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

// TestCheckAcceptsSeedRestrictions: the restriction settings of seeds
// 000, 002, 003 and 004 pasted as they are (later ones override earlier
// ones, as in main.cf) pass check.
func TestCheckAcceptsSeedRestrictions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hc := filepath.Join(dir, "header_checks")
	os.WriteFile(hc, []byte("/^Received: from .*spam-net.com/ REJECT\n"), 0o644)
	cf := filepath.Join(dir, "main.cf")
	os.WriteFile(cf, []byte(`data_directory = `+dir+`/data
# seed 000
mydomain = example.jp
myorigin = $mydomain
mynetworks_style = subnet
mynetworks = 192.168.1.0/24, 192.168.10.0/24, 127.0.0.0/8
home_mailbox = Maildir/
mailbox_size_limit = 2097152000
message_size_limit = 1048576000
header_checks = regexp:`+hc+`
smtpd_helo_required = yes
smtpd_helo_restrictions = permit_mynetworks reject_unknown_hostname
smtpd_recipient_restrictions =
        permit_mynetworks,
        reject_unknown_sender_domain,
        reject
# seed 002
smtpd_helo_restrictions = permit_mynetworks, reject_invalid_helo_hostname
smtpd_sender_restrictions = permit_mynetworks, reject_unknown_sender_domain
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
# seed 003
mynetworks = 127.0.0.1/32, [::1]/128, 192.0.2.1/24, [2001:db8:1::1]/64
smtpd_sasl_auth_enable = yes
broken_sasl_auth_clients = yes
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated
    defer_unauth_destination
smtpd_sender_restrictions = reject_sender_login_mismatch
smtpd_sasl_security_options = noanonymous, noplaintext
# seed 004
mynetworks = 192.168.0.0/23, 127.0.0.0/8
smtpd_sasl_security_options = noanonymous
smtpd_recipient_restrictions = permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination
`), 0o644)
	code, stdout, stderr := runCmd(t, "", "-config", cf, "check")
	if code != 0 || !strings.Contains(stdout, cf+": configuration usable, but 2 setting(s) have no effect") {
		t.Fatalf("check exit %d:\n%s%s", code, stdout, stderr)
	}
	// Seed 000's mydomain takes effect through myorigin = $mydomain,
	// its home_mailbox without a mail_location; mynetworks_style does
	// not where mynetworks is set, as in Postfix.
	wantUnused(t, stderr, "mynetworks_style", "broken_sasl_auth_clients")
	code, stdout, _ = runCmd(t, "", "-config", cf, "config")
	if code != 0 || !strings.Contains(stdout, "mynetworks = 192.168.0.0/23, 127.0.0.0/8\n") || !strings.Contains(stdout, "smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated\n    defer_unauth_destination\n") && !strings.Contains(stdout, "smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination\n") {
		t.Errorf("config output:\n%s", stdout)
	}
}
