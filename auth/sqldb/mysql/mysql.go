// Package mysql is the MariaDB/MySQL driver of package sqldb, over
// github.com/go-sql-driver/mysql (pure Go).
package mysql

import (
	"context"
	"crypto/tls"
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/yubinmail/yubin/auth/sqldb"
	"github.com/yubinmail/yubin/internal/capool"
	"github.com/yubinmail/yubin/internal/mysqlopt"
)

// Driver is the sqldb driver for Dovecot's "driver = mysql".
var Driver sqldb.Driver = mysqlDriver{}

type mysqlDriver struct{}

// Placeholder implements sqldb.Driver.
func (mysqlDriver) Placeholder(int) string { return "?" }

// Open implements sqldb.Driver for Dovecot's mysql connect settings:
// host (a name, an address, or a unix socket path starting with "/";
// with several host settings, a connection goes to the first that
// answers, starting with the one that answered last), port, user, password,
// dbname, ssl_ca and ssl_ca_path (TLS, the server's certificate verified
// against them and its name: unlike Dovecot, whose
// ssl_verify_server_cert defaults to no, verification is on unless
// ssl_verify_server_cert=no), ssl_cert, ssl_key, connect_timeout (5),
// read_timeout and write_timeout (30 seconds); client_flags and
// ssl_cipher are accepted and ignored, maxconns is sqldb's.
//
// option_file and option_group read a MySQL option file (my.cnf) as
// libmysqlclient does for Dovecot: the [client], [client-server],
// [client-mariadb] and option_group groups give host (or socket), port,
// user, password, database, ssl-ca, ssl-capath, ssl-cert, ssl-key,
// ssl-verify-server-cert and connect-timeout, and the connect string's
// own settings replace them. option_group without option_file reads
// MariaDB's default files (mysqlopt.DefaultFiles). Unlike Dovecot, which
// always reads the default files' client group, yubin reads option files
// only when one of the two settings is given.
func (mysqlDriver) Open(connect string) (*sql.DB, error) {
	cs, err := Configs(connect)
	if err != nil {
		return nil, err
	}
	var conns []sqldriver.Connector
	for _, c := range cs {
		conn, err := driver.NewConnector(c)
		if err != nil {
			return nil, err
		}
		conns = append(conns, conn)
	}
	if len(conns) == 1 {
		return sql.OpenDB(conns[0]), nil
	}
	return sql.OpenDB(&failover{conns: conns}), nil
}

// failover connects to the first of several servers that answers,
// starting with the one that answered last: Dovecot's several host
// settings, for a primary and its standbys.
type failover struct {
	conns []sqldriver.Connector
	next  atomic.Int32
}

