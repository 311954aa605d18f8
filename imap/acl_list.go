package imap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/internal/atomicfile"
)

// ACLListFileName is the file in a user's Maildir root where Dovecot's
// vfile ACLs list the mailboxes that have an access control list, one
// "<mtime of its dovecot-acl> <storage name>" a line ("Lists.go",
// "INBOX"). Dovecot's shared namespaces read it to find what a user may
// share; FileACL rewrites it after every change, so a Dovecot sharing
// the Maildir finds the lists yubin wrote.
const ACLListFileName = "dovecot-acl-list"

// maxACLListDirs bounds the folders rebuildACLList looks at.
const maxACLListDirs = 100000

// rebuildACLList rewrites the user's dovecot-acl-list from the
// dovecot-acl files of the Maildir++ folders (".Lists.go") and of INBOX
// (the root): a mailbox is listed when its file has an entry, as
// Dovecot lists it. Dovecot rebuilds the list after an ACL change too,
// and, like it, yubin leaves the list as it is on RENAME and DELETE
// until the next change. Errors leave the old list: it is a hint for
// Dovecot, not what yubin's rights come from.
func (f *FileACL) rebuildACLList(ctx context.Context, user string) {
	root, err := f.Dir(ctx, user, "INBOX")
	if err != nil || root == "" {
		return
	}
	d, err := os.Open(root)
	if err != nil {
		return
	}
	ents, err := d.ReadDir(maxACLListDirs)
	d.Close()
	if err != nil && len(ents) == 0 {
		return
	}
	var folders []string
	for _, e := range ents {
		if n := e.Name(); e.IsDir() && strings.HasPrefix(n, ".") && n != "." && n != ".." {
			folders = append(folders, n)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(folders)))
	var b bytes.Buffer
	sharedWith := map[string]bool{}
	add := func(dir, name string) {
		path := filepath.Join(dir, ACLFileName)
		st, err := os.Stat(path)
		if err != nil || !st.Mode().IsRegular() || st.Size() > maxACLFileSize {
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return
		}
		if entries, err := parseACLFile(data); err == nil && len(entries) > 0 {
			b.WriteString(strconv.FormatInt(st.ModTime().Unix(), 10) + " " + name + "\n")
			for _, e := range entries {
				if e.HasRights && e.Rights&RightLookup != 0 {
					sharedWith[e.Identifier] = true
				}
			}
		}
	}
	for _, n := range folders {
		add(filepath.Join(root, n), n[1:])
	}
	add(root, "INBOX")
	_ = atomicfile.Write(filepath.Join(root, ACLListFileName), b.Bytes(), 0o600, atomicfile.NoOwner)
	if f.SharedDict != "" {
		if err := f.updateSharedDict(user, sharedWith); err != nil && f.Logger != nil {
			f.Logger.Warn("imap: updating the shared mailboxes dict failed", "path", f.SharedDict, "err", err)
		}
	}
}
