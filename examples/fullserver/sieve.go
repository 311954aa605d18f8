package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/sieve"
	"github.com/yubinmail/yubin/store"
)

// sieveParams are Pigeonhole's settings this host reads: where a user's
// active script is, the global scripts run before and after it, and the
// limits.
var sieveParams = []config.Param{
	{Name: "sieve", Default: "file:~/sieve;active=~/.dovecot.sieve", Doc: "the user's Sieve script location as Pigeonhole's (file:DIR;active=FILE, or a script file); a userdb field sieve overrides it; ~ is the user's home, or the directory holding the Maildir when the userdb gives no home; empty: no personal scripts"},
	{Name: "sieve_before", Default: "", Doc: "a Sieve script (or a directory of *.sieve, run in name order) run before the user's at delivery"},
	{Name: "sieve_after", Default: "", Doc: "a Sieve script (or a directory of *.sieve) run after the user's while the implicit keep is in effect"},
	{Name: "sieve_global", Default: "", Doc: "the directory include :global reads"},
	{Name: "sieve_extensions", Default: "", Doc: "the Sieve extensions scripts may use, as Pigeonhole's: empty for the defaults, +name/-name to change them, plain names to replace them (+editheader +ereject +vacation-seconds)"},
	{Name: "sieve_spamtest_status_type", Default: "score", Check: oneOf("score", "strlen"), Doc: "how spamtest reads sieve_spamtest_status_header: a score or a run of characters"},
	{Name: "sieve_spamtest_status_header", Default: "", Doc: "the spam scanner's header for spamtest, with an optional regex: X-Spam-Score or X-Spam-Status: score=([-0-9.]+); empty: not tested"},
	{Name: "sieve_spamtest_max_value", Default: "10", Doc: "the score that counts as 10 (100%) for spamtest"},
	{Name: "sieve_virustest_status_type", Default: "score", Check: oneOf("score", "strlen"), Doc: "as sieve_spamtest_status_type, for virustest"},
	{Name: "sieve_virustest_status_header", Default: "", Doc: "the virus scanner's header for virustest; empty: not tested"},
	{Name: "sieve_virustest_max_value", Default: "10", Doc: "the value that counts as 10 for virustest"},
	{Name: "sieve_max_script_size", Default: "1048576", Kind: config.Int, Doc: "largest Sieve script accepted"},
	{Name: "sieve_max_actions", Default: "32", Kind: config.Int, Doc: "most actions one Sieve run may take"},
	{Name: "sieve_max_redirects", Default: "4", Kind: config.Int, Doc: "most redirects one Sieve run may take"},
	{Name: "sieve_max_cpu_time", Default: "30s", Kind: config.Duration, Doc: "longest one delivery's Sieve run may take"},
}

// sieveDeliverer runs the recipient's Sieve scripts at delivery (LMTP and
// the queue's local transport), as Pigeonhole's LMTP/LDA plugin does, and
// applies the actions: keep and fileinto into the user's store (folders
// made on the fly with :create), redirect, vacation, reject and notify
// through the queue. Without any script, delivery goes straight to the
// inner deliverer.
type sieveDeliverer struct {
	inner    *lmtp.StoreDeliverer
	users    auth.UserDB
	stores   store.Backend
	enqueue  func(ctx context.Context, from string, to []string, msg []byte) error
	log      *slog.Logger
	hostname string
	location string // the sieve setting
	before   []string
	after    []string
	global   string
	limits   sieve.Limits
	exts     []string
	spam     *sieve.TestScoreConfig
	virus    *sieve.TestScoreConfig
	maxSize  int64
	junk     string // dmarc_quarantine_mailbox (junk.go)
	mbox     bool   // the mail location is mbox (savedto.go)

	mu    sync.Mutex
	cache map[string]*cachedScript
	track sync.Map // per user tracker file path -> *fileTracker
}

type cachedScript struct {
	mod  time.Time
	size int64
	s    *sieve.Script
	err  error
}

