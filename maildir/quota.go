package maildir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/yubinmail/yubin/store"
)

// Maildir++ quota (FORMATS.md 2.6): maildirsize in the root holds the
// limits line ("<bytes>S,<count>C") then "<bytes> <count>" delta lines;
// usage is their sum. It is recalculated (rewritten with one total line)
// when it grows beyond maildirsizeMax bytes or the limits changed.

const maildirsizeMax = 5120

func (s *Store) quotaEnabled() bool { return s.opts.QuotaStorage > 0 || s.opts.QuotaMessages > 0 }

// QuotaLimited reports whether the store has a storage or message
// limit. Without one, Quota's usage figures come from a scan of every
// folder, which a caller that only asks "over quota?" (IMAP APPEND, the
// quota warning) can skip.
func (s *Store) QuotaLimited() bool { return s.quotaEnabled() }

func (s *Store) limitsLine() string {
	var parts []string
	if s.opts.QuotaStorage > 0 {
		parts = append(parts, strconv.FormatInt(s.opts.QuotaStorage, 10)+"S")
	}
	if s.opts.QuotaMessages > 0 {
		parts = append(parts, strconv.FormatInt(s.opts.QuotaMessages, 10)+"C")
	}
	return strings.Join(parts, ",")
}

// parseMaildirsize returns the limits line and the summed usage.
func parseMaildirsize(data []byte) (limits string, bytes, count int64, ok bool) {
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 {
		return "", 0, 0, false
	}
	limits = lines[0]
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return limits, 0, 0, false
		}
		b, err1 := strconv.ParseInt(f[0], 10, 64)
		c, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return limits, 0, 0, false
		}
		bytes += b
		count += c
	}
	return limits, bytes, count, true
}

// checkMaildirsize recalculates maildirsize when it is missing, damaged,
// too long or has other limits.
func (s *Store) checkMaildirsize() error {
	path := filepath.Join(s.root, "maildirsize")
	data, err := os.ReadFile(path)
	if err == nil && len(data) <= maildirsizeMax {
		if limits, _, _, ok := parseMaildirsize(data); ok && limits == s.limitsLine() {
			return nil
		}
	}
	return s.recalcQuota()
}

func (s *Store) recalcQuota() error {
	b, c, err := s.usage()
	if err != nil {
		return err
	}
	content := fmt.Sprintf("%s\n%d %d\n", s.limitsLine(), b, c)
	return s.writeFileAtomic(filepath.Join(s.root, "maildirsize"), []byte(content), false)
}

// usage walks every folder and sums message sizes and counts.
func (s *Store) usage() (bytes, count int64, err error) {
	dirs := []string{s.root}
	names, err := s.folders()
	if err != nil {
		return 0, 0, err
	}
	for _, n := range names {
		if _, d, err := s.resolve(n); err == nil {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		for _, sub := range []string{"new", "cur"} {
			ents, err := os.ReadDir(filepath.Join(d, sub))
			if err != nil {
				continue
			}
			for _, e := range ents {
				if e.Name()[0] == '.' || e.IsDir() {
					continue
				}
				fn := parseFileName(e.Name())
				size := fn.Size
				if size < 0 {
					fi, err := e.Info()
					if err != nil {
						continue
					}
					size = fi.Size()
				}
				bytes += size
				count++
			}
		}
	}
	return bytes, count, nil
}

// quotaDelta appends a usage change to maildirsize.
func (s *Store) quotaDelta(bytes, count int64) {
	if !s.quotaEnabled() || (bytes == 0 && count == 0) {
		return
	}
	path := filepath.Join(s.root, "maildirsize")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.recalcQuota()
		return
	}
	fmt.Fprintf(f, "%d %d\n", bytes, count)
	fi, _ := f.Stat()
	f.Close()
	if fi != nil && fi.Size() > maildirsizeMax {
		s.recalcQuota()
	}
}

// Quota implements store.Store. With limits configured it reads
// maildirsize; otherwise it sums the folders.
func (s *Store) Quota(ctx context.Context) (store.Quota, error) {
	q := store.Quota{StorageLimit: s.opts.QuotaStorage, MessagesLimit: s.opts.QuotaMessages}
	if s.quotaEnabled() {
		data, err := os.ReadFile(filepath.Join(s.root, "maildirsize"))
		if err == nil {
			if _, b, c, ok := parseMaildirsize(data); ok {
				q.StorageUsed, q.MessagesUsed = b, c
				return q, nil
			}
		}
		if err := s.recalcQuota(); err != nil {
			return q, err
		}
	}
	b, c, err := s.usage()
	q.StorageUsed, q.MessagesUsed = b, c
	return q, err
}
