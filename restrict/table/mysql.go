package table

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// openMySQL opens a mysql: table from its mysql_table(5) file: hosts,
// user, password, dbname, query (or select_field, table, where_field,
// additional_conditions), domain, result_format, expansion_limit,
// tls_CAfile, tls_cert_file, tls_key_file, tls_verify_cert.
func openMySQL(ref, path string, opts Options) (Table, error) {
	cf, err := readCF(path)
	if err != nil {
		return nil, &Error{File: ref, Msg: err.Error()}
	}
	t, err := newSQLTable(ref, path, cf, func(int) string { return "?" }, opts)
	if err != nil {
		return nil, err
	}
	var tlsConf *tls.Config
	if cf["tls_CAfile"] != "" || cf["tls_cert_file"] != "" {
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !yes(cf["tls_verify_cert"])}
		if ca := cf["tls_CAfile"]; ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, &Error{File: path, Msg: "tls_CAfile: " + err.Error()}
			}
			tlsConf.RootCAs = x509.NewCertPool()
			tlsConf.RootCAs.AppendCertsFromPEM(pem)
		}
		if cf["tls_cert_file"] != "" {
			c, err := tls.LoadX509KeyPair(cf["tls_cert_file"], cf["tls_key_file"])
			if err != nil {
				return nil, &Error{File: path, Msg: "tls_cert_file: " + err.Error()}
			}
			tlsConf.Certificates = []tls.Certificate{c}
		}
	}
	var dbs []*sql.DB
	for _, h := range parseSQLHosts(cf["hosts"], "3306") {
		c := mysql.NewConfig()
		c.User, c.Passwd, c.DBName = cf["user"], cf["password"], cf["dbname"]
		c.Timeout = 5 * time.Second
		if h.unix != "" {
			c.Net, c.Addr = "unix", h.unix
		} else {
			c.Net, c.Addr = "tcp", net.JoinHostPort(h.host, h.port)
			if tlsConf != nil {
				tc := tlsConf.Clone()
				tc.ServerName = h.host
				c.TLS = tc
			}
		}
		conn, err := mysql.NewConnector(c)
		if err != nil {
			return nil, &Error{File: path, Msg: err.Error()}
		}
		dbs = append(dbs, sql.OpenDB(conn))
	}
	t.finish(dbs)
	return t, nil
}

func yes(s string) bool {
	s = strings.ToLower(s)
	return s == "yes" || s == "true" || s == "1"
}
