package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/internal/mutf7"
	"github.com/yubinmail/yubin/store"
)

// newIMAPACL is the IMAP server's ACL store (RFC 4314): Dovecot's
// dovecot-acl file in each Maildir++ folder (the Maildir root for
// INBOX), in Dovecot's vfile format, so that Dovecot with
// mail_plugins = acl and acl = vfile reads the same lists. sdbox and
// mbox users keep no lists: they have every right on their mailboxes,
// and SETACL is refused.
func newIMAPACL(u *users) imap.ACL {
	roots := &aclRoots{u: u, m: map[string]aclRoot{}}
	return &imap.FileACL{Dir: func(ctx context.Context, name, mailbox string) (string, error) {
		root, err := roots.root(ctx, name)
		if err != nil || root == "" {
			return "", err
		}
		return maildirFolderDir(root, mailbox), nil
	}}
}

// aclRoots remembers users' Maildir roots a minute: SELECT and STATUS
// ask for the rights of every mailbox they open.
type aclRoots struct {
	u  *users
	mu sync.Mutex
	m  map[string]aclRoot
}

type aclRoot struct {
	dir  string
	when time.Time
}

// aclRootTTL is how long a looked-up root is used.
const aclRootTTL = time.Minute

// root is the user's Maildir root, "" for sdbox, mbox and pgsql users
// (no ACL lists).
func (a *aclRoots) root(ctx context.Context, name string) (string, error) {
	a.mu.Lock()
	r, ok := a.m[name]
	a.mu.Unlock()
	if ok && time.Since(r.when) < aclRootTTL {
		return r.dir, nil
	}
	usr, err := a.u.LookupUser(ctx, name)
	if errors.Is(err, auth.ErrUnknownUser) {
		return "", store.ErrNoSuchUser
	}
	if err != nil {
		return "", err
	}
	dir := ""
	if loc := userMailLocation(usr); !strings.HasPrefix(loc, "sdbox:") && !isMboxLocation(loc) && !isPgsqlLocation(loc) {
		if dir, err = mailRoot(usr, usr.Name); err != nil {
			return "", err
		}
	}
	a.mu.Lock()
	if len(a.m) > 10000 {
		clear(a.m)
	}
	a.m[name] = aclRoot{dir: dir, when: time.Now()}
	a.mu.Unlock()
	return dir, nil
}

// maildirFolderDir is the Maildir++ directory of a mailbox, as package
// maildir names it: ".A.B" in modified UTF-7, the root for INBOX; ""
// for a name that cannot be a folder (a level with a dot or empty).
func maildirFolderDir(root, mailbox string) string {
	mailbox = store.CanonicalName(mailbox)
	if mailbox == store.Inbox {
		return root
	}
	if store.ValidateName(mailbox) != nil {
		return ""
	}
	levels := strings.Split(mailbox, "/")
	for i, l := range levels {
		if l == "" || strings.ContainsRune(l, '.') {
			return ""
		}
		levels[i] = mutf7.Encode(l)
	}
	return filepath.Join(root, "."+strings.Join(levels, "."))
}
