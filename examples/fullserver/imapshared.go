package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/yubinmail/yubin/auth"
	"github.com/yubinmail/yubin/config"
	"github.com/yubinmail/yubin/imap"
	"github.com/yubinmail/yubin/store"
)

// imapSharedParams are the settings of the IMAP shared namespace, as
// Dovecot's namespace { type = shared } and the acl plugin's
// acl_shared_dict give it (a dovecot.conf's are mapped onto them).
var imapSharedParams = []config.Param{
	{Name: "imap_shared_namespace_prefix", Default: "", Doc: "Dovecot's namespace { type = shared; prefix = shared/%%u/ } without its %%u/: other users' mailboxes shared with SETACL appear under PREFIX/OWNER/ (the owner's INBOX as PREFIX/OWNER itself); empty: no shared namespace"},
	{Name: "imap_shared_indexpvt", Default: "", Doc: "the INDEXPVT= of the shared namespace's location (~/Maildir/shared/%%u): where each user keeps its own \\Seen of others' mailboxes (~ is the user's home, %u the owner); empty: \\Seen is shared with the owner"},
	{Name: "acl_shared_dict", Default: "file:$data_directory/shared-mailboxes.db", Doc: "Dovecot's plugin { acl_shared_dict }: the file: dict of which users gave whom rights, read to list the shared namespace and rewritten on SETACL"},
}

// newIMAPShared is the IMAP server's shared namespace, nil when off.
func newIMAPShared(v *config.Config, u *users) *imap.SharedNamespace {
	prefix := strings.Trim(v.Get("imap_shared_namespace_prefix"), "/")
	if prefix == "" {
		return nil
	}
	ns := &imap.SharedNamespace{Prefix: prefix + "/"}
	if tmpl := strings.ReplaceAll(v.Get("imap_shared_indexpvt"), "%%", "%"); tmpl != "" {
		ns.PrivateDir = func(ctx context.Context, user, owner string) (string, error) {
			usr, err := u.LookupUser(ctx, user)
			if errors.Is(err, auth.ErrUnknownUser) {
				return "", store.ErrNoSuchUser
			}
			if err != nil {
				return "", err
			}
			home := usr.Home
			if home == "" {
				// Users without a home (the default layout,
				// mail/DOMAIN/USER/Maildir) have the directory
				// of their mail as one.
				dir, err := mailMetaDir(usr, usr.Name)
				if err != nil {
					return "", err
				}
				home = filepath.Dir(dir)
			}
			// The owner's name is one path level: no "/" may
			// climb out of the user's directory.
			path, err := auth.Expand(tmpl, auth.Vars{"user": strings.ReplaceAll(owner, "/", "_"), "home": home}, nil)
			if err != nil {
				return "", err
			}
			if rest, ok := strings.CutPrefix(path, "~"); ok {
				path = filepath.Join(home, rest)
			}
			return path, nil
		}
	}
	return ns
}

// withSharedDict gives the ACL store the shared dict the namespace
// lists owners from.
func withSharedDict(v *config.Config, a imap.ACL) imap.ACL {
	f, ok := a.(*imap.FileACL)
	if !ok || v.Get("imap_shared_namespace_prefix") == "" {
		return a
	}
	if path, ok := strings.CutPrefix(v.Get("acl_shared_dict"), "file:"); ok {
		f.SharedDict = path
	}
	return a
}

// sharedNamespace maps a dovecot.conf namespace { type = shared }.
func (m *dovecotMapper) sharedNamespace(sec *config.DovecotSection) {
	for _, st := range sec.Settings {
		switch st.Key {
		case "type":
		case "prefix":
			p := strings.ReplaceAll(st.Value, "%%", "%")
			base, ok := strings.CutSuffix(p, "%u/")
			if !ok || strings.Contains(base, "%") {
				m.errorf(st.Pos, "namespace %s: prefix %q: yubin's shared namespace is PREFIX/%%%%u/", sec.Name, st.Value)
				continue
			}
			m.set([]string{"imap", "imaps"}, "imap_shared_namespace_prefix", escape(strings.TrimSuffix(base, "/")), st.Pos)
		case "location":
			for _, part := range strings.Split(st.Value, ":") {
				if pvt, ok := strings.CutPrefix(part, "INDEXPVT="); ok {
					m.set([]string{"imap", "imaps"}, "imap_shared_indexpvt", escape(pvt), st.Pos)
				}
			}
		case "separator":
			if st.Value != "/" {
				m.errorf(st.Pos, "namespace %s: separator %q: yubin's separator is /", sec.Name, st.Value)
			}
		case "list", "subscriptions":
			if st.Value != map[string]string{"list": "children", "subscriptions": "no"}[st.Key] {
				m.noEffect(st, "the shared namespace lists only owners with mailboxes the user may see, and keeps subscriptions in the user's own")
			}
		default:
			m.noEffect(st, "a shared namespace setting yubin does not implement")
		}
	}
	for _, sub := range sec.Sections {
		m.ignoreAll(sub, "a section inside the shared namespace")
	}
}

// isSharedNamespace reports whether a namespace section is type = shared.
func isSharedNamespace(sec *config.DovecotSection) bool {
	for _, st := range sec.Settings {
		if st.Key == "type" && st.Value == "shared" {
			return true
		}
	}
	return false
}
