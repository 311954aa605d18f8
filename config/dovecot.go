package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Limits on what [LoadDovecot] and [ParseDovecot] read, beyond the
// per-file [MaxLineLength] and [MaxFileSize].
const (
	// MaxDovecotFiles is the most files one configuration may include,
	// the top file counted.
	MaxDovecotFiles = 256
	// MaxDovecotIncludeDepth is how deep !include may nest.
	MaxDovecotIncludeDepth = 16
	// MaxDovecotSectionDepth is how deep sections may nest.
	MaxDovecotSectionDepth = 16
)

// DovecotSetting is one "key = value" line of a dovecot.conf. A value
// written in the "<file" form keeps its "<" (the file is not read):
// [Config.Contents] reads it when the setting is used. A quoted value is
// unquoted, and "$key" at the start of a word of a value for the same key
// is replaced by the key's earlier value, as doveconf does.
type DovecotSetting struct {
	Key   string
	Value string
	Pos   Pos
}

// DovecotSection is a section of a dovecot.conf ("service imap-login {",
// "passdb {", "protocol imap {"), or, with an empty Type, the file itself.
// Settings and Sections are in file order, included files' lines where
// the !include stood.
type DovecotSection struct {
	Type     string // "service"; "" for the top level
	Name     string // "imap-login"; "" when the section has none
	Pos      Pos    // where the section starts
	Settings []DovecotSetting
	Sections []*DovecotSection
}

// Get returns the last value set for key in s itself (not in its
// subsections), and whether it is set.
func (s *DovecotSection) Get(key string) (DovecotSetting, bool) {
	for i := len(s.Settings) - 1; i >= 0; i-- {
		if s.Settings[i].Key == key {
			return s.Settings[i], true
		}
	}
	return DovecotSetting{}, false
}

// DovecotOptions adjusts how a dovecot.conf is read.
type DovecotOptions struct {
	// Defaults are the values a "$key" reference has before the file
	// sets key (doveconf -d's): mail_plugins = $mail_plugins quota.
	Defaults map[string]string
	// ReadFile reads an included file; nil means os.ReadFile.
	ReadFile func(name string) ([]byte, error)
	// Glob lists the files an !include pattern names, sorted; nil means
	// filepath.Glob.
	Glob func(pattern string) ([]string, error)
}

// LoadDovecot reads the named dovecot.conf in Dovecot 2.3's syntax, with
// the files it includes. It returns the tree of settings, warnings
// (things Dovecot accepts with a warning: an ambiguous '#', an unknown
// $variable) and every syntax error at once as an [ErrorList], each with
// file:line. The tree holds what could be read even when there are
// errors.
//
// The syntax is that of doveconf(1): "key = value" lines; sections
// "type [name] {" ... "}" (a name may be quoted); "#" comments, at the
// start of a line or after white space; a line ending in "\" continues on
// the next; values may be quoted with " or ' (backslash escapes inside);
// "key = <path" takes a file's contents; "!include PATTERN" and
// "!include_try PATTERN" read the files a glob names, relative to the
// including file's directory (a pattern that matches nothing is an error
// for !include, not for !include_try).
func LoadDovecot(file string, opts *DovecotOptions) (*DovecotSection, []*Error, error) {
	p := newDovecotParser(opts)
	data, err := p.read(file)
	if err != nil {
		return nil, nil, ErrorList{{Pos{File: file}, err.Error()}}
	}
	p.parseFile(file, data, 0)
	return p.finish()
}

// ParseDovecot is [LoadDovecot] for a configuration read from r; file
// names it in errors and is the base of relative !include patterns.
func ParseDovecot(file string, r io.Reader, opts *DovecotOptions) (*DovecotSection, []*Error, error) {
	p := newDovecotParser(opts)
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, nil, ErrorList{{Pos{File: file}, err.Error()}}
	}
	p.files++
	p.parseFile(file, data, 0)
	return p.finish()
}

// dovecotParser holds the state of one read: the open sections, and what
// was found.
type dovecotParser struct {
	opts  DovecotOptions
	root  *DovecotSection
	stack []*DovecotSection // open sections, root first
	warns []*Error
	errs  ErrorList
	files int
}

func newDovecotParser(opts *DovecotOptions) *dovecotParser {
	p := &dovecotParser{root: &DovecotSection{}}
	if opts != nil {
		p.opts = *opts
	}
	if p.opts.ReadFile == nil {
		p.opts.ReadFile = os.ReadFile
	}
	if p.opts.Glob == nil {
		p.opts.Glob = filepath.Glob
	}
	p.stack = []*DovecotSection{p.root}
	return p
}

