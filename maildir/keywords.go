package maildir

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// maxKeywords is how many keywords fit in Maildir file names: letters
// a..z (FORMATS.md 2.3).
const maxKeywords = 26

// keywordsFile is Dovecot's keyword table of a folder.
const keywordsFile = "dovecot-keywords"

// keywordList is a folder's dovecot-keywords: index i (letter 'a'+i) to
// keyword name; "" for an unused index.
type keywordList [maxKeywords]string

func parseKeywords(data []byte) keywordList {
	var kl keywordList
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<10)
	for sc.Scan() {
		idx, name, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= maxKeywords || !validKeyword(name) {
			continue
		}
		kl[i] = name
	}
	return kl
}

func (kl *keywordList) format() []byte {
	var b []byte
	for i, k := range kl {
		if k != "" {
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, ' ')
			b = append(b, k...)
			b = append(b, '\n')
		}
	}
	return b
}

// defined returns the mask of letters that have a keyword.
func (kl *keywordList) defined() uint32 {
	var m uint32
	for i, k := range kl {
		if k != "" {
			m |= 1 << i
		}
	}
	return m
}

// names returns the keywords of a letter mask.
func (kl *keywordList) names(mask uint32) []string {
	if mask == 0 {
		return nil
	}
	var out []string
	for i := 0; i < maxKeywords; i++ {
		if mask&(1<<i) != 0 && kl[i] != "" {
			out = append(out, kl[i])
		}
	}
	return out
}

// mask returns the letters of the given keywords and the keywords that
// have no letter yet.
func (kl *keywordList) mask(kws []string) (uint32, []string) {
	var m uint32
	var missing []string
	for _, k := range kws {
		found := false
		for i, have := range kl {
			if have != "" && strings.EqualFold(have, k) {
				m |= 1 << i
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, k)
		}
	}
	return m, missing
}

// validKeyword reports whether k is an IMAP flag keyword (an atom with no
// "\" and none of the atom-specials).
func validKeyword(k string) bool {
	if k == "" || len(k) > 250 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// addKeywords gives letters to kws in dir's dovecot-keywords under
// dovecot-keywords.lock and returns the updated list.
func (s *Store) addKeywords(ctx context.Context, dir string, kws []string) (keywordList, error) {
	for _, k := range kws {
		if !validKeyword(k) {
			return keywordList{}, fmt.Errorf("maildir: keyword %q: %w", k, store.ErrKeywordInvalid)
		}
	}
	l, err := s.lock(ctx, filepath.Join(dir, "dovecot-keywords.lock"))
	if err != nil {
		return keywordList{}, err
	}
	defer l.unlock()
	path := filepath.Join(dir, keywordsFile)
	data, _ := os.ReadFile(path)
	kl := parseKeywords(data)
	_, missing := kl.mask(kws)
	for _, k := range missing {
		if _, again := kl.mask([]string{k}); len(again) == 0 {
			continue // a duplicate in kws
		}
		free := -1
		for i, have := range kl {
			if have == "" {
				free = i
				break
			}
		}
		if free < 0 {
			return kl, fmt.Errorf("maildir: more than %d keywords in a folder: %w", maxKeywords, store.ErrKeywordInvalid)
		}
		kl[free] = k
	}
	if err := s.writeFileAtomic(path, kl.format(), false); err != nil {
		return kl, err
	}
	return kl, nil
}

func (s *Store) readKeywords(dir string) keywordList {
	data, _ := os.ReadFile(filepath.Join(dir, keywordsFile))
	return parseKeywords(data)
}
