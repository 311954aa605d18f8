package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// PGCluster is a private PostgreSQL 15 cluster shared by the tests of
// one package: started once (from TestMain, or lazily by the first test
// that asks), reachable only over a unix socket in its own temporary
// directory, with a fresh database per test (NewDatabase). The
// superuser "postgres" connects without a password.
type PGCluster struct {
	Dir       string
	SocketDir string
	Port      int
	Log       string
	cmd       *exec.Cmd
	done      chan struct{}
	seq       atomic.Int64
}

// StartPGCluster runs initdb and postgres (as the system user postgres
// when the test runs as root) with fsync off. It needs no testing.TB,
// so a TestMain can call it; Stop ends it. The error says why it could
// not start (PostgreSQL 15 missing included).
func StartPGCluster() (*PGCluster, error) { return startPGCluster(false) }

// StartPGClusterDurable is StartPGCluster with fsync and synchronous
// commit on, as a production database runs: for measurements of what
// durability costs (command-line settings outrank ALTER SYSTEM, so the
// cluster must start this way).
func StartPGClusterDurable() (*PGCluster, error) { return startPGCluster(true) }

func startPGCluster(durable bool) (*PGCluster, error) {
	initdb, server := filepath.Join(PostgresBin, "initdb"), filepath.Join(PostgresBin, "postgres")
	for _, p := range []string{initdb, server} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s not found (install postgresql-15 from Debian; .ci/run does)", p)
		}
	}
	if LookBinary("psql") == "" {
		return nil, errors.New("psql not found")
	}
	var uid, gid int
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("system user postgres missing: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	dir, err := os.MkdirTemp("", "yubin-pg-")
	if err != nil {
		return nil, err
	}
	c := &PGCluster{Dir: dir, SocketDir: dir, Log: filepath.Join(dir, "postgres.log"), Port: 5432}
	fail := func(err error) (*PGCluster, error) { os.RemoveAll(dir); return nil, err }
	// 0755: a server under test that dropped root (to nobody) reaches the socket.
	os.Chmod(dir, 0o755)
	if os.Geteuid() == 0 {
		os.Chown(dir, uid, gid)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=reject",
		"--no-sync", "--encoding=UTF8", "--locale=C")
	cmd.Dir = dir
	asUser(cmd, uid, gid)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	// Unix socket only: the port number only names the socket file.
	sync := "off"
	if durable {
		sync = "on"
	}
	c.cmd = exec.Command(server, "-D", data, "-p", strconv.Itoa(c.Port), "-k", dir,
		"-c", "listen_addresses=", "-c", "fsync="+sync, "-c", "synchronous_commit="+sync,
		"-c", "full_page_writes="+sync, "-c", "shared_buffers=32MB", "-c", "max_connections=400",
		"-c", "logging_collector=off")
	c.cmd.Dir = dir
	logf, err := os.Create(c.Log)
	if err != nil {
		return fail(err)
	}
	if os.Geteuid() == 0 {
		logf.Chown(uid, gid)
	}
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	asUser(c.cmd, uid, gid)
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		return fail(fmt.Errorf("postgres: %v", err))
	}
	logf.Close()
	c.done = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := c.Exec("postgres", "SELECT 1"); err == nil {
			return c, nil
		}
		select {
		case <-c.done:
			log, _ := os.ReadFile(c.Log)
			return fail(fmt.Errorf("postgres exited:\n%s", tail(log, 3000)))
		default:
		}
		if time.Now().After(deadline) {
			c.Stop()
			return nil, errors.New("postgres did not start within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the cluster (fast shutdown, then SIGKILL) and removes its
// directory.
func (c *PGCluster) Stop() {
	stopProcess(c.cmd, c.done, syscall.SIGINT, 10*time.Second)
	os.RemoveAll(c.Dir)
}

// Exec runs SQL as the superuser with psql in database db.
func (c *PGCluster) Exec(db, sql string) (string, error) {
	cmd := exec.Command(LookBinary("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", c.SocketDir, "-p", strconv.Itoa(c.Port), "-U", "postgres", "-d", db)
	cmd.Stdin = strings.NewReader(sql)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ConnString returns a libpq keyword/value string for database db over
// the unix socket as the superuser.
func (c *PGCluster) ConnString(db string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s", c.SocketDir, c.Port, db)
}

// NewDatabase creates a fresh database for one test and returns its
// name; it is dropped when the test ends.
func (c *PGCluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.seq.Add(1))
	if out, err := c.Exec("postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v\n%s", err, out)
	}
	t.Cleanup(func() { c.Exec("postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return name
}

// Suspend stops the cluster's processes (SIGSTOP), as a database that
// no longer answers; the returned func resumes them (also at cleanup).
func (c *PGCluster) Suspend(t testing.TB) func() {
	var once sync.Once
	resume := suspend(t, c.cmd)
	r := func() { once.Do(resume) }
	t.Cleanup(r)
	return r
}

// PGClusterOnce starts a PGCluster on first use and shares it; a
// package's TestMain calls Stop on the result of Get when tests end.
type PGClusterOnce struct {
	once sync.Once
	c    *PGCluster
	err  error
}

// Get returns the shared cluster, starting it on first call, or marks
// the test unavailable (skip; fail under YUBIN_REQUIRE_INTEROP=1).
func (o *PGClusterOnce) Get(t testing.TB) *PGCluster {
	t.Helper()
	o.once.Do(func() { o.c, o.err = StartPGCluster() })
	if o.err != nil {
		Unavailable(t, "PostgreSQL: %v", o.err)
	}
	return o.c
}

// Stop stops the cluster if it was started.
func (o *PGClusterOnce) Stop() {
	if o.c != nil {
		o.c.Stop()
	}
}

// CPUTime returns the CPU time (user+system) the cluster's processes
// have used so far: the live ones, and through the postmaster's
// children fields those that have exited (clock ticks of 10 ms).
func (c *PGCluster) CPUTime() time.Duration {
	var ticks int
	for pid := range processTree(c.cmd.Process.Pid) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
			v, _ := strconv.Atoi(f[i])
			ticks += v
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
