package table

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Table is a Postfix lookup table. Lookup is an exact query on key as
// given: callers apply Postfix's address and domain lookup orders (see the
// restrict package). Fixed-string tables (hash, texthash, inline, static)
// fold the key to lower case, as Postfix does for access maps; pattern
// tables (regexp, pcre, cidr) match the key as given.
type Table interface {
	Lookup(ctx context.Context, key string) (value string, found bool, err error)
}

// Pattern reports whether t is a pattern table (regexp, pcre, cidr), for
// which Postfix does not do partial-key lookups (parent domains,
// user@ and @domain parts).
func Pattern(t Table) bool {
	p, ok := t.(interface{ Pattern() bool })
	return ok && p.Pattern()
}

// Syntax selects how the source file of an indexed table is read.
type Syntax int

const (
	// SyntaxMap is postmap(1) input: "key whitespace value".
	SyntaxMap Syntax = iota
	// SyntaxAliases is postalias(1)/aliases(5) input: "name: value".
	SyntaxAliases
)

// Options control [Open].
type Options struct {
	// Syntax of hash/texthash/btree source files (default SyntaxMap).
	Syntax Syntax
	// Aliases controls aliases(5) parsing when Syntax is SyntaxAliases.
	Aliases AliasOptions
	// ReloadInterval is how often, at most, a file table checks whether
	// its file changed (size or modification time) and reloads it; the
	// check is made by the first lookup after the interval. Zero means
	// DefaultReloadInterval; negative disables reloading.
	ReloadInterval time.Duration
	// Logger receives reload warnings (a file that became unreadable or
	// invalid keeps its previous contents). Default: discard.
	Logger *slog.Logger
	// MaxFileSize bounds the size of a table source file
	// (default DefaultMaxFileSize).
	MaxFileSize int64
	// Openers supplies table types by name for this Open, before the
	// registered ones (Register).
	Openers map[string]Opener
}

// DefaultReloadInterval is how often file tables look for changes.
const DefaultReloadInterval = time.Second

// DefaultMaxFileSize is the largest table source file Open reads (1 GiB).
const DefaultMaxFileSize = 1 << 30

// MaxLineLength is the longest logical line accepted in a table file.
const MaxLineLength = 1 << 20

// ErrUnsupported is returned by Open for table types this package does
// not implement (socketmap, tcp, ...); supply those through the
// restrict package's WithTable option.
var ErrUnsupported = errors.New("unsupported table type")

// Error is a problem in a table source, with its position.
type Error struct {
	File string // file name or table reference
	Line int    // 1-based line number, 0 when not line-specific
	Msg  string
}

// Error formats the problem as "file:line: message" (or "file: message").
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.ReloadInterval == 0 {
		r.ReloadInterval = DefaultReloadInterval
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.MaxFileSize <= 0 {
		r.MaxFileSize = DefaultMaxFileSize
	}
	return r
}

// Open opens the table named by a Postfix reference "type:name":
//
//	hash:/etc/postfix/access      the source text /etc/postfix/access (not the .db)
//	btree:/path, texthash:/path    same
//	cidr:/path, regexp:/path, pcre:/path
//	static:value, static:{value with spaces}
//	inline:{ key=value, { key = text with spaces } }
//	unix:passwd.byname             /etc/passwd user names
//	ldap:/etc/postfix/ldap-aliases.cf  an ldap_table(5) search (ldaptable)
//	mysql:/path, pgsql:/path       mysql_table(5), pgsql_table(5) files (mysqltable, pgsqltable)
//	proxy:type:name                the same as type:name
//	fail:name                      every lookup fails
//
// File tables reload themselves when the file changes. The ldap:,
// mysql: and pgsql: types need their package imported (Register).
func Open(ref string, o *Options) (Table, error) {
	opts := o.withDefaults()
	typ, name, ok := strings.Cut(ref, ":")
	if !ok || typ == "" {
		return nil, &Error{File: ref, Msg: "need type:name"}
	}
	typ = strings.ToLower(typ)
	if op := opener(typ, o); op != nil {
		return op(name, o)
	}
	if _, ok := driverPackages[typ]; ok {
		return nil, notRegistered(ref, typ)
	}
	switch typ {
	case "proxy":
		return Open(name, o)
	case "static":
		return Static(unbrace(name)), nil
	case "inline":
		return ParseInline(name)
	case "fail":
		return failTable(name), nil
	case "unix":
		if name != "passwd.byname" {
			return nil, &Error{File: ref, Msg: "unix table: only passwd.byname is supported"}
		}
		return newFileTable(ref, "/etc/passwd", opts, func(data []byte, file string) (Table, error) {
			return parsePasswd(data), nil
		})
	case "hash", "btree", "texthash", "dbm", "sdbm", "lmdb", "cdb":
		if name == "" {
			return nil, &Error{File: ref, Msg: "missing file name"}
		}
		path := sourcePath(name)
		return newFileTable(ref, path, opts, func(data []byte, file string) (Table, error) {
			if opts.Syntax == SyntaxAliases {
				return parseAliasesData(data, file, opts.Aliases)
			}
			return parseHashData(data, file)
		})
	case "cidr":
		return newFileTable(ref, name, opts, func(data []byte, file string) (Table, error) {
			return parseCIDRData(data, file)
		})
	case "regexp", "pcre":
		pcre := typ == "pcre"
		return newFileTable(ref, name, opts, func(data []byte, file string) (Table, error) {
			return parseRegexpData(data, file, pcre)
		})
	}
	return nil, &Error{File: ref, Msg: fmt.Sprintf("%v %q", ErrUnsupported, typ)}
}

// sourcePath maps "hash:/etc/postfix/access.db" to the source file: tables
// are always read from source text.
func sourcePath(name string) string {
	if strings.HasSuffix(name, ".db") || strings.HasSuffix(name, ".cdb") || strings.HasSuffix(name, ".lmdb") {
		if _, err := os.Stat(name); err == nil {
			base := strings.TrimSuffix(name, filepath.Ext(name))
			if _, err := os.Stat(base); err == nil {
				return base
			}
		}
	}
	return name
}

func unbrace(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
		return strings.TrimSpace(t[1 : len(t)-1])
	}
	return s
}

// Static is the static: table: every key maps to the same value.
type Static string

// Lookup returns the value for every key.
func (s Static) Lookup(_ context.Context, _ string) (string, bool, error) {
	return string(s), true, nil
}

type failTable string

// ErrFail is returned by every lookup in a fail: table.
var ErrFail = errors.New("table lookup failed")

// Lookup always fails with ErrFail.
func (f failTable) Lookup(_ context.Context, _ string) (string, bool, error) {
	return "", false, fmt.Errorf("fail:%s: %w", string(f), ErrFail)
}
