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

// PostgresBin is where Debian's PostgreSQL 15 keeps initdb and postgres.
const PostgresBin = "/usr/lib/postgresql/15/bin"

// Postgres is a private PostgreSQL 15 server started by a test: its data
// directory and unix socket live in a fresh directory, it listens on
// 127.0.0.1:Port with TLS (the certificate of TLS, for "127.0.0.1"),
// and it is stopped by PID when the test ends.
type Postgres struct {
	Dir       string // instance directory
	SocketDir string // directory of the unix socket (libpq's host=)
	Port      int    // TCP port on 127.0.0.1
	TLS       *TLSFixture
	Log       string
	cmd       *exec.Cmd
	done      chan struct{}
}

// StartPostgres runs initdb and starts postgres as the system user
// postgres. The superuser "postgres" connects over the socket without a
// password (Exec); TCP connections need a password (scram-sha-256). It
// skips (fails under YUBIN_REQUIRE_INTEROP=1) when PostgreSQL 15 is not
// installed. Start one per test package and share it between subtests.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb, server := filepath.Join(PostgresBin, "initdb"), filepath.Join(PostgresBin, "postgres")
	for _, p := range []string{initdb, server} {
		if _, err := os.Stat(p); err != nil {
			Unavailable(t, "%s not found (install postgresql-15 from Debian; .ci/run does)", p)
		}
	}
	RequireBinary(t, "psql")
	uid, gid := systemUser(t, "postgres")
	dir := SharedDir(t)
	p := &Postgres{Dir: dir, SocketDir: dir, Log: filepath.Join(dir, "postgres.log"), TLS: NewTLS(t)}
	data := filepath.Join(dir, "data")
	chownTree(t, dir, uid, gid)
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256",
		"--no-sync", "--encoding=UTF8", "--locale=C")
	cmd.Dir = dir
	asUser(cmd, uid, gid)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	for name, b := range map[string][]byte{"cert.pem": p.TLS.CertPEM, "key.pem": p.TLS.KeyPEM} {
		if err := os.WriteFile(filepath.Join(data, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	chownTree(t, dir, uid, gid)
	var lastErr error
	for range 5 {
		p.Port = FreePort(t)
		p.cmd = exec.Command(server, "-D", data, "-p", strconv.Itoa(p.Port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=300",
			"-c", "ssl=on", "-c", "ssl_cert_file=cert.pem", "-c", "ssl_key_file=key.pem",
			"-c", "logging_collector=off")
		p.cmd.Dir = dir
		logf, err := os.Create(p.Log)
		if err != nil {
			t.Fatal(err)
		}
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		asUser(p.cmd, uid, gid)
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("postgres: %v", err)
		}
		logf.Close()
		p.done = make(chan struct{})
		go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(p.cmd, p.done)
		lastErr = p.wait(30 * time.Second)
		if lastErr == nil {
			t.Cleanup(func() { stopProcess(p.cmd, p.done, syscall.SIGINT, 10*time.Second) })
			return p
		}
		stopProcess(p.cmd, p.done, syscall.SIGINT, 5*time.Second)
		log, _ := os.ReadFile(p.Log)
		if !bytes.Contains(log, []byte("in use")) {
			break
		}
	}
	log, _ := os.ReadFile(p.Log)
	t.Fatalf("postgres did not start: %v\n%s", lastErr, tail(log, 3000))
	return nil
}

func (p *Postgres) wait(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("postgres exited")
		default:
		}
		if _, err := p.ExecErr("postgres", "SELECT 1"); err == nil {
			c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
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
func (p *Postgres) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

// Exec runs SQL as the superuser over the socket with psql in database
// db ("postgres" when empty) and returns the unaligned, tuples-only
// output.
func (p *Postgres) Exec(t testing.TB, db, sql string) string {
	t.Helper()
	out, err := p.ExecErr(db, sql)
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	return out
}

// ExecErr is Exec returning the error.
func (p *Postgres) ExecErr(db, sql string) (string, error) {
	if db == "" {
		db = "postgres"
	}
	cmd := exec.Command(LookBinary("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", p.SocketDir, "-p", strconv.Itoa(p.Port), "-U", "postgres", "-d", db)
	cmd.Stdin = strings.NewReader(sql)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// CreateDatabase makes database name and a login role of the same name
// with password, allowed to read its tables, and returns a libpq
// connect string for TCP with TLS verified against the server's CA
// ("host=127.0.0.1 port=... sslmode=verify-full sslrootcert=...").
// Tables created later with Exec need GrantRead.
func (p *Postgres) CreateDatabase(t testing.TB, name, password string) string {
	t.Helper()
	p.Exec(t, "", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s';\nCREATE DATABASE %s OWNER postgres;", name, password, name))
	p.Exec(t, name, fmt.Sprintf("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO %s;", name))
	return fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=%s password=%s sslmode=verify-full sslrootcert=%s",
		p.Port, name, name, password, p.TLS.CertFile)
}

// Suspend stops the server's processes (SIGSTOP): they keep their
// sockets but answer nothing. The returned func resumes them; the test's
// cleanup resumes them too.
func (p *Postgres) Suspend(t testing.TB) func() {
	resume := suspend(t, p.cmd)
	t.Cleanup(resume)
	return resume
}
