package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MariaDB is a private MariaDB server started by a test: its data
// directory, unix socket and log live in a fresh directory, it listens
// on 127.0.0.1:Port with TLS (the certificate of TLS, for "127.0.0.1"),
// and it is stopped by PID when the test ends.
type MariaDB struct {
	Dir    string // instance directory
	Socket string // unix socket path
	Port   int    // TCP port on 127.0.0.1
	TLS    *TLSFixture
	Log    string // error log path
	cmd    *exec.Cmd
	done   chan struct{}
}

// StartMariaDB initialises a data directory with mariadb-install-db and
// starts mariadbd as the system user mysql. Root on the unix socket is
// the administrator (Exec). It skips (fails under
// YUBIN_REQUIRE_INTEROP=1) when MariaDB is not installed. Start one per
// test package and share it between subtests (a database each): the
// start takes a few seconds.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	server := RequireBinary(t, "mariadbd")
	install := RequireBinary(t, "mariadb-install-db")
	RequireBinary(t, "mariadb")
	uid, gid := systemUser(t, "mysql")
	dir := SharedDir(t)
	m := &MariaDB{Dir: dir, Socket: filepath.Join(dir, "mysqld.sock"), Log: filepath.Join(dir, "error.log"), TLS: NewTLS(t)}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"cert.pem": m.TLS.CertPEM, "key.pem": m.TLS.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	chownTree(t, dir, uid, gid)
	common := []string{"--no-defaults", "--datadir=" + data, "--innodb-buffer-pool-size=16M",
		"--innodb-log-file-size=4M", "--innodb-flush-log-at-trx-commit=0", "--skip-name-resolve",
		"--skip-log-bin", "--character-set-server=utf8mb4"}
	cmd := exec.Command(install, append(common[:1:1], append([]string{"--auth-root-authentication-method=socket",
		"--skip-test-db", "--user=mysql"}, common[1:]...)...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	chownTree(t, dir, uid, gid)
	var lastErr error
	for range 5 {
		m.Port = FreePort(t)
		args := append(common[:len(common):len(common)], "--socket="+m.Socket, "--port="+strconv.Itoa(m.Port),
			"--bind-address=127.0.0.1", "--pid-file="+filepath.Join(dir, "mysqld.pid"), "--log-error="+m.Log,
			"--ssl-cert="+filepath.Join(dir, "cert.pem"), "--ssl-key="+filepath.Join(dir, "key.pem"),
			"--max-connections=500")
		m.cmd = exec.Command(server, args...)
		m.cmd.Dir = dir
		asUser(m.cmd, uid, gid)
		if err := m.cmd.Start(); err != nil {
			t.Fatalf("mariadbd: %v", err)
		}
		m.done = make(chan struct{})
		go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(m.cmd, m.done)
		lastErr = m.wait(30 * time.Second)
		if lastErr == nil {
			t.Cleanup(func() { stopProcess(m.cmd, m.done, syscall.SIGTERM, 10*time.Second) })
			return m
		}
		stopProcess(m.cmd, m.done, syscall.SIGTERM, 5*time.Second)
		log, _ := os.ReadFile(m.Log)
		if !bytes.Contains(log, []byte("Address already in use")) {
			break // not a port race: do not retry
		}
	}
	log, _ := os.ReadFile(m.Log)
	t.Fatalf("mariadbd did not start: %v\n%s", lastErr, tail(log, 3000))
	return nil
}

// wait polls until the server accepts connections on both its socket
// and its port, it exits, or d passes.
func (m *MariaDB) wait(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return fmt.Errorf("mariadbd exited")
		default:
		}
		c, err := net.DialTimeout("unix", m.Socket, time.Second)
		if err == nil {
			c.Close()
			c, err = net.DialTimeout("tcp", m.Addr(), time.Second)
			if err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v", d)
}

// Addr returns "127.0.0.1:Port".
func (m *MariaDB) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port)) }

// Exec runs SQL statements as the administrator (root over the unix
// socket) with the mariadb client, in database db when not empty, and
// returns the output (tab-separated rows, no column names).
func (m *MariaDB) Exec(t testing.TB, db, sql string) string {
	t.Helper()
	out, err := m.ExecErr(db, sql)
	if err != nil {
		t.Fatalf("mariadb: %v\n%s", err, out)
	}
	return out
}

// ExecErr is Exec returning the error.
func (m *MariaDB) ExecErr(db, sql string) (string, error) {
	args := []string{"--no-defaults", "-S", m.Socket, "-u", "root", "--batch", "--skip-column-names"}
	if db != "" {
		args = append(args, "-D", db)
	}
	cmd := exec.Command(LookBinary("mariadb"), args...)
	cmd.Stdin = strings.NewReader(sql)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// CreateDatabase makes database name and a user of the same name with
// password, allowed to read it from 127.0.0.1 and the socket, and
// returns a Dovecot connect string for TCP with TLS verified against
// the server's CA ("host=127.0.0.1 port=... ssl_ca=...").
func (m *MariaDB) CreateDatabase(t testing.TB, name, password string) string {
	t.Helper()
	m.Exec(t, "", fmt.Sprintf("CREATE DATABASE `%s`;\n"+
		"CREATE USER '%s'@'localhost' IDENTIFIED BY '%s';\n"+
		"CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s';\n"+
		"GRANT SELECT ON `%s`.* TO '%s'@'localhost';\n"+
		"GRANT SELECT ON `%s`.* TO '%s'@'127.0.0.1';\n",
		name, name, password, name, password, name, name, name, name))
	return fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=%s password=%s ssl_ca=%s", m.Port, name, name, password, m.TLS.CertFile)
}

// Suspend stops the server's process (SIGSTOP): it keeps its sockets
// but answers nothing, like a hung database. The returned func resumes
// it; the test's cleanup resumes it too.
func (m *MariaDB) Suspend(t testing.TB) func() {
	resume := suspend(t, m.cmd)
	t.Cleanup(resume)
	return resume
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