// withSieve wraps a store deliverer with the Sieve filter.
func (h *host) withSieve(c *config.Config, u auth.UserDB, stores store.Backend, inner *lmtp.StoreDeliverer) *sieveDeliverer {
	d := &sieveDeliverer{
		inner:    inner,
		users:    u,
		stores:   stores,
		log:      h.log,
		hostname: c.Get("myhostname"),
		location: c.Get("sieve"),
		before:   scriptList(c.Get("sieve_before")),
		after:    scriptList(c.Get("sieve_after")),
		global:   c.Get("sieve_global"),
		limits: sieve.Limits{
			MaxScriptSize: int(c.Int("sieve_max_script_size")),
			MaxActions:    int(c.Int("sieve_max_actions")),
			MaxRedirects:  int(c.Int("sieve_max_redirects")),
			MaxCPUTime:    c.Duration("sieve_max_cpu_time"),
		},
		exts:    sieveExtensions(c.Get("sieve_extensions")),
		spam:    scoreConfig(c, "sieve_spamtest_"),
		virus:   scoreConfig(c, "sieve_virustest_"),
		maxSize: c.Int("message_size_limit"),
		junk:    c.Get("dmarc_quarantine_mailbox"),
		mbox:    isMboxLocation(mailLocationOf(c)),
		cache:   map[string]*cachedScript{},
	}
	d.enqueue = func(ctx context.Context, from string, to []string, msg []byte) error {
		if h.queue == nil {
			return errors.New("no queue")
		}
		return enqueueMessage(ctx, h.queue, from, to, msg)
	}
	return d
}

