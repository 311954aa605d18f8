package table

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// AliasOptions control aliases(5) parsing. Unlike Postfix (whose
// allow_mail_to_commands and allow_mail_to_files default to "alias,
// forward"), "|command" and "/file" targets are refused unless enabled.
type AliasOptions struct {
	// AllowCommands permits "|command" targets.
	AllowCommands bool
	// AllowFiles permits "/file/name" targets.
	AllowFiles bool
	// ForbidInclude refuses ":include:/file" targets.
	ForbidInclude bool
}

// Aliases is an aliases(5) table: lower-cased alias name to its raw list
// of targets ("gacanepa, jdoe"). Use [SplitTargets] on a value.
type Aliases struct {
	m    map[string]string
	opts AliasOptions
}

// Lookup folds key to lower case and returns the alias's target list.
func (a *Aliases) Lookup(_ context.Context, key string) (string, bool, error) {
	v, ok := a.m[lowerASCII(key)]
	return v, ok, nil
}

// Options returns the options the table was parsed with.
func (a *Aliases) Options() AliasOptions { return a.opts }

// ParseAliases reads aliases(5) text: "name: target, target, ..." with
// continuation lines that start with white space, '#' comment lines, and
// quoted names ("first last": ...). Targets are addresses, "|command",
// "/file" and ":include:/file"; commands and files are refused unless
// opts allow them. Errors carry file:line.
func ParseAliases(data []byte, name string, opts AliasOptions) (*Aliases, error) {
	return parseAliasesData(data, name, opts)
}

func parseAliasesData(data []byte, file string, opts AliasOptions) (*Aliases, error) {
	a := &Aliases{m: map[string]string{}, opts: opts}
	var errs errorList
	err := eachLogicalLine(string(data), file, func(line string, lineno int) {
		fail := func(format string, args ...any) {
			errs.add(&Error{File: file, Line: lineno, Msg: fmt.Sprintf(format, args...)})
		}
		name, rest, ok := cutAliasName(line)
		if !ok {
			fail("need name: value")
			return
		}
		name = strings.TrimSpace(name)
		if name == "" {
			fail("empty alias name")
			return
		}
		val := strings.TrimSpace(rest)
		if val == "" {
			fail("alias %q has no targets", name)
			return
		}
		targets, err := SplitTargets(val)
		if err != nil {
			fail("alias %q: %v", name, err)
			return
		}
		for _, t := range targets {
			if msg := checkTarget(t, opts); msg != "" {
				fail("alias %q: %s", name, msg)
				return
			}
		}
		k := lowerASCII(name)
		if _, dup := a.m[k]; dup {
			return
		}
		a.m[k] = val
	})
	if err != nil {
		return nil, err
	}
	if e := errs.err(); e != nil {
		return nil, e
	}
	return a, nil
}

// cutAliasName splits at the first ':' outside double quotes, unquoting
// the name.
func cutAliasName(line string) (string, string, bool) {
	if strings.HasPrefix(line, "\"") {
		end := strings.IndexByte(line[1:], '"')
		if end < 0 {
			return "", "", false
		}
		name := line[1 : end+1]
		rest := strings.TrimLeft(line[end+2:], " \t")
		if !strings.HasPrefix(rest, ":") {
			return "", "", false
		}
		return name, rest[1:], true
	}
	return strings.Cut(line, ":")
}

func checkTarget(t string, opts AliasOptions) string {
	switch {
	case strings.HasPrefix(t, "|"):
		if !opts.AllowCommands {
			return fmt.Sprintf("command target %q refused (mail to commands is not enabled)", t)
		}
	case strings.HasPrefix(t, "/"):
		if !opts.AllowFiles {
			return fmt.Sprintf("file target %q refused (mail to files is not enabled)", t)
		}
	case strings.HasPrefix(strings.ToLower(t), ":include:"):
		if opts.ForbidInclude {
			return fmt.Sprintf("include target %q refused", t)
		}
		if strings.TrimSpace(t[len(":include:"):]) == "" {
			return "empty :include: file name"
		}
	}
	return ""
}

// SplitTargets splits an alias value on commas (and white space) outside
// double quotes and angle brackets, removing the quotes around a whole
// target ("|/usr/bin/prog arg" becomes |/usr/bin/prog arg).
func SplitTargets(v string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, angle := false, 0
	flush := func() {
		t := strings.TrimSpace(cur.String())
		cur.Reset()
		if t == "" {
			return
		}
		if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' && !strings.Contains(t[1:len(t)-1], "\"") {
			t = t[1 : len(t)-1]
		}
		if strings.HasPrefix(t, "<") && strings.HasSuffix(t, ">") {
			t = t[1 : len(t)-1]
		}
		out = append(out, t)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			cur.WriteByte(c)
			cur.WriteByte(v[i+1])
			i++
		case c == '"':
			inQuote = !inQuote
			cur.WriteByte(c)
		case inQuote:
			cur.WriteByte(c)
		case c == '<':
			angle++
			cur.WriteByte(c)
		case c == '>':
			if angle > 0 {
				angle--
			}
			cur.WriteByte(c)
		case (c == ',' || c == ' ' || c == '\t') && angle == 0:
			flush()
		case c == 0:
			return nil, fmt.Errorf("NUL byte in alias value")
		default:
			cur.WriteByte(c)
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unbalanced '\"' in %q", v)
	}
	flush()
	return out, nil
}

// ReadInclude reads an :include: file: one or more targets per line,
// comma separated, '#' comments. Command and file targets follow opts.
func ReadInclude(path string, opts AliasOptions, maxSize int64) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxFileSize
	}
	if fi.Size() > maxSize {
		return nil, &Error{File: path, Msg: "include file too large"}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		ts, err := SplitTargets(t)
		if err != nil {
			return nil, &Error{File: path, Line: i + 1, Msg: err.Error()}
		}
		for _, x := range ts {
			if msg := checkTarget(x, opts); msg != "" {
				return nil, &Error{File: path, Line: i + 1, Msg: msg}
			}
		}
		out = append(out, ts...)
	}
	return out, nil
}
