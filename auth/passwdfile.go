package auth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PasswdEntry is one line of a Dovecot passwd-file:
// user:password:uid:gid:gecos:home:shell:extra_fields.
type PasswdEntry struct {
	User     string
	Password string // "{SCHEME}data", bare (default scheme) or "" (no password)
	UID, GID string // as written; "" when absent
	Gecos    string
	Home     string // not variable-expanded, as in Dovecot
	Shell    string
	// Extra holds the extra fields in file order, "key=value" or "key".
	Extra []string
	// Fields is the number of ':'-separated fields present (2 for
	// "user:password" only, which makes the entry passdb-only).
	Fields int
	Line   int
}

// LineError is a malformed line of a passwd-file. The rest of the file
// is still served.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// MaxPasswdLine is the longest passwd-file line accepted.
const MaxPasswdLine = 64 << 10

// ParsePasswdFile reads passwd-file lines from r; name is used in errors.
// Malformed lines are skipped and reported as *LineError; for duplicate
// users the first line wins, as in Dovecot.
func ParsePasswdFile(r io.Reader, name string) (map[string]*PasswdEntry, []error) {
	entries := map[string]*PasswdEntry{}
	var errs []error
	br := bufio.NewReaderSize(r, 4096)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if err == errLineTooLong {
			errs = append(errs, &LineError{name, n, "line too long"})
			continue
		}
		if err != nil && line == "" {
			if err != io.EOF {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			break
		}
		e, msg := parsePasswdLine(line)
		if msg != "" {
			errs = append(errs, &LineError{name, n, msg})
			continue
		}
		if e == nil {
			continue
		}
		e.Line = n
		if _, dup := entries[e.User]; dup {
			errs = append(errs, &LineError{name, n, fmt.Sprintf("duplicate user %q (first entry used)", e.User)})
			continue
		}
		entries[e.User] = e
	}
	return entries, errs
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its terminator, consuming the whole
// line even when it is too long.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			buf = append(buf, chunk...)
			if len(buf) > MaxPasswdLine {
				tooLong, buf = true, nil
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if tooLong {
			return "", errLineTooLong
		}
		s := strings.TrimRight(string(buf), "\r\n")
		if err != nil && s != "" {
			return s, nil
		}
		return s, err
	}
}

// parsePasswdLine parses one line; (nil, "") for comments and blanks.
func parsePasswdLine(line string) (*PasswdEntry, string) {
	if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
		return nil, ""
	}
	if strings.IndexByte(line, 0) >= 0 {
		return nil, "NUL byte in line"
	}
	f := strings.SplitN(line, ":", 8)
	e := &PasswdEntry{User: f[0], Fields: len(f)}
	if e.User == "" {
		return nil, "empty user name"
	}
	if strings.ContainsAny(e.User, " \t") {
		return nil, fmt.Sprintf("user name %q contains white space", e.User)
	}
	get := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	e.Password, e.UID, e.GID, e.Gecos, e.Home, e.Shell = get(1), get(2), get(3), get(4), get(5), get(6)
	for _, id := range []string{e.UID, e.GID} {
		if id != "" {
			if _, err := strconv.ParseUint(id, 10, 31); err != nil {
				return nil, fmt.Sprintf("invalid uid/gid %q for user %q", id, e.User)
			}
		}
	}
	if e.Home != "" && !strings.HasPrefix(e.Home, "/") {
		return nil, fmt.Sprintf("home %q of user %q is not absolute", e.Home, e.User)
	}
	e.Extra = strings.Fields(get(7))
	return e, ""
}

// DefaultMaxPasswdFiles bounds how many files a PasswdFile with
// variables in its Path keeps loaded at once.
const DefaultMaxPasswdFiles = 1000

