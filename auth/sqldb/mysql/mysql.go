// Package mysql is the MariaDB/MySQL driver of package sqldb, over
// github.com/go-sql-driver/mysql (pure Go).
package mysql

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	sqldriver "database/sql/driver"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	driver "github.com/go-sql-driver/mysql"

	"github.com/yubinmail/yubin/auth/sqldb"
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
	for _, s := range settings {
		switch s.Key {
		case "host":
			hosts = append(hosts, s.Value)
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
			return nil, fmt.Errorf("connect: %s is not supported (set host, user, password, dbname here)", s.Key)
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
			t.RootCAs = x509.NewCertPool()
			files := []string{caFile}
			if caPath != "" {
				m, _ := filepath.Glob(filepath.Join(caPath, "*"))
				files = append(files, m...)
			}
			n := 0
			for _, f := range files {
				if f == "" {
					continue
				}
				pem, err := os.ReadFile(f)
				if err != nil {
					if f == caFile {
						return nil, fmt.Errorf("connect: ssl_ca: %w", err)
					}
					continue
				}
				if t.RootCAs.AppendCertsFromPEM(pem) {
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("connect: ssl_ca/ssl_ca_path: no certificates")
			}
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
