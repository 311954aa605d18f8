package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/dovecotauth"
	"github.com/yubinmail/yubin/auth/sqldb"
	"github.com/yubinmail/yubin/auth/sqldb/mysql"
	"github.com/yubinmail/yubin/auth/sqldb/pgsql"
	"github.com/yubinmail/yubin/auth/sqldb/sqlite"
	"github.com/yubinmail/yubin/internal/testutil"
)

// benchUsers is how many users the benchmark table holds.
const benchUsers = 200

// benchTable returns SQL making a users table of benchUsers users
// (user<i>@example.com, password "pw<i>", SHA512-CRYPT with Dovecot's
// default 5000 rounds).
func benchTable(b *testing.B) string {
	var sql strings.Builder
	sql.WriteString("CREATE TABLE users (username VARCHAR(255) NOT NULL PRIMARY KEY, password VARCHAR(255) NOT NULL);\n")
	for i := range benchUsers {
		h, err := auth.Hash("SHA512-CRYPT", fmt.Sprintf("pw%d", i))
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&sql, "INSERT INTO users VALUES ('user%d@example.com', '%s');\n", i, h)
	}
	return sql.String()
}

// benchConf is the dovecot-sql.conf.ext both yubin and Dovecot read.
func benchConf(b *testing.B, driver, connect string) string {
	path := filepath.Join(testutil.SharedDir(b), "dovecot-sql.conf.ext")
	conf := fmt.Sprintf("driver = %s\nconnect = %s\ndefault_pass_scheme = SHA512-CRYPT\n"+
		"password_query = SELECT username AS user, password FROM users WHERE username = '%%u'\n", driver, connect)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// yubinAuthSocket serves the auth-client protocol from a Service over
// the SQL passdb (behind an auth.Cache when cache is set), so that
// yubin and Dovecot are measured through the same protocol and client.
func yubinAuthSocket(b *testing.B, conf string, drv sqldb.Driver, cache bool) string {
	cfg, err := sqldb.LoadConfig(conf)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqldb.Open(cfg, drv, &sqldb.Options{MaxConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var pass auth.PassDB = db
	if cache {
		pass = &auth.Cache{PassDB: db}
	}
	// No per-IP penalty: the client asks Dovecot for none (no-penalty).
	svc := &auth.Service{PassDB: pass, AllowPlaintext: true, FailureDelay: -1, PenaltyBase: -1}
	s := &dovecotauth.Server{Authenticator: svc}
	path := filepath.Join(testutil.SharedDir(b), "auth-client")
	l, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(l)
	b.Cleanup(func() { s.Close() })
	return path
}

// dovecotAuthSocket starts a private Dovecot 2.3 whose passdb is the
// same SQL configuration (dovecot-mysql / dovecot-pgsql), with
// auth_cache_size 10M when cache is set, 0 otherwise.
func dovecotAuthSocket(b *testing.B, conf string, cache bool) (path, dovecotConf string) {
	empty := filepath.Join(testutil.SharedDir(b), "passwd")
	os.WriteFile(empty, nil, 0o644)
	size := "0"
	if cache {
		size = "10M"
	}
	d := testutil.StartDovecot(b, testutil.DovecotConfig{
		PasswdFile: empty, // no users: every lookup goes on to the sql passdb
		Extra: "auth_mechanisms = plain\nauth_failure_delay = 0\nauth_cache_size = " + size + "\n" +
			"auth_cache_ttl = 1h\nservice auth {\n  unix_listener auth-client {\n    mode = 0666\n  }\n}\n" +
			"passdb {\n  driver = sql\n  args = " + conf + "\n}\n",
	})
	return filepath.Join(d.Dir, "run", "auth-client"), d.Conf
}

// cpuTime returns the CPU time (user+system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dovecotAuthCPU returns the CPU time used so far by the auth processes
// of the Dovecot started with conf ("dovecot/auth" children of the
// master whose command line names conf), from /proc.
func dovecotAuthCPU(conf string) time.Duration {
	master := ""
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range cmdlines {
		b, _ := os.ReadFile(c)
		if strings.Contains(string(b), conf) {
			master = filepath.Base(filepath.Dir(c))
		}
	}
	var total time.Duration
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || !strings.Contains(string(b[:i]), "(auth") {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 || f[1] != master {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		stt, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+stt) * time.Second / 100 // USER_HZ
	}
	return total
}

var benchConn = &auth.ConnInfo{Service: "imap",
	LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 143}, RemoteAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}}

// benchClients is how many logins are in flight at once.
const benchClients = 16

// benchSide is one server under measurement and what its rounds added
// up to.
type benchSide struct {
	name        string
	cl          *dovecotauth.Client
	dovecotConf string // the Dovecot's config, "" for yubin (in this process)
	logins      int64
	wall, cpu   time.Duration
}

// cpuNow is the CPU time (user+system) of this process (the client, and
// for yubin the server too) plus, for Dovecot, its auth processes: the
// server's and the client's work, not the database's.
func (sd *benchSide) cpuNow() time.Duration {
	if sd.dovecotConf != "" {
		return cpuTime() + dovecotAuthCPU(sd.dovecotConf)
	}
	return cpuTime()
}

// login logs user i%benchUsers in.
func (sd *benchSide) login(ctx context.Context, i int) error {
	u := i % benchUsers
	id, err := sd.cl.Login(ctx, benchConn, fmt.Sprintf("user%d@example.com", u), fmt.Sprintf("pw%d", u))
	if err == nil && id == nil {
		err = fmt.Errorf("no identity")
	}
	if err != nil {
		return fmt.Errorf("%s: login user%d: %w", sd.name, u, err)
	}
	return nil
}

// round runs PLAIN logins from benchClients goroutines for d.
func (sd *benchSide) round(b *testing.B, d time.Duration) {
	var n atomic.Int64
	var failed atomic.Pointer[error]
	cpu0, start := sd.cpuNow(), time.Now()
	var wg sync.WaitGroup
	for g := range benchClients {
		wg.Go(func() {
			for i := g; time.Since(start) < d; i += benchClients {
				if err := sd.login(context.Background(), i); err != nil {
					failed.Store(&err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	sd.wall += time.Since(start)
	sd.cpu += sd.cpuNow() - cpu0
	sd.logins += n.Load()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// benchAgainstDovecot measures yubin and Dovecot against the same
// database in the same run, in interleaved one-second rounds (b.N
// rounds: use -benchtime 6x), cold (no cache: a query and a
// SHA512-CRYPT per login) and warm (auth cache). It reports logins per
// second of each and their ratio, and CPU time per login of each (see
// benchSide.cpuNow) and their ratio: on a shared machine the CPU
// figures are the ones to trust.
func benchAgainstDovecot(b *testing.B, driver, connect string, drv sqldb.Driver) {
	conf := benchConf(b, driver, connect)
	for _, warm := range []bool{false, true} {
		name := map[bool]string{false: "cold", true: "warm"}[warm]
		b.Run(name, func(b *testing.B) {
			ypath := yubinAuthSocket(b, conf, drv, warm)
			dpath, dconf := dovecotAuthSocket(b, conf, warm)
			client := func(path string) *dovecotauth.Client {
				cl := &dovecotauth.Client{Path: path, AllowPlaintext: true, NoPenalty: true, Timeout: 30 * time.Second}
				b.Cleanup(func() { cl.Close() })
				return cl
			}
			y := &benchSide{name: "yubin", cl: client(ypath)}
			d := &benchSide{name: "dovecot", cl: client(dpath), dovecotConf: dconf}
			for _, sd := range []*benchSide{y, d} {
				n := 1
				if warm {
					n = benchUsers
				}
				for i := range n {
					if err := sd.login(context.Background(), i); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ResetTimer()
			for i := range b.N {
				// Alternate who goes first, against drifts in the
				// machine's load.
				first, second := y, d
				if i%2 == 1 {
					first, second = d, y
				}
				first.round(b, time.Second)
				second.round(b, time.Second)
			}
			b.StopTimer()
			rate := func(sd *benchSide) float64 { return float64(sd.logins) / sd.wall.Seconds() }
			per := func(sd *benchSide) float64 { return float64(sd.cpu.Microseconds()) / float64(max(sd.logins, 1)) }
			b.ReportMetric(rate(y), "yubin-logins/s")
			b.ReportMetric(rate(d), "dovecot-logins/s")
			b.ReportMetric(rate(y)/rate(d), "rate-ratio")
			b.ReportMetric(per(y), "yubin-cpu-µs/login")
			b.ReportMetric(per(d), "dovecot-cpu-µs/login")
			b.ReportMetric(per(d)/per(y), "cpu-ratio")
		})
	}
}

// BenchmarkMariaDBLoginsVsDovecot: PLAIN logins through the auth-client
// protocol, yubin's sqldb against Dovecot 2.3 with dovecot-mysql, both
// reading the same table over MariaDB's unix socket.
//
//	go test -run XXX -bench MariaDBLoginsVsDovecot -benchtime 6x ./auth/sqldb
func BenchmarkMariaDBLoginsVsDovecot(b *testing.B) {
	testutil.RequireBinary(b, "dovecot")
	m := testutil.StartMariaDB(b)
	m.CreateDatabase(b, "bench", "benchpw")
	m.Exec(b, "bench", benchTable(b))
	benchAgainstDovecot(b, "mysql", fmt.Sprintf("host=%s dbname=bench user=bench password=benchpw", m.Socket), mysql.Driver)
}

// BenchmarkPostgreSQLLoginsVsDovecot: the same with PostgreSQL 15 and
// dovecot-pgsql, over PostgreSQL's unix socket.
func BenchmarkPostgreSQLLoginsVsDovecot(b *testing.B) {
	testutil.RequireBinary(b, "dovecot")
	p := testutil.StartPostgres(b)
	p.CreateDatabase(b, "bench", "benchpw")
	p.Exec(b, "bench", benchTable(b))
	benchAgainstDovecot(b, "pgsql", fmt.Sprintf("host=%s port=%d dbname=bench user=bench", p.SocketDir, p.Port), pgsql.Driver)
}

// dovecotSQLiteDriver is Debian's dovecot-sqlite module.
const dovecotSQLiteDriver = "/usr/lib/dovecot/modules/auth/libdriver_sqlite.so"

// BenchmarkSQLiteLoginsVsDovecot: the same with one SQLite file, read by
// yubin's sqlite driver (modernc.org/sqlite) and by Dovecot's
// dovecot-sqlite.
func BenchmarkSQLiteLoginsVsDovecot(b *testing.B) {
	testutil.RequireBinary(b, "dovecot")
	if _, err := os.Stat(dovecotSQLiteDriver); err != nil {
		testutil.Unavailable(b, "Dovecot's SQLite driver (Debian package dovecot-sqlite) is not installed")
	}
	path := filepath.Join(testutil.SharedDir(b), "users.sqlite")
	w, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Exec(benchTable(b)); err != nil {
		b.Fatal(err)
	}
	w.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		b.Fatal(err)
	}
	benchAgainstDovecot(b, "sqlite", path, sqlite.Driver)
}