// PasswdFile is a Dovecot passwd-file used as passdb and userdb. It
// re-reads the file when its modification time, size or inode changes.
// It implements PassDB, CredentialLookup and UserDB.
type PasswdFile struct {
	// Path of the file. It may hold variables of the user and the
	// connection, as Dovecot's "args = /etc/dovecot/%d/passwd" (one
	// file per domain): each value has everything from its first "/"
	// on cut off (so "%d" cannot leave the directory), and a file that
	// does not exist holds no users. ListUsers is not available then.
	Path string
	// DefaultScheme applies to passwords without "{SCHEME}"; default
	// "CRYPT" (Dovecot's passwd-file default).
	DefaultScheme string
	// DefaultFields are userdb fields used when the entry does not set
	// them (Dovecot's userdb default_fields); values may hold variables,
	// e.g. "home": "/srv/mail/%d/%n".
	DefaultFields map[string]string
	// Logger receives malformed-line reports; nil discards them.
	Logger *slog.Logger
	// MaxFiles bounds the files kept loaded for a Path with variables;
	// zero means DefaultMaxPasswdFiles.
	MaxFiles int

	mu     sync.Mutex
	tables map[string]*passwdTable // by expanded path
}

// passwdTable is one loaded file.
type passwdTable struct {
	entries map[string]*PasswdEntry
	errs    []error
	stamp   fileStamp
}

type fileStamp struct {
	mtime time.Time
	size  int64
	ino   uint64
}

// Errors returns the malformed-line errors of the last load of each
// loaded file.
func (p *PasswdFile) Errors() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	paths := make([]string, 0, len(p.tables))
	for path := range p.tables {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	var out []error
	for _, path := range paths {
		out = append(out, p.tables[path].errs...)
	}
	return out
}

// Reload re-reads the file unconditionally (with variables in Path:
// every file loaded so far).
func (p *PasswdFile) Reload() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.templated() {
		return p.load(p.Path)
	}
	var first error
	for path := range p.tables {
		if err := p.load(path); err != nil {
			delete(p.tables, path)
			if first == nil && !errors.Is(err, os.ErrNotExist) {
				first = err
			}
		}
	}
	return first
}

func (p *PasswdFile) templated() bool { return strings.Contains(p.Path, "%") }

// load reads the file at path into p.tables; p.mu is held.
func (p *PasswdFile) load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	entries, errs := ParsePasswdFile(f, path)
	if p.tables == nil {
		p.tables = map[string]*passwdTable{}
	}
	if _, ok := p.tables[path]; !ok {
		for old := range p.tables { // drop any until there is room
			if len(p.tables) < orDefault(p.MaxFiles, DefaultMaxPasswdFiles) {
				break
			}
			delete(p.tables, old)
		}
	}
	p.tables[path] = &passwdTable{entries: entries, errs: errs, stamp: stampOf(fi)}
	if p.Logger != nil {
		for _, e := range errs {
			p.Logger.Warn("passwd-file: malformed line", "error", e)
		}
	}
	return nil
}

