package table

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// maxSQLConfig bounds a mysql_table(5)/pgsql_table(5) file.
const maxSQLConfig = 1 << 20

// ReadConfigFile reads a Postfix database configuration file ("name =
// value", "#" comments, continuation lines starting with white space),
// as mysql_table(5), pgsql_table(5) and ldap_table(5) use, of at most
// 1 MiB.
func ReadConfigFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > maxSQLConfig {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes", maxSQLConfig)}
	}
	return ParseConfigFile(data, path)
}

// ParseConfigFile is ReadConfigFile of data already read; path names it
// in errors.
func ParseConfigFile(data []byte, path string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxSQLConfig+1)
	var name, val string
	start, n := 0, 0
	flush := func() error {
		if name == "" {
			return nil
		}
		out[name] = strings.TrimSpace(val)
		name, val = "", ""
		return nil
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if name == "" {
				return nil, &Error{File: path, Line: n, Msg: "continuation line without a parameter"}
			}
			val += " " + t
			continue
		}
		flush()
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return nil, &Error{File: path, Line: n, Msg: fmt.Sprintf("missing '=' after %q", clipText(t))}
		}
		name, val, start = strings.TrimSpace(k), strings.TrimSpace(v), n
		if name == "" || strings.ContainsAny(name, " \t") {
			return nil, &Error{File: path, Line: start, Msg: fmt.Sprintf("bad parameter name %q", clipText(k))}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	flush()
	return out, nil
}

func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
