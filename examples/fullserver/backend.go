package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/auth/privsep"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/lmtp"
	"github.com/yubinmail/yubin/maildir"
	"github.com/yubinmail/yubin/store"
)

// users is the host's user database: a passdb for logins and a userdb
// for homes and mail locations, as Dovecot's passdb/userdb blocks.
type users struct {
	pass     auth.PassDB
	passwd   *auth.PasswdFile // the passdb when it is a passwd-file (reloaded on SIGHUP)
	db       auth.UserDB
	localDom []string // mydestination: user@localdomain may be written as user
	// pamWorker is the auth worker that runs PAM as root, or nil.
	pamWorker *privsep.Client
}

// driverArgs splits "driver:args" and the args into key=value options and
// the remaining words.
func driverArgs(v string) (driver string, opts map[string]string, words []string) {
	driver, rest, _ := strings.Cut(v, ":")
	opts = map[string]string{}
	for _, f := range strings.Fields(rest) {
		if k, val, ok := strings.Cut(f, "="); ok {
			opts[k] = val
		} else {
			words = append(words, f)
		}
	}
	return driver, opts, words
}

// mailLocationOf is mail_location, or, when only Postfix's home_mailbox
// is set (home_mailbox = Maildir/), the Maildir under each user's home
// that it names (maildir:~/Maildir).
func mailLocationOf(c *config.Config) string {
	if !c.IsSet("mail_location") && c.IsSet("home_mailbox") {
		if hm := strings.Trim(c.Get("home_mailbox"), "/"); hm != "" {
			return "maildir:~/" + hm
		}
	}
	return c.Get("mail_location")
}

// newUsers builds passdb and userdb from the passdb, userdb and
// mail_location settings.
func newUsers(c *config.Config, log *slog.Logger) (*users, error) {
	return newUsersWith(c, log, nil)
}

// newUsersWith is newUsers with the auth worker that runs pam passdbs
// (nil: they run in this process).
func newUsersWith(c *config.Config, log *slog.Logger, pamWorker *privsep.Client) (*users, error) {
	u := &users{localDom: c.List("mydestination"), pamWorker: pamWorker}
	var err error
	cache := authCacheOf(c) // read for every passdb; sql, ldap and pam use it
	driver, opts, words := driverArgs(c.Get("passdb"))
	if strings.Contains(c.Get("passdb"), ",") {
		driver = "chain" // passwd-file:/x, sql:/y
	}
	switch driver {
	case "chain":
		if err := u.openPassDBChain(c, cache, log); err != nil {
			return nil, err
		}
	case "passwd-file":
		if len(words) != 1 {
			return nil, fmt.Errorf("passdb = %s: want passwd-file:[scheme=X] PATH", c.Get("passdb"))
		}
		u.passwd = &auth.PasswdFile{Path: words[0], DefaultScheme: opts["scheme"], Logger: log,
			DefaultFields: map[string]string{"mail": mailLocationOf(c)}}
		// A missing file is an empty one (the first start makes it).
		if err := u.passwd.Reload(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("passdb: %w", err)
		}
		u.pass = u.passwd
	case "ldap":
		db, err := openLDAP("passdb = "+c.Get("passdb"), words, log)
		if err != nil {
			return nil, err
		}
		u.pass = cache.wrap(db)
	case "sql":
		if u.pass, err = sqlPassDB(c, words, cache, log); err != nil {
			return nil, err
		}
	case "pam":
		if u.pass, err = pamPassDB(c, opts, words, cache, u.pamWorker); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("passdb = %s: want passwd-file:, sql:, ldap: or pam", c.Get("passdb"))
	}
	parts := strings.Split(c.Get("userdb"), ",")
	var chain auth.UserDBChain
	for _, part := range parts {
		db, err := u.openUserDB(c, strings.TrimSpace(part), log)
		if err != nil {
			return nil, err
		}
		chain = append(chain, db)
	}
	u.db = chain[0]
	if len(chain) > 1 {
		// "userdb = passwd, static:uid=vmail ...": asked in order, the
		// first that knows the user answers (Dovecot's several userdb
		// blocks).
		u.db = chain
	}
	return u, nil
}

// openUserDB builds one userdb of the userdb setting: static,
// passwd-file (the passdb's file), passwd, sql or ldap.
func (u *users) openUserDB(c *config.Config, spec string, log *slog.Logger) (auth.UserDB, error) {
	var db auth.UserDB
	driver, opts, words := driverArgs(spec)
	fields := map[string]string{"mail": mailLocationOf(c)}
	for k, v := range opts {
		if k != "allow_all_users" {
			fields[k] = v
		}
	}
	switch driver {
	case "static":
		if len(words) > 0 {
			return nil, fmt.Errorf("userdb = %s: static takes key=value fields", spec)
		}
		db = &auth.StaticUserDB{Fields: fields, PassDB: u.pass, AllowAllUsers: opts["allow_all_users"] == "yes"}
	case "passwd-file":
		if u.passwd == nil || (len(words) == 1 && words[0] != u.passwd.Path) {
			return nil, fmt.Errorf("userdb = %s: a passwd-file userdb must be the passdb's file", spec)
		}
		db = u.passwd
	case "passwd":
		db = &auth.SystemUserDB{Fields: fields}
	case "ldap":
		ldb, err := ldapUserDB("userdb = "+spec, opts, words, map[string]string{"mail": mailLocationOf(c)}, log)
		if err != nil {
			return nil, err
		}
		db = ldb
	case "sql":
		if _, ok := opts["mail"]; !ok {
			delete(fields, "mail") // a mail column wins over mail_location
		}
		sdb, err := sqlUserDB(c, words, fields, map[string]string{"mail": mailLocationOf(c)}, log)
		if err != nil {
			return nil, err
		}
		db = sdb
	default:
		return nil, fmt.Errorf("userdb = %s: want static, passwd-file, passwd, sql or ldap", spec)
	}
	return db, nil
}

