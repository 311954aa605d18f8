package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/sqldb"
	"github.com/yubinmail/yubin/auth/sqldb/mysql"
	"github.com/yubinmail/yubin/auth/sqldb/pgsql"
	"github.com/yubinmail/yubin/internal/testutil"
)

var dbSeq atomic.Int32

// TestMariaDB runs the suite against a private MariaDB over TCP with
// TLS verified against the test CA, and over its unix socket.
func TestMariaDB(t *testing.T) {
	m := testutil.StartMariaDB(t)
	newBackend := func(t *testing.T, socket bool) *backend {
		name := fmt.Sprintf("yubin%d", dbSeq.Add(1))
		connect := m.CreateDatabase(t, name, "pw x")
		if socket {
			connect = fmt.Sprintf("host=%s dbname=%s user=%s password=\"pw x\"", m.Socket, name, name)
		} else {
			connect = strings.Replace(connect, `password=pw x`, `password="pw x"`, 1)
		}
		return &backend{name: "mysql", driver: "mysql", drv: mysql.Driver, connect: connect,
			exec:    func(t testing.TB, q string) { t.Helper(); m.Exec(t, name, q) },
			suspend: m.Suspend}
	}
	t.Run("TCP+TLS", func(t *testing.T) {
		b := newBackend(t, false)
		runSuite(t, b)
		db := openDB(t, b, seedConfig(b), nil)
		var name, cipher string
		if err := db.SQL().QueryRow("SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil || cipher == "" {
			t.Errorf("connection not encrypted: %q %v", cipher, err)
		}
	})
	t.Run("Socket", func(t *testing.T) {
		b := newBackend(t, true)
		b.suspend = nil
		runSuite(t, b)
	})
	t.Run("WrongCA", func(t *testing.T) {
		b := newBackend(t, false)
		other := testutil.NewTLS(t)
		b.connect = strings.Replace(b.connect, m.TLS.CertFile, other.CertFile, 1)
		db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: 2 * time.Second})
		if _, err := db.Authenticate(context.Background(), "carol@example.com", "carolpw"); !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("server certificate from another CA: %v, want ErrTempFail", err)
		}
	})
	t.Run("ChainPasswdFileFirst", func(t *testing.T) {
		// passwd-file users are answered while the database hangs.
		b := newBackend(t, false)
		createTable(t, b)
		db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: time.Second})
		file := filepath.Join(t.TempDir(), "passwd")
		h, _ := auth.Hash("SHA512-CRYPT", "filepw")
		os.WriteFile(file, []byte("local@example.com:"+h+"::::::\n"), 0o600)
		svc := &auth.Service{PassDB: auth.PassDBChain{&auth.PasswdFile{Path: file}, db}, AllowPlaintext: true, FailureDelay: -1, PenaltyBase: -1}
		ci := &auth.ConnInfo{Service: "imap", RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}}
		ctx := context.Background()
		if _, err := svc.Login(ctx, ci, "carol@example.com", "carolpw"); err != nil {
			t.Fatalf("SQL user: %v", err)
		}
		resume := m.Suspend(t)
		defer resume()
		start := time.Now()
		if _, err := svc.Login(ctx, ci, "local@example.com", "filepw"); err != nil {
			t.Errorf("passwd-file user while the database hangs: %v", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("passwd-file login waited %v for the hung database", d)
		}
		if _, err := svc.Login(ctx, ci, "carol@example.com", "carolpw"); !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("SQL user while the database hangs: %v, want ErrTempFail", err)
		}
		if _, err := svc.Login(ctx, ci, "local@example.com", "wrong"); !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("wrong passwd-file password goes on to the hung database: %v, want ErrTempFail (as Dovecot)", err)
		}
	})
	t.Run("FailoverHosts", func(t *testing.T) {
		// Two host settings, the first a server that is not there: the
		// login goes to the second (Dovecot's HA list), and a wrong
		// password is still a wrong password, not a temporary failure.
		b := newBackend(t, true)
		b.suspend = nil
		b.connect = "host=" + filepath.Join(t.TempDir(), "no-server.sock") + " " + b.connect
		createTable(t, b)
		db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: 5 * time.Second})
		ctx := context.Background()
		for i := 0; i < 3; i++ {
			if _, err := db.Authenticate(ctx, "carol@example.com", "carolpw"); err != nil {
				t.Fatalf("login %d through the second host: %v", i+1, err)
			}
		}
		if _, err := db.Authenticate(ctx, "carol@example.com", "wrong"); !errors.Is(err, auth.ErrAuthFailed) {
			t.Errorf("wrong password: %v, want ErrAuthFailed", err)
		}
	})
	t.Run("OptionFile", func(t *testing.T) {
		// The database's user and password in a my.cnf group, read
		// with option_file/option_group as libmysqlclient reads them
		// for Dovecot; the socket and database in the connect string.
		b := newBackend(t, true)
		b.suspend = nil
		name := b.connect[strings.Index(b.connect, "dbname=")+len("dbname="):]
		name = name[:strings.IndexByte(name, ' ')]
		cnf := filepath.Join(t.TempDir(), "my.cnf")
		os.WriteFile(cnf, []byte("[client]\nuser = nobody\n[yubin-auth]\nuser = "+name+"\npassword = \"pw x\" # the test's\n"), 0o600)
		b.connect = fmt.Sprintf("host=%s dbname=%s option_file=%s option_group=yubin-auth", m.Socket, name, cnf)
		createTable(t, b)
		db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: 5 * time.Second})
		if _, err := db.Authenticate(context.Background(), "carol@example.com", "carolpw"); err != nil {
			t.Fatalf("login with the database credentials from the option file: %v", err)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		b := newBackend(t, false)
		b.connect = strings.Replace(b.connect, `password="pw x"`, "password=wrong", 1)
		db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: 2 * time.Second})
		if _, err := db.Authenticate(context.Background(), "carol@example.com", "carolpw"); !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("database refuses our login: %v, want ErrTempFail", err)
		}
	})
}

