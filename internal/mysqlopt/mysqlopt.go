// Package mysqlopt reads MySQL/MariaDB option files (my.cnf), for the
// option_file and option_group settings of Dovecot's mysql connect
// string and Postfix's mysql_table(5), which hand them to
// libmysqlclient. The syntax is that of libmysqlclient's reader:
// [group] headers (case-insensitive), "name", "name = value" (dashes and
// underscores alike), values in single or double quotes, the escapes
// \b \t \n \r \s \\ \" \', "#" comments anywhere outside quotes and ";"
// comment lines, !include FILE and !includedir DIR (its *.cnf files in
// name order), and the loose-, skip-, disable- and enable- prefixes.
package mysqlopt

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Limits on what Read reads.
const (
	MaxFileSize = 1 << 20 // bytes of one file
	MaxFiles    = 64      // files, includes counted
	MaxDepth    = 10      // nesting of !include
)

// DefaultFiles are the files libmysqlclient (MariaDB's) reads when no
// option file is named, in order; "~" is the user's home directory.
var DefaultFiles = []string{"/etc/my.cnf", "/etc/mysql/my.cnf", "~/.my.cnf"}

// Options are the settings read from option files, by name in lower case
// with underscores as dashes ("ssl-ca"). A name given without a value
// ("ssl") maps to "1", as does enable-NAME; skip-NAME and disable-NAME
// map NAME to "0". A later setting replaces an earlier one.
type Options map[string]string

// Bool reports whether the named option is set to a true value (1, on,
// true, yes), and whether it is set at all.
func (o Options) Bool(name string) (value, set bool) {
	v, ok := o[name]
	if !ok {
		return false, false
	}
	switch strings.ToLower(v) {
	case "1", "on", "true", "yes", "":
		return true, true
	}
	return false, true
}

// ClientGroups are the groups MariaDB's client library reads besides the
// one it is given.
var ClientGroups = []string{"client", "client-server", "client-mariadb"}

// Read reads the options of groups (and of ClientGroups, as MariaDB's
// client library does) from the file at path and the files it
// includes. A file that is missing or malformed is an error, with the
// file and line.
func Read(path string, groups ...string) (Options, error) {
	r := newReader(groups)
	if err := r.file(path, 0); err != nil {
		return nil, err
	}
	return r.opts, nil
}

// ReadDefaults reads groups from DefaultFiles, skipping those that do
// not exist, with home for "~" ("" leaves ~/.my.cnf out).
func ReadDefaults(home string, groups ...string) (Options, error) {
	r := newReader(groups)
	for _, f := range DefaultFiles {
		if strings.HasPrefix(f, "~/") {
			if home == "" {
				continue
			}
			f = filepath.Join(home, f[2:])
		}
		if _, err := os.Stat(f); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := r.file(f, 0); err != nil {
			return nil, err
		}
	}
	return r.opts, nil
}

// Load reads groups from file, or from DefaultFiles (with the user's
// home directory for "~") when file is "": the option_file and
// option_group settings of Dovecot's and Postfix's MySQL clients.
func Load(file string, groups ...string) (Options, error) {
	if file != "" {
		return Read(file, groups...)
	}
	home, _ := os.UserHomeDir()
	return ReadDefaults(home, groups...)
}

type reader struct {
	groups map[string]bool
	opts   Options
	files  int
}

func newReader(groups []string) *reader {
	r := &reader{groups: map[string]bool{}, opts: Options{}}
	for _, g := range ClientGroups {
		r.groups[g] = true
	}
	for _, g := range groups {
		if g != "" {
			r.groups[strings.ToLower(g)] = true
		}
	}
	return r
}

func (r *reader) file(path string, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%s: !include nested more than %d deep", path, MaxDepth)
	}
	r.files++
	if r.files > MaxFiles {
		return fmt.Errorf("%s: more than %d option files", path, MaxFiles)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return err
	}
	if len(b) > MaxFileSize {
		return fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	return r.parse(path, b, depth)
}

func (r *reader) parse(path string, b []byte, depth int) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, MaxFileSize+1)
	in, seenGroup := false, false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		bad := func(msg string) error { return fmt.Errorf("%s:%d: %s", path, n, msg) }
		if line[0] == '!' {
			word, arg, _ := strings.Cut(line, " ")
			arg = strings.TrimSpace(removeComment(arg))
			if arg == "" {
				return bad("wrong " + word + " directive")
			}
			if !filepath.IsAbs(arg) {
				arg = filepath.Join(filepath.Dir(path), arg)
			}
			switch word {
			case "!include":
				if err := r.file(arg, depth+1); err != nil {
					return err
				}
			case "!includedir":
				ents, err := os.ReadDir(arg)
				if err != nil {
					return bad(err.Error())
				}
				var names []string
				for _, e := range ents {
					if !e.IsDir() && strings.HasSuffix(e.Name(), ".cnf") {
						names = append(names, e.Name())
					}
				}
				sort.Strings(names)
				for _, name := range names {
					if err := r.file(filepath.Join(arg, name), depth+1); err != nil {
						return err
					}
				}
			default:
				return bad("unknown directive " + word)
			}
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return bad("wrong group definition")
			}
			if rest := strings.TrimSpace(line[end+1:]); rest != "" && rest[0] != '#' {
				return bad("wrong group definition")
			}
			in, seenGroup = r.groups[strings.ToLower(line[1:end])], true
			continue
		}
		if !seenGroup {
			return bad("found option without preceding group")
		}
		if !in {
			continue
		}
		line = strings.TrimSpace(removeComment(line))
		name, value, hasValue := strings.Cut(line, "=")
		name = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "_", "-"))
		if name == "" {
			return bad("option without a name")
		}
		name = strings.TrimPrefix(name, "loose-")
		v := "1"
		if hasValue {
			v = unquote(strings.TrimSpace(value))
		} else {
			for _, p := range []string{"skip-", "disable-"} {
				if strings.HasPrefix(name, p) {
					name, v = name[len(p):], "0"
				}
			}
			name = strings.TrimPrefix(name, "enable-")
		}
		r.opts[name] = v
	}
	return sc.Err()
}

// removeComment cuts s at a "#" outside quotes, as libmysqlclient does.
func removeComment(s string) string {
	var quote byte
	escape := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c == '\'' || c == '"') && !escape {
			switch quote {
			case 0:
				quote = c
			case c:
				quote = 0
			}
		}
		if quote == 0 && c == '#' {
			return s[:i]
		}
		escape = quote != 0 && c == '\\' && !escape
	}
	return s
}

// unquote strips matching quotes around v and resolves its escapes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		v = v[1 : len(v)-1]
	}
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i == len(v)-1 {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 's':
			b.WriteByte(' ')
		case '"', '\'', '\\':
			b.WriteByte(v[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(v[i])
		}
	}
	return b.String()
}
