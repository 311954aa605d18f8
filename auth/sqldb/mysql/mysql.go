// Package mysql is the MariaDB/MySQL driver of package sqldb, over
// github.com/go-sql-driver/mysql (pure Go).
package mysql

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// of several host settings the first is used), port, user, password,
// dbname, ssl_ca and ssl_ca_path (TLS, the server's certificate verified
// against them and its name: unlike Dovecot, whose
// ssl_verify_server_cert defaults to no, verification is on unless
// ssl_verify_server_cert=no), ssl_cert, ssl_key, connect_timeout (5),
// read_timeout and write_timeout (30 seconds); client_flags and
// ssl_cipher are accepted and ignored, maxconns is sqldb's.
func (mysqlDriver) Open(connect string) (*sql.DB, error) {
	c, err := Config(connect)
	if err != nil {
		return nil, err
	}
	conn, err := driver.NewConnector(c)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// Config translates a Dovecot mysql connect string into the driver's
// configuration.
func Config(connect string) (*driver.Config, error) {
	settings, err := sqldb.ParseConnect(connect)
	if err != nil {
		return nil, err
	}
	c := driver.NewConfig()
	c.Timeout, c.ReadTimeout, c.WriteTimeout = 5*time.Second, 30*time.Second, 30*time.Second
	host, port := "", "3306"
	var caFile, caPath, certFile, keyFile string
	verify := ""
	for _, s := range settings {
		switch s.Key {
		case "host":
			if host == "" { // HA lists: the first host only
				host = s.Value
			}
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
	if host == "" {
		host = "localhost"
	}
	if strings.HasPrefix(host, "/") {
		c.Net, c.Addr = "unix", host
	} else {
		c.Net, c.Addr = "tcp", net.JoinHostPort(host, port)
	}
	if caFile != "" || caPath != "" || certFile != "" {
		t := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
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
		c.TLS = t
	}
	return c, nil
}
