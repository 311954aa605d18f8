package imap

import (
	"bytes"
	"context"
	"sort"
	"strings"

	"github.com/yubinmail/yubin/internal/atomicfile"
)

// sharedDictPrefix starts every key of Dovecot's acl_shared_dict.
const sharedDictPrefix = "shared/shared-boxes/"

// maxSharedDictSize bounds the shared dict file read.
const maxSharedDictSize = 16 << 20

// readSharedDict reads a Dovecot file dict: a key line, then its value
// line.
func readSharedDict(path string) (map[string]string, error) {
	data, err := readSmallFile(path, maxSharedDictSize)
	if err != nil {
		return nil, err
	}
	return parseSharedDict(data), nil
}

// parseSharedDict reads the lines of a file dict; an odd last line (a
// torn write) is left out.
func parseSharedDict(data []byte) map[string]string {
	m := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		m[lines[i]] = lines[i+1]
	}
	return m
}

// formatSharedDict writes a file dict, keys in order.
func formatSharedDict(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(k + "\n" + m[k] + "\n")
	}
	return b.Bytes()
}

// sharedDictKey is the key saying that id may look up some mailbox of
// owner; "" for identifiers Dovecot keeps no key for.
func sharedDictKey(id, owner string) string {
	switch {
	case id == "owner" || strings.HasPrefix(id, "!$") || strings.ContainsAny(owner, "/\n") || strings.ContainsAny(id, "/\n"):
		return ""
	case id == "anyone" || id == "authenticated":
		return sharedDictPrefix + "anyone/" + owner
	case strings.HasPrefix(id, "$"):
		return sharedDictPrefix + "group/" + id[1:] + "/" + owner
	}
	return sharedDictPrefix + "user/" + id + "/" + owner
}

// updateSharedDict replaces owner's keys with those of the identifiers
// in ids (under f.mu).
func (f *FileACL) updateSharedDict(owner string, ids map[string]bool) error {
	m, err := readSharedDict(f.SharedDict)
	if err != nil {
		return err
	}
	for k := range m {
		if strings.HasPrefix(k, sharedDictPrefix) && strings.HasSuffix(k, "/"+owner) {
			delete(m, k)
		}
	}
	for id := range ids {
		if k := sharedDictKey(id, owner); k != "" {
			m[k] = "1"
		}
	}
	return atomicfile.Write(f.SharedDict, formatSharedDict(m), 0o600, atomicfile.NoOwner)
}

// SharedOwners implements SharedOwnersLister from SharedDict: the
// owners with a key for user or for anyone.
func (f *FileACL) SharedOwners(ctx context.Context, user string) ([]string, error) {
	if f.SharedDict == "" {
		return nil, nil
	}
	m, err := readSharedDict(f.SharedDict)
	if err != nil {
		return nil, err
	}
	return sharedOwnersIn(m, user), nil
}

// sharedOwnersIn are the owners a dict says share with user.
func sharedOwnersIn(m map[string]string, user string) []string {
	seen := map[string]bool{}
	var owners []string
	for k := range m {
		var owner string
		switch {
		case strings.HasPrefix(k, sharedDictPrefix+"user/"+user+"/"):
			owner = k[len(sharedDictPrefix+"user/"+user+"/"):]
		case strings.HasPrefix(k, sharedDictPrefix+"anyone/"):
			owner = k[len(sharedDictPrefix+"anyone/"):]
		}
		if owner != "" && !strings.Contains(owner, "/") && !seen[owner] {
			seen[owner] = true
			owners = append(owners, owner)
		}
	}
	sort.Strings(owners)
	return owners
}
