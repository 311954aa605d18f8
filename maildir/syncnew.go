package maildir

import (
	"fmt"
	"path/filepath"
)

// listNewOnly lists new/ for a sync that trusts cur/ to be unchanged. It
// reports false, and the sync lists both directories, when a message
// known to be in new/ is no longer there: it was expunged or moved to
// cur/ by someone else, which the full listing sorts out.
func (m *mbox) listNewOnly() ([]fileEnt, bool, error) {
	names, err := readNames(filepath.Join(m.dir, "new"), true)
	if err != nil {
		return nil, false, fmt.Errorf("maildir: read new: %w", err)
	}
	have := make(map[string]struct{}, len(names))
	files := make([]fileEnt, 0, len(names))
	for _, n := range names {
		have[parseFileName(n).Base] = struct{}{}
		files = append(files, fileEnt{name: n, inNew: true})
	}
	for _, x := range m.msgs {
		if !x.inNew {
			continue
		}
		if _, ok := have[x.base()]; !ok {
			return nil, false, nil
		}
	}
	return files, true, nil
}

// dropKnownInCur removes from the unknown files of a new/-only listing
// those whose base name a message in cur/ already has (a copy left
// behind by an interrupted move): one UID per base name, as a full
// listing gives.
func (m *mbox) dropKnownInCur(unknown []fileEnt) []fileEnt {
	bases := make(map[string]bool, len(unknown))
	for _, f := range unknown {
		bases[parseFileName(f.name).Base] = false
	}
	for _, x := range m.msgs {
		if _, ok := bases[x.base()]; ok {
			bases[x.base()] = true
		}
	}
	out := unknown[:0]
	for _, f := range unknown {
		if !bases[parseFileName(f.name).Base] {
			out = append(out, f)
		}
	}
	return out
}