// LookupUser implements auth.UserDB for delivery: user@D for a D in
// mydestination may be listed as plain "user", as Postfix's local users
// are.
//
// user@[address] of this host (an address literal the restrictions
// classed as local) is the user of that local part in the first
// mydestination domain that has one, or a plain "user": Postfix's local
// domains share one namespace of local parts, and its address literals
// reach it.
func (u *users) LookupUser(ctx context.Context, name string) (*auth.User, error) {
	if usr, ok := lmtp.LookedUpUser(ctx, name); ok {
		return usr, nil // a delivery opening the store of the user it looked up
	}
	usr, err := u.db.LookupUser(ctx, name)
	if !errors.Is(err, auth.ErrUnknownUser) {
		return usr, err
	}
	i := strings.LastIndexByte(name, '@')
	if i <= 0 {
		return usr, err
	}
	local, dom := name[:i], name[i+1:]
	if slices.Contains(u.localDom, dom) {
		return u.db.LookupUser(ctx, local)
	}
	if strings.HasPrefix(dom, "[") && strings.HasSuffix(dom, "]") {
		for _, d := range u.localDom {
			if usr, err := u.db.LookupUser(ctx, local+"@"+d); !errors.Is(err, auth.ErrUnknownUser) {
				return usr, err
			}
		}
		return u.db.LookupUser(ctx, local)
	}
	return usr, err
}

// mailRoot returns the Maildir root of a userdb record: its mail field
// ("maildir:~/Maildir", "maildir:/var/mail/%d/%n/Maildir:LAYOUT=fs")
// with ~ as the home directory and the options dropped.
func mailRoot(u *auth.User, name string) (string, error) {
	loc := u.MailLocation
	if loc == "" {
		loc = u.Fields["mail"]
	}
	path, ok := strings.CutPrefix(loc, "maildir:")
	if !ok {
		return "", fmt.Errorf("user %s: mail location %q is not a maildir location", name, loc)
	}
	if i := strings.IndexByte(path, ':'); i >= 0 {
		path = path[:i]
	}
	if strings.Contains(path, "%") {
		x, err := auth.Expand(path, auth.Vars{"user": name, "home": u.Home}, nil)
		if err != nil {
			return "", err
		}
		path = x
	}
	if rest, ok := strings.CutPrefix(path, "~"); ok {
		if u.Home == "" {
			return "", fmt.Errorf("user %s: mail location uses ~ but the user has no home", name)
		}
		path = filepath.Join(u.Home, rest)
	}
	// A relative path (the default ./yubin-data) stays relative to the
	// working directory: started as root in a private home (/root is
	// 0700), the unprivileged mail owner can reach ./yubin-data but not
	// /root/.../yubin-data.
	return path, nil
}

// newStores returns the maildir backend that finds each user's Maildir
// through the userdb, with sdbox users routed to sdbox (mailStores), or,
// for mail_location = mbox:, the mbox backend.
func newStores(c *config.Config, u *users, log *slog.Logger) mailBackend {
	if isMboxLocation(mailLocationOf(c)) {
		return newMboxStores(c, u, log)
	}
	locate := func(ctx context.Context, name string) (string, error) {
		usr, err := u.LookupUser(ctx, name)
		if errors.Is(err, auth.ErrUnknownUser) {
			return "", store.ErrNoSuchUser
		}
		if err != nil {
			return "", err
		}
		return mailRoot(usr, usr.Name)
	}
	b := maildir.NewBackend(locate, maildir.Options{
		Logger:        log,
		Hostname:      c.Get("myhostname"),
		AutoMailboxes: store.DefaultAutoMailboxes(),
		// Postfix's mailbox_size_limit: the largest file a local
		// delivery writes (0: none). The protocols' own limits
		// (message_size_limit) come first.
		MaxMessageSize: c.Int("mailbox_size_limit"),
	})
	// A user's Store stays open a while after the last IMAP or POP3
	// session (clients poll and reconnect), so the next login finds
	// the mailboxes read (maildir.DefaultMaxKeptOpen of them at most).
	b.KeepOpen = storeKeepOpen
	return withSdbox(b, c, u, log)
}

// storeKeepOpen is how long maildir.Backend keeps an unused Store open.
const storeKeepOpen = 30 * time.Second
