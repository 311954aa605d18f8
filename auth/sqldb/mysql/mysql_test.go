package mysql

import (
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
	for _, bad := range []string{"port=x", "nosuch=1", "option_file=/etc/my.cnf", "ssl_ca=/nonexistent", "connect_timeout=-1", "host"} {
		if _, err := Config(bad + " password=s3cret"); err == nil {
			t.Errorf("%q: no error", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: the error shows the password: %v", bad, err)
		}
	}
}