// Connect implements driver.Connector.
func (f *failover) Connect(ctx context.Context) (sqldriver.Conn, error) {
	start := int(f.next.Load())
	var firstErr error
	for i := range f.conns {
		k := (start + i) % len(f.conns)
		c, err := f.conns[k].Connect(ctx)
		if err == nil {
			f.next.Store(int32(k))
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// Driver implements driver.Connector.
func (f *failover) Driver() sqldriver.Driver { return f.conns[0].Driver() }

// Config translates a Dovecot mysql connect string into the driver's
// configuration, for its first host.
func Config(connect string) (*driver.Config, error) {
	cs, err := Configs(connect)
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

// Configs translates a Dovecot mysql connect string into the driver's
// configuration, one per host setting, in their order.
func Configs(connect string) ([]*driver.Config, error) {
	settings, err := sqldb.ParseConnect(connect)
	if err != nil {
		return nil, err
	}
	c := driver.NewConfig()
	c.Timeout, c.ReadTimeout, c.WriteTimeout = 5*time.Second, 30*time.Second, 30*time.Second
	var hosts []string
	port := "3306"
	var caFile, caPath, certFile, keyFile string
	verify := ""
	file, group, haveOpts := "", "", false
	fromFile := false // hosts holds the option file's host
	for _, s := range settings {
		switch s.Key {
		case "option_file":
			file, haveOpts = s.Value, true
		case "option_group":
			group, haveOpts = s.Value, true
		}
	}
	if haveOpts {
		// The option file's settings come first, so that the connect
		// string's own replace them (libmysqlclient takes host, user,
		// password and dbname from mysql_real_connect's arguments).
		fileSettings, err := optionSettings(file, group)
		if err != nil {
			return nil, err
		}
		settings = append(fileSettings, settings...)
	}
	for _, s := range settings {
		switch s.Key {
		case "host":
			if fromFile {
				hosts, fromFile = nil, false
			}
			hosts = append(hosts, s.Value)
		case "file_host":
			hosts, fromFile = []string{s.Value}, true
		case "port":
			if _, err := strconv.ParseUint(s.Value, 10, 16); err != nil {
				return nil, fmt.Errorf("connect: bad port %q", s.Value)
			}
			port = s.Value
		case "user":
			c.User = s.Value
		case "password":
			c.Passwd = s.Value
		case "dbname":
			c.DBName = s.Value
		case "ssl_ca":
			caFile = s.Value
		case "ssl_ca_path":
			caPath = s.Value
		case "ssl_cert":
			certFile = s.Value
		case "ssl_key":
			keyFile = s.Value
		case "ssl_verify_server_cert":
			verify = s.Value
		case "connect_timeout", "read_timeout", "write_timeout":
			n, err := strconv.Atoi(s.Value)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("connect: bad %s %q", s.Key, s.Value)
			}
			d := time.Duration(n) * time.Second
			switch s.Key {
			case "connect_timeout":
				c.Timeout = d
			case "read_timeout":
				c.ReadTimeout = d
			default:
				c.WriteTimeout = d
			}
		case "client_flags", "ssl_cipher":
			// MySQL client library settings: Go's TLS picks strong
			// ciphers itself.
		case "option_file", "option_group":
			// Read above.
		default:
			return nil, fmt.Errorf("connect: unknown setting %q", s.Key)
		}
	}
	if len(hosts) == 0 {
		hosts = []string{"localhost"}
	}
	var tlsConf *tls.Config
	if caFile != "" || caPath != "" || certFile != "" {
		t := &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" || caPath != "" {
			pool, err := capool.Load(caFile, caPath)
			if err != nil {
				return nil, fmt.Errorf("connect: ssl_ca/ssl_ca_path: %w", err)
			}
			t.RootCAs = pool
		}
		if certFile != "" {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return nil, fmt.Errorf("connect: ssl_cert: %w", err)
			}
			t.Certificates = []tls.Certificate{cert}
		}
		if verify == "no" {
			t.InsecureSkipVerify = true
		}
		tlsConf = t
	}
	var out []*driver.Config
	for _, host := range hosts {
		hc := c.Clone()
		if strings.HasPrefix(host, "/") {
			hc.Net, hc.Addr = "unix", host
		} else {
			hc.Net, hc.Addr = "tcp", net.JoinHostPort(host, port)
		}
		if tlsConf != nil {
			t := tlsConf.Clone()
			t.ServerName = host
			hc.TLS = t
		}
		out = append(out, hc)
	}
	return out, nil
}

// optionSettings reads a MySQL option file (option_file; without it,
// MariaDB's default files) for option_group (and the client groups), as
// connect settings.
func optionSettings(file, group string) ([]sqldb.Setting, error) {
	opts, err := mysqlopt.Load(file, group)
	if err != nil {
		return nil, fmt.Errorf("connect: option_file: %w", err)
	}
	return OptionSettings(opts), nil
}

// OptionSettings maps the client options of a MySQL option file to
// connect settings: host (or socket, when no host is given), port, user,
// password, database, ssl-ca, ssl-capath, ssl-cert, ssl-key,
// ssl-verify-server-cert and connect-timeout; the rest are for other
// programs and are left out.
func OptionSettings(opts mysqlopt.Options) []sqldb.Setting {
	var out []sqldb.Setting
	add := func(key, value string) { out = append(out, sqldb.Setting{Key: key, Value: value}) }
	if h := opts["host"]; h != "" && h != "localhost" {
		add("file_host", h)
	} else if sock := opts["socket"]; sock != "" {
		add("file_host", sock)
	} else if h != "" {
		add("file_host", h)
	}
	for _, m := range [][2]string{
		{"port", "port"}, {"user", "user"}, {"password", "password"}, {"database", "dbname"},
		{"ssl-ca", "ssl_ca"}, {"ssl-capath", "ssl_ca_path"}, {"ssl-cert", "ssl_cert"}, {"ssl-key", "ssl_key"},
		{"connect-timeout", "connect_timeout"},
	} {
		if v, ok := opts[m[0]]; ok {
			add(m[1], v)
		}
	}
	if v, set := opts.Bool("ssl-verify-server-cert"); set {
		add("ssl_verify_server_cert", map[bool]string{true: "yes", false: "no"}[v])
	}
	return out
}
