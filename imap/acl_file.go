package imap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/yubinmail/yubin/internal/atomicfile"
)

// ACLFileName is the file, in a mailbox's directory, of its access
// control list: Dovecot's acl = vfile keeps it there under this name,
// in this format, so Dovecot and yubin read each other's lists.
const ACLFileName = "dovecot-acl"

// Limits of a dovecot-acl file: bigger files and longer lists are
// refused (the list is the user's own, but the file is outside input).
const (
	maxACLFileSize = 256 << 10
	maxACLEntries  = 1000
)

// FileACL keeps each mailbox's ACL in the dovecot-acl file of its
// directory (Dovecot's vfile format: "owner lrwstipekxa",
// "user=bob lr", "-user=bob w", "group=staff r", one a line), rewritten
// atomically on every change. The file goes with the directory on
// RENAME and DELETE.
type FileACL struct {
	// Dir returns the directory of a user's mailbox (Maildir++
	// ".Folder", the root for INBOX); "" for a mailbox that keeps no
	// list (every right is its owner's, and SETACL is refused).
	Dir func(ctx context.Context, user, mailbox string) (string, error)
	// SharedDict, when set, is the file where the users who gave
	// others the lookup right are kept, in the format of Dovecot's
	// acl_shared_dict = file:PATH ("shared/shared-boxes/user/bob/alice"
	// then "1", a line each): it tells a SharedNamespace whose
	// mailboxes to list, and Dovecot sharing the files reads it too.
	SharedDict string
	// Logger receives failures to update SharedDict; nil discards them.
	Logger *slog.Logger

	mu sync.Mutex // one update at a time
}

// MailboxACL implements ACL.
func (f *FileACL) MailboxACL(ctx context.Context, user, mailbox string) ([]ACLEntry, error) {
	dir, err := f.Dir(ctx, user, mailbox)
	if err != nil || dir == "" {
		return nil, err
	}
	data, err := readSmallFile(filepath.Join(dir, ACLFileName), maxACLFileSize)
	if err != nil || data == nil {
		return nil, err
	}
	return parseACLFile(data)
}

// readSmallFile reads a file of at most max bytes: nil for a file that
// does not exist, an error for a bigger one.
func readSmallFile(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errors.New(filepath.Base(path) + ": file too large")
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// UpdateMailboxACL implements ACL.
func (f *FileACL) UpdateMailboxACL(ctx context.Context, user, mailbox string, update func([]ACLEntry) ([]ACLEntry, error)) error {
	dir, err := f.Dir(ctx, user, mailbox)
	if err != nil {
		return err
	}
	if dir == "" {
		return no("CANNOT", "ACLs are not kept for this mailbox.")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	have, err := f.MailboxACL(ctx, user, mailbox)
	if err != nil {
		return err
	}
	entries, err := update(have)
	if err != nil {
		return err
	}
	if len(entries) > maxACLEntries {
		return no("LIMIT", "Too many ACL entries.")
	}
	path := filepath.Join(dir, ACLFileName)
	if len(entries) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else if err := atomicfile.Write(path, formatACLFile(entries), 0o600, atomicfile.NoOwner); err != nil {
		return err
	}
	f.rebuildACLList(ctx, user)
	return nil
}

// parseACLFile reads a dovecot-acl file. Lines it does not understand
// (comments, Dovecot's named rights, identifiers of kinds it does not
// know) are skipped; an entry's given and denied lines are merged.
func parseACLFile(data []byte) ([]ACLEntry, error) {
	var entries []ACLEntry
	index := map[string]int{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimRight(string(line), "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		idText, rightsText, _ := strings.Cut(strings.TrimLeft(l, " \t"), " ")
		neg := strings.HasPrefix(idText, "-")
		id, ok := aclIDFromFile(strings.TrimPrefix(idText, "-"))
		if !ok {
			continue
		}
		var r Rights
		for _, tok := range strings.Fields(rightsText) {
			if strings.HasPrefix(tok, ":") {
				continue // a named right Dovecot's plugins may use
			}
			for i := 0; i < len(tok); i++ {
				if j := strings.IndexByte(rightLetters, tok[i]); j >= 0 {
					r |= 1 << j
				}
			}
		}
		i, seen := index[id]
		if !seen {
			if len(entries) >= maxACLEntries {
				return nil, errors.New("dovecot-acl: too many entries")
			}
			i = len(entries)
			index[id] = i
			entries = append(entries, ACLEntry{Identifier: id})
		}
		if neg {
			entries[i].Negative, entries[i].HasNegative = r, true
		} else {
			entries[i].Rights, entries[i].HasRights = r, true
		}
	}
	sortACL(entries)
	return entries, nil
}

// aclIDFromFile maps the file's identifiers to the wire's.
func aclIDFromFile(s string) (string, bool) {
	switch {
	case s == "owner" || s == "anyone" || s == "authenticated":
		return s, true
	case strings.HasPrefix(s, "user="):
		// A user whose name would read as another kind of
		// identifier on the wire is left out.
		id := strings.TrimPrefix(s, "user=")
		return id, id != "" && aclIDKind(id) == 4 && !strings.HasPrefix(id, "#") && !strings.HasPrefix(id, "-")
	case strings.HasPrefix(s, "group-override="):
		return "!$" + strings.TrimPrefix(s, "group-override="), len(s) > len("group-override=")
	case strings.HasPrefix(s, "group="):
		return "$" + strings.TrimPrefix(s, "group="), len(s) > len("group=")
	}
	return "", false
}

// aclIDToFile maps the wire's identifiers to the file's.
func aclIDToFile(id string) string {
	switch {
	case id == "owner" || id == "anyone" || id == "authenticated":
		return id
	case strings.HasPrefix(id, "!$"):
		return "group-override=" + id[2:]
	case strings.HasPrefix(id, "$"):
		return "group=" + id[1:]
	}
	return "user=" + id
}

// formatACLFile writes entries as Dovecot writes a dovecot-acl file:
// in list order, an entry's given rights, then its denied ones, the
// letters in name order.
func formatACLFile(entries []ACLEntry) []byte {
	sorted := append([]ACLEntry(nil), entries...)
	sortACL(sorted)
	var b bytes.Buffer
	for _, e := range sorted {
		id := aclIDToFile(e.Identifier)
		if e.HasRights {
			b.WriteString(id + " " + e.Rights.fileLetters() + "\n")
		}
		if e.HasNegative {
			b.WriteString("-" + id + " " + e.Negative.fileLetters() + "\n")
		}
	}
	return b.Bytes()
}

// fileLetters is r as stored: name order, without "c" and "d".
func (r Rights) fileLetters() string {
	var b strings.Builder
	for i := 0; i < len(rightNameOrder); i++ {
		if r&(1<<strings.IndexByte(rightLetters, rightNameOrder[i])) != 0 {
			b.WriteByte(rightNameOrder[i])
		}
	}
	return b.String()
}
