package sqldb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Config is the content of Dovecot's dovecot-sql.conf.ext.
type Config struct {
	// Driver is "mysql", "pgsql" or "sqlite".
	Driver string
	// Connect is the driver's connect string: for mysql
	// "host=... port=... dbname=... user=... password=... ssl_ca=...",
	// for pgsql a libpq keyword/value string, for sqlite a file name.
	Connect string
	// DefaultPassScheme applies to stored passwords without a
	// "{SCHEME}" prefix; empty means "MD5" (MD5-CRYPT), Dovecot's
	// default.
	DefaultPassScheme string
	// PasswordQuery returns the columns "password" (and optionally
	// "user", "nopassword", "allow_nets", "userdb_*" prefetch fields
	// and any other extra fields) for %u.
	PasswordQuery string
	// UserQuery returns userdb fields (home, uid, gid, mail, ...) for %u.
	UserQuery string
	// IterateQuery lists all users: a "user" column, or "username" and
	// "domain" columns.
	IterateQuery string
	// File is where the configuration was read from, for messages.
	File string
}

// MaxConfigSize bounds the size of a configuration file.
const MaxConfigSize = 1 << 20

// DefaultPassScheme is Dovecot's default_pass_scheme for SQL.
const DefaultPassScheme = "MD5"

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("sqldb: bad configuration")

// LoadConfig reads a dovecot-sql.conf.ext file.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConfig(f, path)
}

// ParseConfig reads dovecot-sql.conf.ext syntax from r: "key = value"
// lines, "#" comments, a trailing "\" joining the next line, values
// optionally in double quotes. Unknown keys are errors (as in Dovecot),
// reported as name:line. Queries have a trailing ";" removed.
func ParseConfig(r io.Reader, name string) (*Config, error) {
	c := &Config{File: name}
	sc := bufio.NewScanner(io.LimitReader(r, MaxConfigSize+1))
	sc.Buffer(make([]byte, 0, 4096), MaxConfigSize+1)
	lineNo, read := 0, 0
	var pending string
	pendingLine := 0
	for sc.Scan() {
		lineNo++
		read += len(sc.Bytes()) + 1
		if read > MaxConfigSize {
			return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrConfig, name, MaxConfigSize)
		}
		line := sc.Text()
		if pending == "" {
			pendingLine = lineNo
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(line, " \t\r"), "\\"); ok {
			pending += s + " "
			continue
		}
		line = pending + line
		pending = ""
		if err := c.setLine(line); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrConfig, name, pendingLine, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, name, err)
	}
	if pending != "" {
		if err := c.setLine(pending); err != nil {
			return nil, fmt.Errorf("%w: %s:%d: %v", ErrConfig, name, pendingLine, err)
		}
	}
	return c, c.validate()
}

func (c *Config) setLine(line string) error {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' {
		return nil
	}
	if strings.ContainsRune(t, 0) {
		return errors.New("NUL byte")
	}
	k, v, ok := strings.Cut(t, "=")
	if !ok {
		return fmt.Errorf("want key = value, got %q", clip(t))
	}
	k = strings.TrimSpace(k)
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(v[1 : len(v)-1])
	}
	switch k {
	case "driver":
		c.Driver = v
	case "connect":
		c.Connect = v
	case "default_pass_scheme":
		c.DefaultPassScheme = v
	case "password_query":
		c.PasswordQuery = trimQuery(v)
	case "user_query":
		c.UserQuery = trimQuery(v)
	case "iterate_query":
		c.IterateQuery = trimQuery(v)
	default:
		return fmt.Errorf("unknown setting %q", clip(k))
	}
	return nil
}

func (c *Config) validate() error {
	switch c.Driver {
	case "mysql", "pgsql", "sqlite":
	case "":
		return fmt.Errorf("%w: %s: driver is not set (mysql, pgsql or sqlite)", ErrConfig, c.File)
	default:
		return fmt.Errorf("%w: %s: unknown driver %q (mysql, pgsql or sqlite)", ErrConfig, c.File, clip(c.Driver))
	}
	if c.Connect == "" {
		return fmt.Errorf("%w: %s: connect is not set", ErrConfig, c.File)
	}
	for _, q := range []struct{ name, q string }{
		{"password_query", c.PasswordQuery}, {"user_query", c.UserQuery}, {"iterate_query", c.IterateQuery},
	} {
		if q.q == "" {
			continue
		}
		if _, err := compile(q.q, func(int) string { return "?" }); err != nil {
			return fmt.Errorf("%w: %s: %s: %v", ErrConfig, c.File, q.name, err)
		}
	}
	return nil
}

func trimQuery(q string) string {
	return strings.TrimSpace(strings.TrimRight(strings.TrimSpace(q), ";"))
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
