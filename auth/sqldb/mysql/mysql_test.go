package mysql

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfig(t *testing.T) {
	c, err := Config("host=/run/mysqld/mysqld.sock host=other dbname=mail user=dovecot password='a b' client_flags=0 ssl_cipher=HIGH read_timeout=7")
	if err != nil {
		t.Fatal(err)
	}
	if c.Net != "unix" || c.Addr != "/run/mysqld/mysqld.sock" || c.DBName != "mail" || c.User != "dovecot" ||
		c.Passwd != "a b" || c.ReadTimeout != 7*time.Second || c.WriteTimeout != 30*time.Second || c.TLS != nil {
		t.Errorf("%+v", c)
	}
	c, err = Config("host=db.example.com port=3307")
	if err != nil || c.Addr != "db.example.com:3307" || c.Net != "tcp" {
		t.Errorf("%+v %v", c, err)
	}
	for _, bad := range []string{"port=x", "nosuch=1", "option_file=/nonexistent/my.cnf", "ssl_ca=/nonexistent", "connect_timeout=-1", "host"} {
		if _, err := Config(bad + " password=s3cret"); err == nil {
			t.Errorf("%q: no error", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: the error shows the password: %v", bad, err)
		}
	}
}

// TestConfigOptionFile: option_file and option_group read a my.cnf; the
// connect string's own settings replace the file's.
func TestConfigOptionFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "my.cnf")
	os.WriteFile(file, []byte(`[client]
user = fileuser
password = "file pw" # comment
host = localhost
socket = /run/file.sock
[dovecot]
database = filedb
connect_timeout = 9
ssl-verify-server-cert
[other]
user = nobody
`), 0o600)
	c, err := Config("option_file=" + file + " option_group=dovecot")
	if err != nil {
		t.Fatal(err)
	}
	if c.Net != "unix" || c.Addr != "/run/file.sock" || c.User != "fileuser" || c.Passwd != "file pw" ||
		c.DBName != "filedb" || c.Timeout != 9*time.Second {
		t.Errorf("from the option file: %+v", c)
	}
	c, err = Config("option_file=" + file + " host=db.example.com user=dovecot dbname=mail")
	if err != nil {
		t.Fatal(err)
	}
	if c.Net != "tcp" || c.Addr != "db.example.com:3306" || c.User != "dovecot" || c.Passwd != "file pw" || c.DBName != "mail" {
		t.Errorf("connect string over the option file: %+v", c)
	}
	// Without option_group only the client groups are read.
	if c.Timeout != 5*time.Second {
		t.Errorf("connect_timeout from [dovecot] read without option_group: %v", c.Timeout)
	}
}