// passwdPathEscape makes a variable's value safe in a file name the way
// Dovecot's passwd-file does: cut at the first "/".
func passwdPathEscape(s string) string {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

// path returns the file holding user.
func (p *PasswdFile) path(ctx context.Context, user string) (string, error) {
	if !p.templated() {
		return p.Path, nil
	}
	dots := false
	path, err := Expand(p.Path, connVars(ConnInfoFrom(ctx), user), func(s string) string {
		s = passwdPathEscape(s)
		// "user@.." must not reach "/etc/dovecot/%d/../passwd"
		// (Dovecot allows '.' in user names and does not stop this).
		dots = dots || s == "." || s == ".."
		return s
	})
	if err != nil {
		return "", fmt.Errorf("%w: passwd-file path: %v", ErrTempFail, err)
	}
	if dots {
		return "", ErrUnknownUser
	}
	return path, nil
}

// lookup returns the entry for user, reloading the file when it changed.
func (p *PasswdFile) lookup(ctx context.Context, user string) (*PasswdEntry, error) {
	path, err := p.path(ctx, user)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tables[path]
	fi, err := os.Stat(path)
	switch {
	case err != nil && p.templated() && errors.Is(err, os.ErrNotExist):
		// No file for this domain: no such users (as Dovecot).
		delete(p.tables, path)
		return nil, ErrUnknownUser
	case err != nil:
		if t == nil {
			return nil, fmt.Errorf("%w: passwd-file: %v", ErrTempFail, err)
		}
		// Keep serving the last good copy.
	case t == nil || stampOf(fi) != t.stamp:
		if err := p.load(path); err != nil && t == nil {
			return nil, fmt.Errorf("%w: passwd-file: %v", ErrTempFail, err)
		}
		t = p.tables[path]
	}
	e := t.entries[user]
	if e == nil {
		return nil, ErrUnknownUser
	}
	return e, nil
}

func (p *PasswdFile) defaultScheme() string {
	if p.DefaultScheme == "" {
		return "CRYPT"
	}
	return p.DefaultScheme
}

// expandedExtra returns e's extra fields with variables expanded.
func expandedExtra(e *PasswdEntry, v Vars) map[string]string {
	m := make(map[string]string, len(e.Extra))
	for _, kv := range e.Extra {
		k, val, _ := strings.Cut(kv, "=")
		if x, err := Expand(val, v, nil); err == nil {
			val = x
		}
		m[k] = val
	}
	return m
}

// Authenticate implements PassDB. The user name is compared
// case-sensitively: normalise it first (Service does, with %Lu).
func (p *PasswdFile) Authenticate(ctx context.Context, user, password string) (*Identity, error) {
	e, err := p.lookup(ctx, user)
	if err != nil {
		return nil, err
	}
	c := ConnInfoFrom(ctx)
	extra := expandedExtra(e, connVars(c, user))
	if nets, ok := extra["allow_nets"]; ok && !allowedNet(nets, c) {
		return nil, ErrAuthFailed
	}
	if _, ok := extra["nopassword"]; !ok {
		if e.Password == "" {
			return nil, ErrAuthFailed
		}
		ok, err := VerifyWith(e.Password, password, VerifyOptions{DefaultScheme: p.defaultScheme(), User: user})
		if err != nil {
			if p.Logger != nil {
				p.Logger.Error("passwd-file: unusable password", "file", p.Path, "line", e.Line, "user", user, "error", err)
			}
			return nil, ErrAuthFailed
		}
		if !ok {
			return nil, ErrAuthFailed
		}
	}
	id := &Identity{User: user, Fields: map[string]string{}}
	for k, v := range extra {
		switch k {
		case "nopassword", "allow_nets":
		case "user":
			id.User = v
		default:
			id.Fields[k] = v
		}
	}
	return id, nil
}

// allowedNet reports whether c's remote address is in the comma
// separated list of networks.
func allowedNet(list string, c *ConnInfo) bool {
	if c == nil {
		return false
	}
	ip := addrIP(c.RemoteAddr)
	if !ip.IsValid() {
		return false
	}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if !strings.Contains(n, "/") {
			if a, err := netip.ParseAddr(n); err == nil && a.Unmap() == ip {
				return true
			}
			continue
		}
		if pfx, err := netip.ParsePrefix(n); err == nil && pfx.Contains(ip) {
			return true
		}
	}
	return false
}

// LookupCredentials implements CredentialLookup: it returns the stored
// password converted to scheme when possible (a PLAIN password converts
// to anything; other stored schemes only to themselves).
func (p *PasswdFile) LookupCredentials(ctx context.Context, user, scheme string) ([]byte, error) {
	e, err := p.lookup(ctx, user)
	if err != nil {
		return nil, err
	}
	return Credentials(e.Password, p.defaultScheme(), user, scheme)
}

