// Package mysqltable registers Postfix's mysql: lookup table
// (mysql_table(5)) with package table, on MySQL or MariaDB through
// github.com/go-sql-driver/mysql. Import it for its effect:
//
//	import _ "github.com/yubinmail/yubin/restrict/table/mysqltable"
//
// Then table.Open("mysql:/etc/postfix/mysql-aliases.cf", nil) reads the
// file's hosts, user, password, dbname, query (or select_field, table,
// where_field, additional_conditions), domain, result_format,
// expansion_limit, tls_CAfile, tls_CApath, tls_cert_file, tls_key_file,
// tls_verify_cert (tls_ciphers is accepted; Go picks strong ciphers),
// option_file and option_group. Keys are bound parameters, never spliced
// into SQL.
//
// option_file and option_group read a MySQL option file (my.cnf) as
// libmysqlclient does for Postfix: its [client], [client-server],
// [client-mariadb] and option_group groups supply user, password,
// database, ssl-ca, ssl-capath, ssl-cert and ssl-key where the .cf file
// does not set them; hosts stays the .cf file's. (Under Postfix the
// file's password is not used: Postfix hands libmysqlclient an empty
// password, which it keeps; yubin uses it.) option_group without
// option_file reads MariaDB's default files. Unlike Postfix, whose
// option_group defaults to client and so always reads the default
// files, nothing is read unless one of the two is set.
package mysqltable

import (
	"crypto/tls"
	"database/sql"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/yubinmail/yubin/internal/capool"
	"github.com/yubinmail/yubin/internal/mysqlopt"
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
	cf, err := withOptionFile(cf, path)
	if err != nil {
		return nil, err
	}
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

// withOptionFile returns cf with the settings it lacks taken from the
// MySQL option file it names, if any.
func withOptionFile(cf map[string]string, path string) (map[string]string, error) {
	file, group := cf["option_file"], cf["option_group"]
	if file == "" && group == "" {
		return cf, nil
	}
	opts, err := mysqlopt.Load(file, group)
	if err != nil {
		return nil, &table.Error{File: path, Msg: "option_file: " + err.Error()}
	}
	out := make(map[string]string, len(cf)+6)
	for k, v := range cf {
		out[k] = v
	}
	for opt, key := range map[string]string{"user": "user", "password": "password", "database": "dbname",
		"ssl-ca": "tls_CAfile", "ssl-capath": "tls_CApath", "ssl-cert": "tls_cert_file", "ssl-key": "tls_key_file"} {
		if v, ok := opts[opt]; ok && out[key] == "" {
			out[key] = v
		}
	}
	if v, set := opts.Bool("ssl-verify-server-cert"); set && out["tls_verify_cert"] == "" {
		out["tls_verify_cert"] = map[bool]string{true: "yes", false: "no"}[v]
	}
	return out, nil
}

// tlsConfig is the file's tls_* settings, nil for none.
func tlsConfig(cf map[string]string, path string) (*tls.Config, error) {
	if cf["tls_CAfile"] == "" && cf["tls_CApath"] == "" && cf["tls_cert_file"] == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !yes(cf["tls_verify_cert"])}
	if ca, dir := cf["tls_CAfile"], cf["tls_CApath"]; ca != "" || dir != "" {
		pool, err := capool.Load(ca, dir)
		if err != nil {
			return nil, &table.Error{File: path, Msg: "tls_CAfile/tls_CApath: " + err.Error()}
		}
		tc.RootCAs = pool
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