// read reads one file within the limits.
func (p *dovecotParser) read(name string) ([]byte, error) {
	p.files++
	if p.files > MaxDovecotFiles {
		return nil, fmt.Errorf("more than %d configuration files", MaxDovecotFiles)
	}
	data, err := p.opts.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: file larger than %d bytes", name, MaxFileSize)
	}
	return data, nil
}

func (p *dovecotParser) finish() (*DovecotSection, []*Error, error) {
	for _, s := range p.stack[1:] {
		p.errs = append(p.errs, &Error{s.Pos, fmt.Sprintf("missing '}' for the section %s started here", sectionLabel(s))})
	}
	return p.root, p.warns, p.errs.err()
}

func (p *dovecotParser) errorf(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{pos, fmt.Sprintf(format, args...)})
}

func (p *dovecotParser) warnf(pos Pos, format string, args ...any) {
	p.warns = append(p.warns, &Error{pos, fmt.Sprintf(format, args...)})
}

// parseFile reads the lines of one file; depth is its include depth.
func (p *dovecotParser) parseFile(file string, data []byte, depth int) {
	if len(data) > MaxFileSize {
		p.errorf(Pos{file, 0}, "file larger than %d bytes", MaxFileSize)
		return
	}
	var full strings.Builder // a line continued with '\'
	start, warnedNBSP := 0, false
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) > MaxLineLength || full.Len()+len(line) > MaxLineLength {
			p.errorf(Pos{file, n}, "line longer than %d bytes", MaxLineLength)
			full.Reset()
			continue
		}
		if full.Len() == 0 {
			start = n
		}
		if bytes.Contains(line, nbsp) {
			// Pasted from a web page: Dovecot would refuse the line.
			if !warnedNBSP {
				p.warnf(Pos{file, n}, "non-breaking spaces (U+00A0, from a web page?) read as spaces; Dovecot itself would refuse them")
				warnedNBSP = true
			}
			line = bytes.ReplaceAll(line, nbsp, []byte{' '})
		}
		text, cont := p.cleanLine(string(bytes.TrimSuffix(line, []byte{'\r'})), Pos{file, n})
		if cont {
			full.WriteString(text)
			full.WriteByte(' ')
			continue
		}
		if full.Len() > 0 {
			full.WriteString(text)
			text = full.String()
			full.Reset()
		}
		if text == "" {
			continue
		}
		p.parseLine(text, Pos{file, start}, depth)
	}
	if full.Len() > 0 {
		p.parseLine(strings.TrimSpace(full.String()), Pos{file, start}, depth)
	}
}

// nbsp is U+00A0 in UTF-8.
var nbsp = []byte("\u00a0")

// isWhite is Dovecot's IS_WHITE.
func isWhite(c byte) bool { return c == ' ' || c == '\t' }

// cleanLine drops a comment and the white space around a line, and
// reports whether it ends in '\' (continued on the next line, the '\'
// removed).
func (p *dovecotParser) cleanLine(s string, pos Pos) (string, bool) {
	s = strings.TrimLeft(s, " \t")
	if s == "" || s[0] == '#' {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'':
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
			}
			if j >= len(s) {
				i = len(s)
				continue
			}
			i = j
		case '#':
			if !isWhite(s[i-1]) {
				p.warnf(pos, "ambiguous '#' character in line, treating it as a comment (add a space before it), as Dovecot does")
			}
			s = s[:i]
			i = len(s)
		}
	}
	s = strings.TrimRight(s, " \t")
	if strings.HasSuffix(s, "\\") {
		return strings.TrimRight(s[:len(s)-1], " \t"), true
	}
	return s, false
}