// Credentials converts a stored password into the raw credentials of
// scheme (for example "CRAM-MD5" -> the 32-byte context, "SCRAM-SHA-256"
// -> the stored text form, "PLAIN" -> the password). Stored plaintext
// converts to any scheme; other schemes only to themselves.
func Credentials(stored, defaultScheme, user, scheme string) ([]byte, error) {
	if stored == "" {
		return nil, ErrUnsupportedScheme
	}
	st, err := ParseStored(stored, defaultScheme)
	if err != nil {
		return nil, err
	}
	want := strings.ToUpper(scheme)
	if s := schemes[want]; s != nil {
		want = s.name
	}
	if st.Scheme == want {
		return st.Data, nil
	}
	if st.Scheme == "PLAIN" {
		s := schemes[want]
		if s == nil || s.generate == nil {
			return nil, ErrUnsupportedScheme
		}
		return s.generate(string(st.Data), &HashOptions{User: user})
	}
	return nil, ErrUnsupportedScheme
}

// LookupUser implements UserDB. Entries with only "user:password" and no
// default fields are passdb-only and give ErrUnknownUser, as Dovecot's
// "missing userdb info".
func (p *PasswdFile) LookupUser(ctx context.Context, user string) (*User, error) {
	e, err := p.lookup(ctx, user)
	if err != nil {
		return nil, err
	}
	v := connVars(ConnInfoFrom(ctx), user)
	fields := map[string]string{}
	for k, val := range p.DefaultFields {
		if x, err := Expand(val, v, nil); err == nil {
			fields[k] = x
		}
	}
	if e.UID != "" {
		fields["uid"] = e.UID
	}
	if e.GID != "" {
		fields["gid"] = e.GID
	}
	if e.Home != "" {
		fields["home"] = e.Home
	}
	for k, val := range expandedExtra(e, v) {
		if name, ok := strings.CutPrefix(k, "userdb_"); ok {
			fields[name] = val
		}
	}
	if e.Fields <= 2 && len(fields) == 0 {
		return nil, ErrUnknownUser
	}
	return NewUser(user, fields)
}

// UserLister is implemented by databases that can enumerate their users
// (the auth-master LIST request, doveadm's "-A").
type UserLister interface {
	ListUsers(ctx context.Context) ([]string, error)
}

// ListUsers implements UserLister, in file order. With variables in
// Path there is no one file to list, and it fails with ErrTempFail.
func (p *PasswdFile) ListUsers(ctx context.Context) ([]string, error) {
	if p.templated() {
		return nil, fmt.Errorf("%w: passwd-file: cannot list users with variables in the path", ErrTempFail)
	}
	if _, err := p.lookup(ctx, ""); err != nil && !errors.Is(err, ErrUnknownUser) {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	entries := p.tables[p.Path].entries
	out := make([]string, 0, len(entries))
	for u := range entries {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return entries[out[i]].Line < entries[out[j]].Line })
	return out, nil
}

// PassLookup is implemented by passdbs that can return a user's passdb
// fields without checking a password (Dovecot's passdb lookup for
// proxies and the auth-master PASS request).
type PassLookup interface {
	LookupPass(ctx context.Context, user string) (*Identity, error)
}

// LookupPass implements PassLookup: the entry's passdb extra fields
// (userdb_ fields and nopassword/allow_nets excluded), ErrUnknownUser.
func (p *PasswdFile) LookupPass(ctx context.Context, user string) (*Identity, error) {
	e, err := p.lookup(ctx, user)
	if err != nil {
		return nil, err
	}
	id := &Identity{User: user, Fields: map[string]string{}}
	for k, v := range expandedExtra(e, connVars(ConnInfoFrom(ctx), user)) {
		switch {
		case k == "nopassword" || k == "allow_nets" || strings.HasPrefix(k, "userdb_"):
		case k == "user":
			id.User = v
		default:
			id.Fields[k] = v
		}
	}
	return id, nil
}