// scriptList expands sieve_before/sieve_after: a file, or the *.sieve
// files of a directory in name order.
func scriptList(v string) []string {
	var out []string
	for _, p := range strings.Fields(v) {
		fi, err := os.Stat(p)
		if err == nil && fi.IsDir() {
			names, _ := filepath.Glob(filepath.Join(p, "*.sieve"))
			sort.Strings(names)
			out = append(out, names...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// Rcpt implements lmtp.Deliverer.
func (d *sieveDeliverer) Rcpt(ctx context.Context, env *lmtp.Envelope, rcpt string) error {
	return d.inner.Rcpt(ctx, env, rcpt)
}

// SyncDeliveries passes the queue's sync on to the store deliverer.
func (d *sieveDeliverer) SyncDeliveries(ctx context.Context) error {
	return d.inner.SyncDeliveries(ctx)
}

// Close releases the inner deliverer's kept stores.
func (d *sieveDeliverer) Close() error { return d.inner.Close() }

// userSieve is where one user's scripts are.
type userSieve struct {
	name     string
	active   string // the active script file
	dir      string // personal script directory (include :personal)
	trackDir string
}

// locate resolves the sieve setting (or the userdb's sieve field) for a
// user, as Pigeonhole does: "file:DIR;active=FILE" or a script path.
func (d *sieveDeliverer) locate(u *auth.User) *userSieve {
	loc := d.location
	if v, ok := u.Fields["sieve"]; ok {
		loc = v
	}
	home := sieveHome(u)
	us := &userSieve{name: u.Name, trackDir: home}
	if loc == "" || home == "" {
		return us
	}
	expand := func(p string) string {
		if rest, ok := strings.CutPrefix(p, "~"); ok {
			return filepath.Join(home, rest)
		}
		return p
	}
	if rest, ok := strings.CutPrefix(loc, "file:"); ok {
		parts := strings.Split(rest, ";")
		us.dir = expand(parts[0])
		for _, p := range parts[1:] {
			if v, ok := strings.CutPrefix(p, "active="); ok {
				us.active = expand(v)
			}
		}
		return us
	}
	us.active = expand(loc)
	us.dir = filepath.Dir(us.active)
	return us
}

// load parses a script file, cached by path, modification time and size.
// A missing file gives nil, nil.
func (d *sieveDeliverer) load(path string, inc sieve.Includer) (*sieve.Script, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	c := d.cache[path]
	d.mu.Unlock()
	if c != nil && c.mod.Equal(fi.ModTime()) && c.size == fi.Size() {
		return c.s, c.err
	}
	if fi.Size() > int64(d.limits.MaxScriptSize) && d.limits.MaxScriptSize > 0 {
		return nil, fmt.Errorf("%s: %w", path, sieve.ErrScriptTooLarge)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, perr := sieve.Parse(src, sieve.WithLimits(d.limits), sieve.WithIncluder(inc), sieve.WithName(path), sieve.WithExtensions(d.exts...))
	d.mu.Lock()
	if len(d.cache) > 10000 {
		d.cache = map[string]*cachedScript{}
	}
	d.cache[path] = &cachedScript{mod: fi.ModTime(), size: fi.Size(), s: s, err: perr}
	d.mu.Unlock()
	return s, perr
}

// includer reads include :personal from the user's script directory and
// :global from sieve_global.
func (d *sieveDeliverer) includer(us *userSieve) sieve.Includer {
	return sieve.IncluderFunc(func(loc sieve.IncludeLocation, name string) ([]byte, error) {
		dir := us.dir
		if loc == sieve.IncludeGlobal {
			dir = d.global
		}
		if dir == "" {
			return nil, sieve.ErrNotFound
		}
		b, err := os.ReadFile(filepath.Join(dir, name+".sieve"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, sieve.ErrNotFound
		}
		return b, err
	})
}

// scripts returns the scripts to run for a user: sieve_before, the
// active personal script, sieve_after. A script that does not compile is
// logged and skipped, as Pigeonhole does.
func (d *sieveDeliverer) scripts(us *userSieve) []*sieve.Script {
	var out []*sieve.Script
	add := func(path string, inc sieve.Includer) {
		s, err := d.load(path, inc)
		if err != nil {
			d.log.Error("sieve: script failed to compile; skipped", "script", path, "user", us.name, "err", err)
			return
		}
		if s != nil {
			out = append(out, s)
		}
	}
	globalInc := d.includer(&userSieve{})
	for _, p := range d.before {
		add(p, globalInc)
	}
	if us.active != "" {
		add(us.active, d.includer(us))
	}
	for _, p := range d.after {
		add(p, globalInc)
	}
	return out
}

// Deliver implements lmtp.Deliverer.
func (d *sieveDeliverer) Deliver(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) error {
	_, err := d.deliver(ctx, env, rcpt, msg)
	return err
}

// deliver is Deliver; it also returns the user it looked up (nil when
// the lookup failed).
func (d *sieveDeliverer) deliver(ctx context.Context, env *lmtp.Envelope, rcpt string, msg io.Reader) (*auth.User, error) {
	msg, junk, release := peekJunk(msg)
	defer release()
	name := d.userName(rcpt)
	// The user the LMTP server's RCPT looked up, when there was one.
	u, err := d.inner.User(ctx, env, rcpt)
	if err != nil {
		// The inner deliverer gives the right reply.
		return nil, d.inner.Deliver(ctx, env, rcpt, msg)
	}
	if u.Name == "" {
		u.Name = name
	}
	us := d.locate(u)
	scripts := d.scripts(us)
	if len(scripts) == 0 {
		if junk {
			return u, d.deliverJunk(ctx, env, rcpt, u.Name, msg)
		}
		// The user is looked up: the inner deliverer need not again.
		return u, d.inner.DeliverUser(ctx, env, rcpt, u, msg)
	}
	limit := d.maxSize
	if limit <= 0 {
		limit = 1 << 30
	}
	raw, err := io.ReadAll(io.LimitReader(msg, limit+1))
	if err != nil {
		return u, err
	}
	m := sieve.ParseMessage(raw)
	tr := d.tracker(us)
	if tr != nil && tracks(scripts) {
		// One run at a time per user when a script tracks: a vacation
		// reply or duplicate check and its recording must not
		// interleave with another delivery's (two messages from one
		// sender, one reply).
		tr.run.Lock()
		defer tr.run.Unlock()
	}
	senv := &sieve.Env{
		Envelope:            sieve.Envelope{From: env.From, To: rcpt},
		SubaddressSeparator: d.inner.Delimiter,
		Tracker:             trackerOrNil(tr),
		Mailboxes:           &mailboxChecker{d: d, user: u.Name},
		Logger:              d.log,
		Environment:         map[string]string{"domain": d.hostname, "host": d.hostname, "location": "MS", "phase": "post", "name": "yubin Sieve"},
	}
	if d.spam != nil {
		senv.SpamTest, senv.SpamTestPercent = d.spam.Values(m)
	}
	if d.virus != nil {
		senv.VirusTest, _ = d.virus.Values(m)
	}
	res := sieve.RunScripts(ctx, m, senv, scripts...)
	if res.Err != nil {
		d.log.Warn("sieve: run failed; message kept in INBOX", "user", u.Name, "err", res.Err)
	}
	if err := d.apply(ctx, env, rcpt, u.Name, m, res); err != nil {
		return u, err
	}
	if tr != nil {
		for _, e := range res.Track {
			if err := tr.Record(ctx, e.Key, e.Period); err != nil {
				d.log.Warn("sieve: tracking failed", "user", u.Name, "err", err)
			}
		}
	}
	return u, nil
}

// tracker returns the user's vacation/duplicate tracker.
func (d *sieveDeliverer) tracker(us *userSieve) *fileTracker {
	if us.trackDir == "" {
		return nil
	}
	path := filepath.Join(us.trackDir, ".yubin-sieve-track")
	t, _ := d.track.LoadOrStore(path, &fileTracker{path: path})
	return t.(*fileTracker)
}

// mailboxChecker answers mailboxexists from the user's store.
type mailboxChecker struct {
	d    *sieveDeliverer
	user string
}

func (c *mailboxChecker) MailboxExists(ctx context.Context, name string) bool {
	st, err := c.d.stores.Open(ctx, c.user)
	if err != nil {
		return false
	}
	defer st.Close()
	_, err = st.Status(ctx, name)
	return err == nil
}

// keepOnly reports whether a result is a plain keep into INBOX without
// flags or header edits: the inner deliverer's fast path.
func keepOnly(res *sieve.Result) bool {
	if res.Header != nil {
		return false
	}
	if len(res.Actions) == 0 {
		return res.ImplicitKeep && len(res.KeepFlags) == 0
	}
	return false
}

// userName is the name the store deliverer looks rcpt up by: the
// address without its +detail, lower-cased.
func (d *sieveDeliverer) userName(rcpt string) string {
	local, domain := rcpt, ""
	if i := strings.LastIndexByte(rcpt, '@'); i >= 0 {
		local, domain = rcpt[:i], rcpt[i+1:]
	}
	delim := d.inner.Delimiter
	if delim == "" {
		delim = "+"
	}
	if i := strings.IndexAny(local, delim); i > 0 {
		local = local[:i]
	}
	name := strings.ToLower(local)
	if domain != "" && !d.inner.LocalPartOnly {
		name += "@" + strings.ToLower(domain)
	}
	return name
}

// trackerOrNil keeps a nil *fileTracker a nil interface.
func trackerOrNil(t *fileTracker) sieve.Tracker {
	if t == nil {
		return nil
	}
	return t
}

// tracks reports whether any script uses the tracker (vacation,
// duplicate).
func tracks(scripts []*sieve.Script) bool {
	for _, s := range scripts {
		for _, e := range s.Requires() {
			if e == "vacation" || e == "duplicate" || e == "vacation-seconds" {
				return true
			}
		}
	}
	return false
}

// sieveExtensions applies sieve_extensions to the defaults: "+x" adds,
// "-x" removes, plain names replace the list (Pigeonhole's syntax).
func sieveExtensions(v string) []string {
	set := map[string]bool{}
	for _, e := range sieve.DefaultExtensions {
		set[e] = true
	}
	replaced := false
	for _, f := range strings.Fields(strings.ToLower(v)) {
		switch {
		case strings.HasPrefix(f, "+"):
			set[f[1:]] = true
		case strings.HasPrefix(f, "-"):
			delete(set, f[1:])
		default:
			if !replaced {
				set, replaced = map[string]bool{}, true
			}
			set[f] = true
		}
	}
	out := make([]string, 0, len(set))
	for e := range set {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}

// scoreConfig reads sieve_spamtest_* or sieve_virustest_*; nil when no
// header is set.
func scoreConfig(c *config.Config, prefix string) *sieve.TestScoreConfig {
	typ, hdr, maxv := c.Get(prefix+"status_type"), c.Get(prefix+"status_header"), c.Get(prefix+"max_value")
	if hdr == "" {
		return nil
	}
	f, err := strconv.ParseFloat(maxv, 64)
	if err != nil || f <= 0 {
		f = 10
	}
	return &sieve.TestScoreConfig{Type: typ, Header: hdr, MaxValue: f}
}

// sieveHome is the directory "~" means in Sieve locations: the userdb's
// home, or the directory holding the user's Maildir when it gives none
// (the default $data_directory/mail/%d/%n/Maildir gives
// $data_directory/mail/%d/%n). ManageSieve's storage must use the same.
func sieveHome(u *auth.User) string {
	if u.Home != "" {
		return u.Home
	}
	if root, err := mailRoot(u, u.Name); err == nil {
		return filepath.Dir(filepath.Clean(root))
	}
	return ""
}