// parseLine reads one logical line: key = value, a section start or end,
// or an include.
func (p *dovecotParser) parseLine(line string, pos Pos, depth int) {
	i := 0
	for i < len(line) && !isWhite(line[i]) && line[i] != '=' {
		i++
	}
	key, rest := line[:i], strings.TrimLeft(line[i:], " \t")
	switch key {
	case "!include", "!include_try":
		p.include(unquote(rest), key == "!include_try", pos, depth)
		return
	}
	if v, ok := strings.CutPrefix(rest, "="); ok {
		p.setting(key, strings.TrimLeft(v, " \t"), pos)
		return
	}
	if key == "}" && rest == "" {
		if len(p.stack) == 1 {
			p.errorf(pos, "unexpected '}'")
			return
		}
		p.stack = p.stack[:len(p.stack)-1]
		return
	}
	// type [name] {
	name := ""
	switch {
	case rest == "":
		p.errorf(pos, "expecting '=' after %q", truncate(key))
		return
	case rest[0] == '{':
	case rest[0] == '"' || rest[0] == '\'':
		end := strings.IndexByte(rest[1:], rest[0])
		if end < 0 {
			p.errorf(pos, "missing closing quote in the section name")
			return
		}
		name, rest = rest[1:1+end], strings.TrimLeft(rest[2+end:], " \t")
	default:
		j := 0
		for j < len(rest) && !isWhite(rest[j]) {
			j++
		}
		name, rest = rest[:j], strings.TrimLeft(rest[j:], " \t")
	}
	if rest == "" || rest[0] != '{' {
		p.errorf(pos, "expecting '=' or '{' after %q", truncate(key))
		return
	}
	if rest != "{" {
		p.errorf(pos, "garbage after '{'")
		return
	}
	if key == "" || key == "}" {
		p.errorf(pos, "missing section type before '{'")
		return
	}
	if len(p.stack) > MaxDovecotSectionDepth {
		p.errorf(pos, "sections nested more than %d deep", MaxDovecotSectionDepth)
		return
	}
	s := &DovecotSection{Type: key, Name: name, Pos: pos}
	top := p.stack[len(p.stack)-1]
	top.Sections = append(top.Sections, s)
	p.stack = append(p.stack, s)
}

// setting adds key = value to the open section.
func (p *dovecotParser) setting(key, value string, pos Pos) {
	if key == "" {
		p.errorf(pos, "missing setting name before '='")
		return
	}
	top := p.stack[len(p.stack)-1]
	if path, ok := strings.CutPrefix(value, "<"); ok {
		top.Settings = append(top.Settings, DovecotSetting{key, "<" + strings.TrimLeft(path, " \t"), pos})
		return
	}
	if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
		value = unescape(value[1 : len(value)-1])
	} else if strings.Contains(value, "$") {
		value = p.expandSelf(key, value, pos)
	}
	top.Settings = append(top.Settings, DovecotSetting{key, value, pos})
}

// expandSelf replaces "$key" words of value (key's own earlier value, in
// the open sections from the innermost out, then its default), as doveconf
// does for "mail_plugins = $mail_plugins quota". Other $words are kept as
// written; Dovecot expands them when it runs, and a program that uses the
// value reads them as it does.
func (p *dovecotParser) expandSelf(key, value string, pos Pos) string {
	words := strings.Split(value, " ")
	for i, w := range words {
		if w != "$"+key {
			continue
		}
		old, ok := p.lookup(key)
		if !ok {
			p.warnf(pos, "unknown variable: $%s (kept as written)", key)
			continue
		}
		words[i] = old
	}
	return strings.Join(words, " ")
}

// lookup returns key's value in the open sections, innermost first, then
// its default.
func (p *dovecotParser) lookup(key string) (string, bool) {
	for i := len(p.stack) - 1; i >= 0; i-- {
		if st, ok := p.stack[i].Get(key); ok {
			return st.Value, true
		}
	}
	v, ok := p.opts.Defaults[key]
	return v, ok
}

// include reads the files pattern names, relative to the directory of the
// file that includes them.
func (p *dovecotParser) include(pattern string, try bool, pos Pos, depth int) {
	if pattern == "" {
		p.errorf(pos, "!include needs a file name")
		return
	}
	if depth+1 > MaxDovecotIncludeDepth {
		p.errorf(pos, "!include nested more than %d deep (a loop?)", MaxDovecotIncludeDepth)
		return
	}
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(pos.File), pattern)
	}
	names, err := p.opts.Glob(pattern)
	if err != nil {
		p.errorf(pos, "!include %s: %v", pattern, err)
		return
	}
	if len(names) == 0 {
		if !try {
			p.errorf(pos, "!include %s: no matches", pattern)
		}
		return
	}
	for _, name := range names {
		data, err := p.read(name)
		if err != nil {
			if try && os.IsNotExist(err) {
				continue
			}
			p.errorf(pos, "!include %s: %v", name, err)
			continue
		}
		p.parseFile(name, data, depth+1)
	}
}

// unquote removes one pair of surrounding quotes.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return unescape(s[1 : len(s)-1])
	}
	return s
}

// unescape is Dovecot's str_unescape: a backslash takes the next byte
// literally.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// sectionLabel names a section in messages: "service imap-login".
func sectionLabel(s *DovecotSection) string {
	if s.Name == "" {
		return s.Type
	}
	return s.Type + " " + s.Name
}
