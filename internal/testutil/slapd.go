package testutil

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SlapdBase is the suffix of the directory a Slapd serves.
const SlapdBase = "dc=example,dc=com"

// SlapdUser is one posixAccount/inetOrgPerson entry of the fixture
// directory, with its clear-text password for the tests.
type SlapdUser struct {
	UID      string // uid and cn
	DN       string
	Password string // clear text
	Stored   string // the userPassword value
	Number   int    // uidNumber and gidNumber
	Home     string
	Mail     []string
}

// SlapdUsers are the users every Slapd holds. alice and bob live in
// ou=People, carol in ou=Staff,ou=People (found by a subtree search
// only); "dup" exists twice (a search for it returns two entries); the
// last user's name is made of the characters filters and DNs must
// escape.
var SlapdUsers = []SlapdUser{
	{UID: "alice", DN: "cn=alice,ou=People," + SlapdBase, Password: "alice-secret", Number: 10001,
		Stored: "{CRYPT}$6$yubintest3CPcijo$uy4xVpt0aBeyNLR5kZmsZ34Wt6P5tdv.HEZD3EVovKLVDuvnTupYwtaHcF2AKyW/1F7VOaFKirRDHvtfxiOWH0",
		Home:   "/home/alice", Mail: []string{"alice@example.com", "a.liddell@example.com"}},
	{UID: "bob", DN: "cn=bob,ou=People," + SlapdBase, Password: "bob pw", Number: 10002,
		Stored: "{SSHA}vaMea3rAhLGn5yNiEjKEWrQFaVBOEmAQ", Home: "/home/bob", Mail: []string{"bob@example.com"}},
	{UID: "carol", DN: "cn=carol,ou=Staff,ou=People," + SlapdBase, Password: "carol-secret", Number: 10003,
		Stored: "{SSHA}J7Ghtcy5SGf5aWsDi81b7EOH5qT8VeSl", Home: "/home/carol", Mail: []string{"carol@example.org"}},
	{UID: "dup", DN: "cn=dup,ou=People," + SlapdBase, Password: "dup-pw", Number: 10004,
		Stored: "{SSHA}8zUT/i3Ad98UiuWgMnFGSoiAQpd67eB2", Home: "/home/dup", Mail: []string{"dup@example.com"}},
	{UID: "dup", DN: "cn=dup,ou=Staff,ou=People," + SlapdBase, Password: "dup-pw", Number: 10005,
		Stored: "{CRYPT}$6$yubintestvLGhG5m$WPELtbMB9m6KKekaZLdNCFtD9.vY0Bj/GqI.77WsY9Uza9bFFuCp2mdOOQzJ6egtuXflv5qiZMid/kdMDIOiI1",
		Home:   "/home/dup2", Mail: []string{"dup2@example.com"}},
	{UID: `o,brien+(x)*\`, DN: `cn=o\,brien\+(x)*\5C,ou=People,` + SlapdBase, Password: "obrien-pw", Number: 10006,
		Stored: "{SSHA}nuzVRc2Dx2F5PXnr6Qn5kmKxUTSFuke1", Home: "/home/obrien", Mail: []string{"obrien@example.com"}},
}

// Slapd service account and its password (Dovecot's dn/dnpass), which may
// read userPassword; the rootdn for setup over LDAPI.
const (
	SlapdServiceDN = "cn=dovecot_LDAP," + SlapdBase
	SlapdServicePW = "dovecot-pw"
	SlapdRootDN    = "cn=admin," + SlapdBase
	SlapdRootPW    = "admin-secret"
)

// SlapdSASLExternalUID is the uid whose SASL EXTERNAL binds over ldapi://
// are mapped to SlapdServiceDN: the test process's own.
var SlapdSASLExternalUID = os.Getuid()

// SlapdAliases are the nisMailAlias entries under ou=Aliases (cn ->
// rfc822MailMember values), for Postfix ldap: table tests.
var SlapdAliases = map[string][]string{
	"postmaster": {"alice@example.com", "bob@example.com"},
	"sales":      {"carol@example.org"},
}

// Slapd is a running private OpenLDAP slapd with an mdb database holding
// SlapdUsers and SlapdAliases, listening on 127.0.0.1 (LDAP with
// StartTLS, and LDAPS) and on an LDAPI socket.
type Slapd struct {
	Dir      string // instance directory
	LDAPURL  string // ldap://127.0.0.1:port
	LDAPSURL string // ldaps://127.0.0.1:port
	LDAPIURL string // ldapi://%2F...
	LDAPAddr string // 127.0.0.1:port of LDAPURL
	TLS      *TLSFixture
	CAFile   string // the CA certificate clients should trust (TLS.CertFile)
	Log      string // slapd's output
	cmd      *exec.Cmd
	done     chan struct{}
}

var shared struct {
	sync.Mutex
	s   *Slapd
	err string
}

// SharedSlapd returns the test binary's one Slapd, starting it on first
// use: tests must not change its data. It runs until the test binary
// exits (it is killed with the process that started it). It skips (or
// fails under YUBIN_REQUIRE_INTEROP=1) when slapd is not installed.
func SharedSlapd(t testing.TB) *Slapd {
	t.Helper()
	requireSlapd(t)
	shared.Lock()
	defer shared.Unlock()
	if shared.s != nil {
		return shared.s
	}
	if shared.err != "" {
		t.Fatal(shared.err)
	}
	removeStaleSlapdDirs()
	dir, err := os.MkdirTemp("", fmt.Sprintf("yubin-slapd-%d-", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	s, msg := startSlapd(dir, NewTLS(t), true)
	if msg != "" {
		shared.err = msg
		t.Fatal(msg)
	}
	shared.s = s
	return s
}

// StartSlapd starts a private Slapd that the test may stop, freeze or
// change; it is stopped (by PID) when the test ends.
func StartSlapd(t testing.TB) *Slapd {
	t.Helper()
	requireSlapd(t)
	dir, err := os.MkdirTemp("", "yubin-slapd-")
	if err != nil {
		t.Fatal(err)
	}
	s, msg := startSlapd(dir, NewTLS(t), false)
	if msg != "" {
		os.RemoveAll(dir)
		t.Fatal(msg)
	}
	t.Cleanup(func() {
		s.Stop()
		os.RemoveAll(dir)
	})
	return s
}

func requireSlapd(t testing.TB) {
	t.Helper()
	RequireBinary(t, "slapd")
	RequireBinary(t, "slapadd")
	if _, err := os.Stat("/usr/lib/ldap/back_mdb.so"); err != nil {
		Unavailable(t, "slapd's mdb backend (/usr/lib/ldap/back_mdb.so) is missing (Debian package slapd)")
	}
	if _, err := os.Stat("/etc/ldap/schema/nis.schema"); err != nil {
		Unavailable(t, "OpenLDAP schemas (/etc/ldap/schema) are missing (Debian package slapd)")
	}
}

// removeStaleSlapdDirs removes the directories of shared instances whose
// test binary has exited.
func removeStaleSlapdDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "yubin-slapd-*-*"))
	for _, d := range dirs {
		f := strings.Split(filepath.Base(d), "-")
		if len(f) != 4 {
			continue
		}
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			os.RemoveAll(d)
		}
	}
}

// Stop terminates slapd (resuming it first if frozen) and waits for it.
func (s *Slapd) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// PID returns slapd's process id (for CPU accounting in benchmarks).
func (s *Slapd) PID() int { return s.cmd.Process.Pid }

// Freeze stops the slapd process (SIGSTOP): connections are accepted by
// the kernel but nothing answers, as a hung directory server. It returns
// once every thread of slapd is stopped (at most 2 seconds).
func (s *Slapd) Freeze() {
	s.cmd.Process.Signal(syscall.SIGSTOP)
	tasks := fmt.Sprintf("/proc/%d/task/*/stat", s.cmd.Process.Pid)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		stats, _ := filepath.Glob(tasks)
		stopped := len(stats) > 0
		for _, st := range stats {
			b, err := os.ReadFile(st)
			i := bytes.LastIndexByte(b, ')')
			if err == nil && (i < 0 || i+2 >= len(b) || b[i+2] != 'T') {
				stopped = false
			}
		}
		if stopped {
			return
		}
	}
}

// Thaw resumes a frozen slapd (SIGCONT).
func (s *Slapd) Thaw() { s.cmd.Process.Signal(syscall.SIGCONT) }

// Modify runs ldapmodify as the rootdn over LDAPI with the given LDIF.
func (s *Slapd) Modify(t testing.TB, ldif string) {
	t.Helper()
	bin := RequireBinary(t, "ldapmodify")
	cmd := exec.Command(bin, "-x", "-H", s.LDAPIURL, "-D", SlapdRootDN, "-w", SlapdRootPW)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ldapmodify: %v: %s", err, out)
	}
}

// startSlapd writes the config and data into dir, loads the data with
// slapadd and starts slapd; it retries with other ports when one was
// taken between its choice and slapd's bind. It returns an error message
// rather than failing, for the shared instance's sake.
func startSlapd(dir string, tf *TLSFixture, shared bool) (*Slapd, string) {
	// The certificate files are kept in dir: the shared instance and its
	// clients outlive the test that made them. dir is readable by all
	// (Dovecot's auth process reads the CA file as an unprivileged user).
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err.Error()
	}
	own := *tf
	own.CertFile, own.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(own.CertFile, tf.CertPEM, 0o644); err != nil {
		return nil, err.Error()
	}
	if err := os.WriteFile(own.KeyFile, tf.KeyPEM, 0o600); err != nil {
		return nil, err.Error()
	}
	tf = &own
	s := &Slapd{Dir: dir, TLS: tf, CAFile: tf.CertFile, Log: filepath.Join(dir, "slapd.log")}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err.Error()
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(slapdConf(dir, tf)), 0o600); err != nil {
		return nil, err.Error()
	}
	ldif := filepath.Join(dir, "data.ldif")
	if err := os.WriteFile(ldif, []byte(slapdData()), 0o600); err != nil {
		return nil, err.Error()
	}
	if out, err := exec.Command(LookBinary("slapadd"), "-q", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		return nil, fmt.Sprintf("slapadd: %v: %s", err, out)
	}
	sock := filepath.Join(dir, "ldapi")
	s.LDAPIURL = "ldapi://" + url.PathEscape(sock)
	var last string
	for range 5 {
		p1, p2 := pickPort(), pickPort()
		s.LDAPAddr = fmt.Sprintf("127.0.0.1:%d", p1)
		s.LDAPURL = "ldap://" + s.LDAPAddr
		s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", p2)
		ok, msg := s.run(conf, shared)
		if ok {
			return s, ""
		}
		last = msg
		if !strings.Contains(msg, "ddress already in use") {
			break
		}
	}
	return nil, last
}

// pickPort returns a port of 127.0.0.1 that was free a moment ago
// (slapd cannot take a bound socket; startSlapd retries on a clash).
func pickPort() int {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run starts slapd and waits until it answers on its LDAP port.
func (s *Slapd) run(conf string, shared bool) (bool, string) {
	out, err := os.Create(s.Log)
	if err != nil {
		return false, err.Error()
	}
	urls := s.LDAPURL + "/ " + s.LDAPSURL + "/ " + s.LDAPIURL
	s.cmd = exec.Command(LookBinary("slapd"), "-d", "0", "-f", conf, "-h", urls)
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.done = make(chan struct{})
	var startErr error
	if shared {
		// The shared instance outlives any one test: it dies with the
		// test binary (PR_SET_PDEATHSIG). The signal follows the thread
		// that forked, so that thread is kept for good.
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		started := make(chan error)
		go func() {
			runtime.LockOSThread()
			started <- s.cmd.Start()
			select {} // keep this thread alive while the binary runs
		}()
		startErr = <-started
	} else {
		startErr = s.cmd.Start()
	}
	if startErr != nil {
		out.Close()
		return false, "start slapd: " + startErr.Error()
	}
	go func() { s.cmd.Wait(); out.Close(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp4", s.LDAPAddr, time.Second)
		if err == nil {
			c.Close()
			if _, err := os.Stat(filepath.Join(s.Dir, "ldapi")); err == nil {
				return true, ""
			}
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(s.Log)
			return false, "slapd exited: " + string(b)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			b, _ := os.ReadFile(s.Log)
			return false, "slapd did not start within 10s: " + string(b)
		}
	}
}

func slapdConf(dir string, tf *TLSFixture) string {
	var b strings.Builder
	for _, sc := range []string{"core", "cosine", "nis", "inetorgperson", "misc"} {
		fmt.Fprintf(&b, "include /etc/ldap/schema/%s.schema\n", sc)
	}
	fmt.Fprintf(&b, "pidfile %s/slapd.pid\nargsfile %s/slapd.args\n", dir, dir)
	b.WriteString("modulepath /usr/lib/ldap\nmoduleload back_mdb\n")
	fmt.Fprintf(&b, "TLSCertificateFile %s\nTLSCertificateKeyFile %s\nTLSCACertificateFile %s\n", tf.CertFile, tf.KeyFile, tf.CertFile)
	b.WriteString("loglevel none\n")
	// SASL EXTERNAL over ldapi://: a local process of any user is the
	// service account (SlapdSASLExternalUID: only that uid).
	fmt.Fprintf(&b, "authz-regexp \"gidnumber=[0-9]+[+]uidnumber=%d,cn=peercred,cn=external,cn=auth\" %q\n", SlapdSASLExternalUID, SlapdServiceDN)
	b.WriteString("database mdb\nmaxsize 16777216\ndbnosync\n")
	fmt.Fprintf(&b, "suffix %q\nrootdn %q\nrootpw %s\ndirectory %s/db\n", SlapdBase, SlapdRootDN, SlapdRootPW, dir)
	b.WriteString("index objectClass,uid,cn,mail,rfc822MailMember eq\n")
	fmt.Fprintf(&b, "access to attrs=userPassword\n  by dn.exact=%q read\n  by anonymous auth\n  by self read\n  by * none\n", SlapdServiceDN)
	b.WriteString("access to *\n  by * read\n")
	return b.String()
}

func slapdData() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", SlapdBase)
	for _, ou := range []string{"ou=People," + SlapdBase, "ou=Staff,ou=People," + SlapdBase, "ou=Aliases," + SlapdBase} {
		name := strings.TrimPrefix(strings.SplitN(ou, ",", 2)[0], "ou=")
		fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, name)
	}
	fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: dovecot_LDAP\nuserPassword: {SSHA}52paR4xJxM0z+7wDKeGI0pj534xVUxIs\n\n", SlapdServiceDN)
	for _, u := range SlapdUsers {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n", u.DN)
		fmt.Fprintf(&b, "cn: %s\nsn: %s\nuid: %s\n", u.UID, u.UID, u.UID)
		fmt.Fprintf(&b, "uidNumber: %d\ngidNumber: %d\nhomeDirectory: %s\nuserPassword: %s\n", u.Number, u.Number, u.Home, u.Stored)
		for _, m := range u.Mail {
			fmt.Fprintf(&b, "mail: %s\n", m)
		}
		b.WriteString("\n")
	}
	for _, cn := range []string{"postmaster", "sales"} {
		fmt.Fprintf(&b, "dn: cn=%s,ou=Aliases,%s\nobjectClass: nisMailAlias\ncn: %s\n", cn, SlapdBase, cn)
		for _, m := range SlapdAliases[cn] {
			fmt.Fprintf(&b, "rfc822MailMember: %s\n", m)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Output returns what slapd has logged, for failure messages.
func (s *Slapd) Output() string {
	b, _ := os.ReadFile(s.Log)
	return string(bytes.TrimSpace(b))
}