// TestPostgreSQL runs the suite against a private PostgreSQL 15 over TCP
// with TLS (sslmode=verify-full) and over its unix socket.
func TestPostgreSQL(t *testing.T) {
	p := testutil.StartPostgres(t)
	newBackend := func(t *testing.T, socket bool) *backend {
		name := fmt.Sprintf("yubin%d", dbSeq.Add(1))
		connect := p.CreateDatabase(t, name, "pwsecret")
		if socket {
			connect = fmt.Sprintf("host=%s port=%d dbname=%s user=%s", p.SocketDir, p.Port, name, name)
		}
		return &backend{name: "pgsql", driver: "pgsql", drv: pgsql.Driver, connect: connect,
			exec:    func(t testing.TB, q string) { t.Helper(); p.Exec(t, name, q) },
			suspend: p.Suspend}
	}
	t.Run("TCP+TLS", func(t *testing.T) {
		b := newBackend(t, false)
		runSuite(t, b)
		db := openDB(t, b, seedConfig(b), nil)
		var ssl bool
		if err := db.SQL().QueryRow("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
			t.Errorf("connection not encrypted: %v %v", ssl, err)
		}
	})
	t.Run("Socket", func(t *testing.T) {
		b := newBackend(t, true)
		b.suspend = nil
		runSuite(t, b)
	})
	t.Run("WrongCA", func(t *testing.T) {
		b := newBackend(t, false)
		other := testutil.NewTLS(t)
		b.connect = strings.Replace(b.connect, p.TLS.CertFile, other.CertFile, 1)
		db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: 2 * time.Second})
		if _, err := db.Authenticate(context.Background(), "carol@example.com", "carolpw"); !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("server certificate from another CA: %v, want ErrTempFail", err)
		}
	})
}

// TestSQLDown: a server that is not there is a temporary failure, fast.
func TestSQLDown(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t) // nothing listens there
	for _, b := range []*backend{
		{driver: "mysql", drv: mysql.Driver, connect: fmt.Sprintf("host=127.0.0.1 port=%d dbname=x user=x password=x", port)},
		{driver: "pgsql", drv: pgsql.Driver, connect: fmt.Sprintf("host=127.0.0.1 port=%d dbname=x user=x password=x", port)},
	} {
		db := openDB(t, b, seedConfig(b), &sqldb.Options{Timeout: 2 * time.Second})
		start := time.Now()
		if _, err := db.Authenticate(context.Background(), "carol@example.com", "carolpw"); !errors.Is(err, auth.ErrTempFail) {
			t.Errorf("%s down: %v, want ErrTempFail", b.driver, err)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("%s down: answered after %v", b.driver, d)
		}
	}
}
