// Package mysqltable registers Postfix's mysql: lookup table
// (mysql_table(5)) with package table, on MySQL or MariaDB through
// github.com/go-sql-driver/mysql. Import it for its effect:
//
//	import _ "github.com/yubinmail/yubin/restrict/table/mysqltable"
//
// Then table.Open("mysql:/etc/postfix/mysql-aliases.cf", nil) reads the
// file's hosts, user, password, dbname, query (or select_field, table,
// where_field, additional_conditions), domain, result_format,
// expansion_limit, tls_CAfile, tls_cert_file, tls_key_file and
// tls_verify_cert. Keys are bound parameters, never spliced into SQL.
package mysqltable

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/yubinmail/yubin/restrict/table"
)

func init() { table.Register("mysql", Open) }

// Open opens a mysql: table from its configuration file.
func Open(path string, o *table.Options) (table.Table, error) {
	return table.OpenSQL("mysql:"+path, path, o, table.SQLDialect{
		DefaultPort: "3306",
		Placeholder: func(int) string { return "?" },
		Connect:     connect,
	})
}

// connect opens a pool to one host, with TLS when the file asks for it.
func connect(h table.SQLHost, cf map[string]string, path string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.DBName = cf["user"], cf["password"], cf["dbname"]
	c.Timeout = 5 * time.Second
	if h.Unix != "" {
		c.Net, c.Addr = "unix", h.Unix
	} else {
		c.Net, c.Addr = "tcp", net.JoinHostPort(h.Host, h.Port)
		tc, err := tlsConfig(cf, path)
		if err != nil {
			return nil, err
		}
		if tc != nil {
			tc.ServerName = h.Host
			c.TLS = tc
		}
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, &table.Error{File: path, Msg: err.Error()}
	}
	return sql.OpenDB(conn), nil
}

// tlsConfig is the file's tls_* settings, nil for none.
func tlsConfig(cf map[string]string, path string) (*tls.Config, error) {
	if cf["tls_CAfile"] == "" && cf["tls_cert_file"] == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !yes(cf["tls_verify_cert"])}
	if ca := cf["tls_CAfile"]; ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, &table.Error{File: path, Msg: "tls_CAfile: " + err.Error()}
		}
		tc.RootCAs = x509.NewCertPool()
		tc.RootCAs.AppendCertsFromPEM(pem)
	}
	if cf["tls_cert_file"] != "" {
		c, err := tls.LoadX509KeyPair(cf["tls_cert_file"], cf["tls_key_file"])
		if err != nil {
			return nil, &table.Error{File: path, Msg: "tls_cert_file: " + err.Error()}
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc, nil
}

func yes(s string) bool {
	s = strings.ToLower(s)
	return s == "yes" || s == "true" || s == "1"
}
